"""Find the lowest set bit of a wide vector in logarithmic depth (the event scanner)."""

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class FirstSet(wiring.Component):
    """`first` is `i` with every bit but the lowest set one cleared; `any` says one is set;
    `below[k]` says a bit under k is set (so `i & below` is `i` with its lowest set bit cleared).

    A Kogge-Stone prefix OR gives, for each bit, whether a lower bit is set: depth
    log2(width), no carry chain across the whole vector.
    """

    def __init__(self, width):
        self.width = width
        super().__init__({"i": In(width), "first": Out(width), "below": Out(width), "any": Out(1)})

    def elaborate(self, platform):
        m = Module()
        prefix = self.i  # prefix[k] = OR of i[0..k]
        shift = 1
        while shift < self.width:
            level = Signal(self.width, name=f"prefix{shift}")
            m.d.comb += level.eq(prefix | (prefix << shift)[:self.width])
            prefix, shift = level, shift * 2
        m.d.comb += [
            self.below.eq(Cat(Const(0, 1), prefix[:-1])),
            self.first.eq(self.i & ~self.below),
            self.any.eq(prefix[-1]),
        ]
        return m


def onehot_index(onehot, width=None):
    """Binary index of the set bit of a one-hot (or all-zero) vector: an OR per index bit."""
    n = len(onehot)
    width = width if width is not None else max(1, (n - 1).bit_length())
    return Cat(*(Cat(*(onehot[i] for i in range(n) if i >> b & 1), Const(0, 1)).any()
                 for b in range(width)))


class EventQueue(wiring.Component):
    """The pending events of one beat, handed out lowest first, one per `take`.

    `load` latches `flags` (one bit per slot that holds an event). Each `take` retires
    the lowest pending slot and registers it: one cycle later `first` is its one-hot
    and `valid` is high (or `valid` is low: nothing was pending).

    For speed the slots are kept in chunks of `chunk` with a registered non-empty flag
    per chunk: a take picks the lowest non-empty chunk from those flags and the lowest
    slot inside every chunk in parallel, so the slot-to-slot loop is two small scans
    deep, not one scan across the whole beat (which limited a 128-slot core to 36 MHz
    on an iCE40 UP5K).
    """

    def __init__(self, slots, chunk=16):
        self.slots, self.chunk = slots, chunk
        super().__init__({"load": In(1), "flags": In(slots), "take": In(1),
                          "first": Out(slots), "valid": Out(1)})

    def elaborate(self, platform):
        m = Module()
        chunks = [(lo, min(lo + self.chunk, self.slots)) for lo in range(0, self.slots, self.chunk)]
        pending = Signal(self.slots)
        nonempty = Signal(len(chunks))
        m.submodules.pick = pick = FirstSet(len(chunks))
        m.d.comb += pick.i.eq(nonempty)
        firsts, rests = [], []
        for k, (lo, hi) in enumerate(chunks):
            m.submodules[f"chunk{k}"] = local = FirstSet(hi - lo)
            m.d.comb += local.i.eq(pending[lo:hi])
            firsts.append(Mux(pick.first[k], local.first, 0))
            rests.append(Mux(pick.first[k], pending[lo:hi] & local.below, pending[lo:hi]))
        with m.If(self.load):
            m.d.sync += [pending.eq(self.flags),
                         nonempty.eq(Cat(self.flags[lo:hi].any() for lo, hi in chunks))]
        with m.Elif(self.take):
            m.d.sync += [pending.eq(Cat(rests)),
                         nonempty.eq(Cat(Mux(pick.first[k], two_or_more(pending[lo:hi]), nonempty[k])
                                         for k, (lo, hi) in enumerate(chunks))),
                         self.first.eq(Cat(firsts)), self.valid.eq(pick.any)]
        return m


def two_or_more(bits):
    """Whether at least two bits are set, as a balanced tree of (any, two) pairs: the chunk
    stays non-empty after its lowest bit is retired, without waiting for that retirement."""
    nodes = [(b, Const(0, 1)) for b in bits]
    while len(nodes) > 1:
        pairs = [nodes[i:i + 2] for i in range(0, len(nodes), 2)]
        nodes = [(l[0] | r[0], l[1] | r[1] | (l[0] & r[0])) if r is not None else l
                 for l, r in ((pair[0], pair[1] if len(pair) > 1 else None) for pair in pairs)]
    return nodes[0][1]
