"""Find the lowest set bit of a wide vector in logarithmic depth (the event scanner)."""

from operator import or_

from amaranth.hdl import Array, Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .emit import kept


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


class LowestGroup(wiring.Component):
    """`any[k]` says group k of `i` (`groups` groups of `size` bits) has a set bit; `first`
    is `any` with every bit but the lowest set one cleared. The pick is a module of its own
    through synthesis (`kept`): mapped with the groups' ORs, the 256x32 SNN's load path
    took 6 LUTs where 2 + 3 do (UP5K, 38.5 against 41.7 MHz)."""

    def __init__(self, groups, size):
        self.groups, self.size = groups, size
        super().__init__({"i": In(groups * size), "any": Out(groups), "first": Out(groups)})

    def elaborate(self, platform):
        m = Module()
        m.submodules[kept("pick")] = pick = FirstSet(self.groups)
        m.d.comb += [self.any.eq(Cat(self.i[k * self.size:(k + 1) * self.size].any() for k in range(self.groups))),
                     pick.i.eq(self.any), self.first.eq(pick.first)]
        return m


class ChunkScan(wiring.Component):
    """`pending` is `rest` without the slots of `skip_a` and `skip_b`; `first` is its lowest
    set bit, and `any` says it has one. Kept apart through synthesis (`kept`), as is its
    pick: `any` takes 3 LUTs. With the clearing outside it took 5 on the 256x32 SNN (ABC
    shared the clearing with the slot index's ORs), with the pick inside 4 (shared with
    the pick's prefix ORs)."""

    def __init__(self, width):
        super().__init__({"rest": In(width), "skip_a": In(width), "skip_b": In(width),
                          "pending": Out(width), "first": Out(width), "any": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.submodules[kept("lowest")] = lowest = FirstSet(len(self.rest))
        m.d.comb += [self.pending.eq(self.rest & ~self.skip_a & ~self.skip_b), lowest.i.eq(self.pending),
                     self.first.eq(lowest.first), self.any.eq(self.pending.any())]
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

    The slots are kept in chunks of `chunk` (a power of two). `invariants` are
    (condition, name) pairs that hold in every reachable state, for gen.formal's
    k-induction (ParallelChunkQueue needs none: every value of its state is a beat's).
    """

    invariants = ()
    holds_beat = False      # True: `flags` and `data` are read until the last take (HeldChunkQueue)

    def __init__(self, slots, data_bits=0, chunk=16):
        assert chunk & (chunk - 1) == 0
        self.slots, self.data_bits, self.chunk = slots, data_bits, chunk
        self.chunks = [(lo, min(lo + chunk, slots)) for lo in range(0, slots, chunk)]   # (first, end) slots
        super().__init__({"load": In(1), "flags": In(slots), "data": In(slots * data_bits), "take": In(1),
                          "index": Out(range(max(slots, 2))), "word": Out(data_bits), "valid": Out(1)})


class ParallelChunkQueue(EventQueue):
    """An EventQueue that scans every chunk at once.

    For speed each chunk has a registered non-empty flag. A take picks the lowest non-empty chunk from those flags
    and, in every chunk in parallel, the lowest slot, its local index and word; so the
    slot-to-slot loop is two small scans deep, and `index` and `word` come from one
    small selection over the chunks. (One scan across a whole 128-slot beat ran at
    36 MHz on an iCE40 UP5K, and a registered one-hot of 512 slots fed the memory
    address through 256-input ORs.)
    """

    def elaborate(self, platform):
        m = Module()
        chunks = self.chunks
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


class HeldChunkQueue(EventQueue):
    """An EventQueue that keeps no copy of the beat: `flags` and `data` must hold from
    `load` until the take that finds nothing left (`holds_beat`: the engine takes its
    input beat only then, so the source holds it, as a stream's source does until the
    handshake). It scans only the chunk in use (the active one): at `load` it registers
    which chunks hold events (`left`) and the lowest of them (`next`); a take hands out
    the lowest event of the active chunk or, when it has none left (`more` low), the
    first event of `next`, selected where the flags are, which becomes the active chunk.
    The slot just handed out is cleared one take late (`skip`), which keeps the clearing
    out of the scan; `skip` is two registers, one written by each scan, so that each is
    written straight from its scan's output (cleared by a reset, not by a LUT in front).

    Measured on an iCE40 UP5K (README, "Implementation"): ParallelChunkQueue, which
    finds and clears the lowest slot of every chunk on every take, took 5.4 LUT4 per
    slot (256x32 SNN: 5031 LUT4, 99 % of the logic cells). A queue that latched the beat
    and registered each chunk's first slot and two-or-more mark at `load` took 3.4
    (4010 LUT4, 1737 FF, 34.0 MHz); this one, holding nothing of the beat, 3041 LUT4 and
    1064 FF at 35.5 MHz with its priority encoders mapped with the rest of the core.
    There ABC had merged them with their neighbours into chains of up to 8 LUTs, 9 on
    the `more` -> clock-enable path once `more` was no longer a register; kept modules of
    their own (`gen.emit.kept`) they map at 5-6 LUTs from register to register (the load:
    the chunks' ORs and their pick, 5; the advance: the select and the chunk's scan, 6).
    Registering `next`'s flags as it was picked put the load's pick and selection into
    one path (23.8 MHz).
    """

    holds_beat = True

    def elaborate(self, platform):
        m = Module()
        C = self.chunk
        local_bits = (C - 1).bit_length()
        chunks = self.chunks
        chunk_flags = [self.flags[lo:hi] for lo, hi in chunks]
        left = Signal(len(chunks), name="left")        # chunks holding events, not yet active
        next_ = Signal(len(chunks), name="next")       # one-hot: the lowest of `left`
        rest = Signal(C, name="rest")                  # the active chunk's events not handed out, but `skip`
        skip_scan = Signal(C, name="skip_scan")        # one-hot: the slot handed out last, if found in `rest`
        skip_head = Signal(C, name="skip_head")        # one-hot: the slot handed out last, if its chunk's first
        active = Signal(range(max(len(chunks), 2)), name="active")
        chosen = Signal(len(chunks), name="chosen")    # one-hot: the active chunk
        skip = skip_scan | skip_head

        upcoming = Signal(C, name="upcoming")          # next's flags
        m.submodules[kept("first")] = first = LowestGroup(len(chunks), C)   # at load: of the beat's chunks
        m.submodules[kept("pick")] = pick = FirstSet(len(chunks))           # on an advance: of left but next
        m.submodules[kept("scan")] = scan = ChunkScan(C)
        m.submodules[kept("head")] = head = FirstSet(C)
        holding = first.any                             # the chunks of the beat that hold events
        more = scan.any                                 # the active chunk has an event left
        m.d.comb += [upcoming.eq(or_select(next_, chunk_flags)), first.i.eq(self.flags), pick.i.eq(left & ~next_),
                     scan.rest.eq(rest), scan.skip_a.eq(skip_scan), scan.skip_b.eq(skip_head), head.i.eq(upcoming)]
        with m.If(self.load):
            m.d.sync += [left.eq(holding), next_.eq(first.first), rest.eq(0)]
        with m.Elif(self.take & more):
            m.d.sync += [self.valid.eq(1), rest.eq(scan.pending)]
        with m.Elif(self.take):
            m.d.sync += [left.eq(pick.i), next_.eq(pick.first), self.valid.eq(next_.any()), rest.eq(upcoming),
                         active.eq(onehot_index(next_)), chosen.eq(next_)]
        with m.If(self.load | self.take & ~more):
            m.d.sync += skip_scan.eq(0)
        with m.Elif(self.take):
            m.d.sync += skip_scan.eq(scan.first)
        with m.If(self.load | self.take & more):
            m.d.sync += skip_head.eq(0)
        with m.Elif(self.take):
            m.d.sync += skip_head.eq(head.first)
        m.d.comb += self.index.eq(Cat(onehot_index(skip, local_bits), active))
        # The word: the active chunk's words (changed only on an activation), then the one at
        # `skip`, the local one-hot of the slot handed out. Selected by the binary index, the
        # multiplexer toggled through on every take (QNN 64x16 at 10 %: +840 pJ per inference).
        if self.data_bits:
            words = [[self.data.word_select(lo + i, self.data_bits) for lo, hi in chunks if lo + i < hi]
                     for i in range(min(C, self.slots))]
            m.d.comb += self.word.eq(or_select(skip, [or_select(chosen, w) for w in words]))
        # for gen.formal: the state once the beat is taken (the engine takes it as the queue runs dry)
        self.empty = (Cat(left, rest, skip) == 0) & ~self.valid
        chunk = Array(chunk_flags)[active]
        one_hot = lambda v: (v != 0) & ((v & (v - 1))[:len(v)] == 0)
        self.invariants = [   # what holds in every reachable state while the beat is held
            (next_ == (left & (~left + 1))[:len(left)], "next is the lowest of left"),
            ((left & ~holding) == 0, "left holds events"),
            ((skip_scan == 0) | (skip_head == 0), "one skip register is clear"),
            ((skip & ~rest) == 0, "skip is in rest"),
            ((rest == 0) | ((active < len(chunks)) & ((rest | chunk) == chunk)), "rest is in the active chunk"),
            ((rest == 0) | ((left & ((2 << active) - 1)) == 0), "left is above the active chunk"),
            (~self.valid | (one_hot(skip) & (chosen == (1 << active))), "skip and chosen"),
        ]
        return m


LARGE_BEAT = 256


def queue_class(slots):
    """The queue for a beat of `slots` events: HeldChunkQueue above LARGE_BEAT slots,
    where its area counts, ParallelChunkQueue up to them (see both)."""
    return HeldChunkQueue if slots > LARGE_BEAT else ParallelChunkQueue


def two_or_more(bits):
    """Whether at least two bits are set, as a balanced tree of (any, two) pairs."""
    return balanced([(b, Const(0, 1)) for b in bits], lambda l, r: (l[0] | r[0], l[1] | r[1] | (l[0] & r[0])))[1]


def balanced(nodes, combine, single=lambda n: n):
    """`nodes` reduced to one by a balanced tree: `combine(left, right)` for each pair and
    `single` for a last node without a partner (log depth: a linear chain is slow, and
    deep enough on a 256-input core to exhaust yosys's stack)."""
    while len(nodes) > 1:
        nodes = [combine(*nodes[i:i + 2]) if i + 1 < len(nodes) else single(nodes[i]) for i in range(0, len(nodes), 2)]
    return nodes[0]


def or_select(onehot, words):
    """The word whose one-hot bit is set (AND-OR multiplexer, a balanced OR); zero if none is."""
    return balanced([Mux(onehot[i], w, 0) for i, w in enumerate(words)], or_)
