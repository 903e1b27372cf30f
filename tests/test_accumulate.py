"""gen.accumulate.offset_sum: the adders' sum and their comparison (the carry out), exhaustively."""

import pytest
from amaranth.hdl import Module, Signal, signed
from amaranth.sim import Simulator

from gen.accumulate import offset_sum


@pytest.mark.parametrize("a_bits, b_bits", [(1, 1), (3, 3), (3, 5), (5, 2), (1, 4)])
def test_offset_sum_is_the_wrapped_sum_and_its_carry_says_not_negative(a_bits, b_bits):
    a, b = Signal(signed(a_bits)), Signal(signed(b_bits))
    total = offset_sum(a, b)
    n = max(a_bits, b_bits)
    assert len(total) == n + 1
    m = Module()
    out = Signal(n + 1)
    m.d.comb += out.eq(total)

    async def bench(ctx):
        for x in range(-2 ** (a_bits - 1), 2 ** (a_bits - 1)):
            for y in range(-2 ** (b_bits - 1), 2 ** (b_bits - 1)):
                ctx.set(a, x)
                ctx.set(b, y)
                got = ctx.get(out)
                assert (got % 2 ** n, got >> n) == ((x + y) % 2 ** n, int(x + y >= 0)), (x, y)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
