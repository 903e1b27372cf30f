import itertools

import pytest
from amaranth.hdl import Module, Signal
from amaranth.sim import Simulator

from gen.priority import FirstSet, onehot_index


@pytest.mark.parametrize("width", [1, 2, 3, 5, 8])
def test_first_set_and_index_exhaustive(width):
    m = Module()
    m.submodules.dut = dut = FirstSet(width)
    index = Signal(max(1, (width - 1).bit_length()))
    m.d.comb += index.eq(onehot_index(dut.first))

    async def bench(ctx):
        for bits in range(2 ** width):
            ctx.set(dut.i, bits)
            lowest = (bits & -bits)
            assert ctx.get(dut.first) == lowest
            assert ctx.get(dut.any) == (bits != 0)
            assert ctx.get(index) == (lowest.bit_length() - 1 if bits else 0)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()


def test_first_set_wide_vector_spot_checks():
    dut = FirstSet(300)

    async def bench(ctx):
        for bit in itertools.chain([0, 1, 150, 298, 299]):
            ctx.set(dut.i, (1 << bit) | (1 << 299))
            assert ctx.get(dut.first) == 1 << bit

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
