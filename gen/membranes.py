"""MembraneBank: the neurons' membranes (the QNN's accumulators), read and written by lanes."""

from amaranth.hdl import Array, Module, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class MembraneBank(wiring.Component):
    """n_out signed membranes, `acc_width` bits (wide enough that no legal input overflows).
    `lane[l]` is the membrane of neuron `sel*lanes + l`; `we` writes `new[l]` there;
    `clear` zeroes every membrane (the reset at the start of an inference) and wins over `we`."""

    def __init__(self, params):
        self.params = params
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({"sel": In(range(params.groups)), "we": In(1), "clear": In(1),
                          "new": In(lanes), "lane": Out(lanes)})

    def elaborate(self, platform):
        m = Module()
        p = self.params
        acc = self.acc = [Signal(signed(p.acc_width), name=f"acc{o}") for o in range(p.n_out)]   # read by gen.formal
        for l in range(p.lanes):
            m.d.comb += self.lane[l].eq(Array(acc[g * p.lanes + l] for g in range(p.groups))[self.sel])
        for g in range(p.groups):
            for l in range(p.lanes):
                with m.If(self.clear):
                    m.d.sync += acc[g * p.lanes + l].eq(0)
                with m.Elif(self.we & (self.sel == g)):
                    m.d.sync += acc[g * p.lanes + l].eq(self.new[l])
        return m
