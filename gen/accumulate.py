"""Accumulate: one event's contribution to each lane's membrane, and the adders."""

from amaranth.hdl import Cat, Module, Mux, Signal, Value, signed
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

    Without an event in them (`sum_valid` low: between beats' events, and in FIRE) the
    adders add `theta` (the fire unit's -(threshold << b)) instead, and `reaches[l]` says
    lane l's full-width sum is not negative: the fire unit's comparison, on the same adders
    (gen/fire.py). The operand thus moves only as a beat's events start and end and as the
    fire unit steps. Selected by the FSM's FIRE state instead, it went weight -> threshold
    -> weight in every beat, events or none: the adders then toggled 1717 pJ per inference
    more than with a subtractor per lane (default SNN at 2 %, UP5K gate level).

    The comparison is the adder's carry out (`offset_sum`): taken from the sum's sign bit,
    it went carry -> sign LUT -> write-enable LUT -> the membrane's clock enable, and limited
    the 256x32 SNN to 37.7 MHz on the UP5K; from the carry out it is one LUT less (41.7 MHz;
    the default SNN 40.1 -> 44.1 MHz, QNN 42.0 -> 46.5, 15 and 10 LUT4 fewer).

    W = 1 weights are stored as bit 0 for +1 and bit 1 for -1.
    """

    def __init__(self, params, kind, info_bits, theta_bits):
        self.params, self.kind = params, kind
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({
            "valid": In(1), "group": In(range(params.groups)), "info": In(info_bits),
            "row": In(data.ArrayLayout(params.W, params.lanes)), "acc": In(lanes),
            "theta": In(signed(theta_bits)),
            "sum_valid": Out(1), "sum_group": Out(range(params.groups)), "sum": Out(lanes),
            "reaches": Out(params.lanes),
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
        for l in lanes:
            total = offset_sum(self.acc[l], Mux(self.sum_valid, addend[l], self.theta))
            m.d.comb += [self.sum[l].eq(total[:-1]), self.reaches[l].eq(total[-1])]
        return m


def offset_sum(a, b):
    """`a + b` of two signed values, as an unsigned value one bit wider than the wider of
    them: its low bits are the sum (wrapped to that width) and its top bit, the carry
    out, says the exact sum is not negative.

    Both are added in offset binary (the sign bit inverted: v + 2^(n-1), for n bits), so
    the carry out is set when a + 2^(n-1) + b + 2^(n-1) >= 2^n, that is when a + b >= 0;
    inverting both sign bits leaves the sum's bits as they are."""
    n = max(len(a), len(b))
    offset = lambda v: Cat(v[:-1], v[-1].replicate(n - len(v)), ~v[-1])     # sign-extended to n bits
    return offset(Value.cast(a)) + offset(Value.cast(b))
