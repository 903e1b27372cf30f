"""The neurons' membranes (the QNN's accumulators), read and written by lanes: in registers
(`MembraneBank`) or, for a large layer, in block RAM (`BlockRamMembraneBank`)."""

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out


class MembraneBank(wiring.Component):
    """n_out signed membranes, `acc_width` bits (wide enough that no legal input overflows).
    `sel` is a register that follows `next_sel`; `lane[l]` is the membrane of neuron
    `sel*lanes + l`; `we[l]` writes `new[l]` there; `clear` zeroes every membrane (the reset
    at the start of an inference) and wins over `we`. The write is each flip-flop's clock
    enable, so that `new` goes to its input with no LUT in between."""

    def __init__(self, params):
        self.params = params
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({"next_sel": In(range(params.groups)), "we": In(params.lanes), "clear": In(1),
                          "new": In(lanes), "lane": Out(lanes)})
        self.sel = Signal(range(params.groups), name="sel")                  # read by gen.formal

    def elaborate(self, platform):
        m = Module()
        p = self.params
        m.d.sync += self.sel.eq(self.next_sel)
        acc = self.acc = [Signal(signed(p.acc_width), name=f"acc{o}") for o in range(p.n_out)]   # read by gen.formal
        for l in range(p.lanes):
            m.d.comb += self.lane[l].eq(Array(acc[g * p.lanes + l] for g in range(p.groups))[self.sel])
        for g in range(p.groups):
            for l in range(p.lanes):
                with m.If(self.clear):
                    m.d.sync += acc[g * p.lanes + l].eq(0)
                with m.Elif(self.we[l] & (self.sel == g)):
                    m.d.sync += acc[g * p.lanes + l].eq(self.new[l])
        return m


class BlockRamMembraneBank(MembraneBank):
    """The same ports, the membranes in block RAM: word g holds group g's lanes. The read
    port takes `next_sel`, so that its registered output is the `sel` group's membranes,
    and is transparent to the write port (a group written in one cycle and read in the
    next: one group, or a FIRE's steps). `clear` cannot zero a RAM at once: it marks
    every group stale (a register per group; a write in the same cycle too), a stale group
    reads as zero, and a later write clears its mark (a write of any lane: the lanes of a
    stale group are all zero, so they fire alike). A register bank spends acc_width flip-flops per neuron and a G:1
    multiplexer per lane bit, which kept the 784x128 MNIST layer off the UP5K."""

    def elaborate(self, platform):
        m = Module()
        p = self.params
        width = p.lanes * p.acc_width
        m.d.sync += self.sel.eq(self.next_sel)
        m.submodules.memory = memory = Memory(shape=unsigned(width), depth=p.groups, init=[],
                                              attrs={"ram_style": "block"})
        write = memory.write_port(granularity=p.acc_width)
        read = memory.read_port(transparent_for=(write,))
        m.d.comb += [write.addr.eq(self.sel), write.en.eq(self.we), write.data.eq(self.new),
                     read.addr.eq(self.next_sel)]
        stale, fresh = Signal(p.groups, name="stale"), Signal(p.groups, name="fresh")
        m.d.comb += fresh.eq(Mux(self.clear, -1, stale & ~Mux(self.we.any(), 1 << self.sel, 0)))
        zero = Signal(name="zero")                       # the group at `sel` is stale
        m.d.sync += [stale.eq(fresh), zero.eq(fresh.bit_select(self.next_sel, 1))]
        m.d.comb += self.lane.eq(Mux(zero, 0, read.data))
        return m


LARGE_BANK, DEEP_BANK = 1024, 8


def membrane_bank(params):
    """The bank for `params`: block RAM when the membranes take more than LARGE_BANK bits in
    at least DEEP_BANK groups, registers otherwise. An iCE40 block RAM is 16 bits wide, so
    a bank of G groups spends lanes*acc_width/16 of them, each in place of 16*G flip-flops:
    the digits network's 64 hidden neurons in 4 groups of 16 lanes would take 18 of the
    UP5K's 30 for 1152 flip-flops; the 784x128 layer in 16 groups of 8 takes 10 for 2560."""
    large = params.n_out * params.acc_width > LARGE_BANK and params.groups >= DEEP_BANK
    return (BlockRamMembraneBank if large else MembraneBank)(params)
