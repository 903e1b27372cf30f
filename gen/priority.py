"""Find the lowest set bit of a wide vector in logarithmic depth (the event scanner)."""

from functools import reduce
from operator import or_

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
    """The pending events of one beat, handed out lowest slot first, one per `take`.

    `load` latches `flags` (one bit per slot that holds an event) and `data` (a word of
    `data_bits` per slot, e.g. the activation). Each `take` retires the lowest pending
    slot and registers it: one cycle later `index` is its slot number, `word` its data
    and `valid` is high (or `valid` is low: nothing was pending).

    For speed the slots are kept in chunks of `chunk` (a power of two) with a registered
    non-empty flag per chunk. A take picks the lowest non-empty chunk from those flags
    and, in every chunk in parallel, the lowest slot, its local index and word; so the
    slot-to-slot loop is two small scans deep, and `index` and `word` come from one
    small selection over the chunks. (One scan across a whole 128-slot beat ran at
    36 MHz on an iCE40 UP5K, and a registered one-hot of 512 slots fed the memory
    address through 256-input ORs.)
    """

    def __init__(self, slots, data_bits=0, chunk=16):
        assert chunk & (chunk - 1) == 0
        self.slots, self.data_bits, self.chunk = slots, data_bits, chunk
        super().__init__({"load": In(1), "flags": In(slots), "data": In(slots * data_bits), "take": In(1),
                          "index": Out(range(max(slots, 2))), "word": Out(data_bits), "valid": Out(1)})

    def elaborate(self, platform):
        m = Module()
        chunks = [(lo, min(lo + self.chunk, self.slots)) for lo in range(0, self.slots, self.chunk)]
        local_bits = (self.chunk - 1).bit_length()
        pending = Signal(self.slots, name="pending")
        data = Signal(len(self.data), name="slot_data")
        nonempty = Signal(len(chunks), name="nonempty")
        chosen = Signal(len(chunks), name="chosen")               # registered one-hot of the taken event's chunk
        local_index = [Signal(local_bits, name=f"index{k}") for k in range(len(chunks))]
        local_word = [Signal(self.data_bits, name=f"word{k}") for k in range(len(chunks))]
        m.submodules.pick = pick = FirstSet(len(chunks))
        m.d.comb += pick.i.eq(nonempty)
        with m.If(self.load):
            m.d.sync += [pending.eq(self.flags), data.eq(self.data),
                         nonempty.eq(Cat(self.flags[lo:hi].any() for lo, hi in chunks))]
        for k, (lo, hi) in enumerate(chunks):
            m.submodules[f"chunk{k}"] = local = FirstSet(hi - lo)
            m.d.comb += local.i.eq(pending[lo:hi])
            with m.If(~self.load & self.take):
                with m.If(pick.first[k]):
                    m.d.sync += [pending[lo:hi].eq(pending[lo:hi] & local.below),
                                 nonempty[k].eq(two_or_more(pending[lo:hi]))]
                m.d.sync += local_index[k].eq(onehot_index(local.first, local_bits))
                if self.data_bits:
                    words = [data.word_select(i, self.data_bits) for i in range(lo, hi)]
                    m.d.sync += local_word[k].eq(or_select(local.first, words))
        with m.If(~self.load & self.take):
            m.d.sync += [chosen.eq(pick.first), self.valid.eq(pick.any)]
        m.d.comb += [
            self.index.eq(Cat(or_select(chosen, local_index), onehot_index(chosen))),
            self.word.eq(or_select(chosen, local_word)),
        ]
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


def or_select(onehot, words):
    """The word whose one-hot bit is set (AND-OR multiplexer); zero if none is.
    The OR is a balanced tree: log depth (a linear chain is slow, and deep enough on a
    256-input core to exhaust yosys's stack)."""
    terms = [Mux(onehot[i], w, 0) for i, w in enumerate(words)]
    while len(terms) > 1:
        terms = [reduce(or_, terms[i:i + 2]) for i in range(0, len(terms), 2)]
    return terms[0]
