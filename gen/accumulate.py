"""Accumulate: one event's contribution to each lane's membrane, and the adders."""

from amaranth.hdl import Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim.params import PIPELINE


class Accumulate(wiring.Component):
    """For the event in `row`/`info` (valid, for neuron group `group`), `sum[l]` is lane l's
    membrane `acc[l]` plus the contribution of its weight w:

    * SNN: `info` is the spike bit plane b, the contribution `w << b` (adders only);
    * QNN: `info` is the activation a, the contribution `w * a`, kept in a product
      register so that one pipeline stage holds one multiplier; `sum_valid` and
      `sum_group` follow the product one cycle later.

    W = 1 weights are stored as bit 0 for +1 and bit 1 for -1.
    """

    def __init__(self, params, kind, info_bits):
        self.params, self.kind = params, kind
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({
            "valid": In(1), "group": In(range(params.groups)), "info": In(info_bits),
            "row": In(data.ArrayLayout(params.W, params.lanes)), "acc": In(lanes),
            "sum_valid": Out(1), "sum_group": Out(range(params.groups)), "sum": Out(lanes),
        })

    def weight(self, code):
        return Mux(code, -1, 1).as_signed() if self.params.W == 1 else code.as_signed()

    def elaborate(self, platform):
        m = Module()
        lanes = range(self.params.lanes)
        op = (lambda w, b: w << b) if self.kind == "snn" else (lambda w, a: w * a)
        addend = [op(self.weight(self.row[l]), self.info) for l in lanes]
        follow = [self.sum_valid.eq(self.valid), self.sum_group.eq(self.group)]
        if PIPELINE[self.kind] == 2:     # the weight register, then the product register
            products, addend = addend, [Signal(v.shape(), name=f"product{l}") for l, v in zip(lanes, addend)]
            m.d.sync += [a.eq(v) for a, v in zip(addend, products)] + follow
        else:
            m.d.comb += follow
        self.addends = addend        # what is added to each lane's membrane (gen.formal checks the sum's width)
        m.d.comb += [self.sum[l].eq(self.acc[l] + addend[l]) for l in lanes]
        return m
