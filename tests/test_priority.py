import itertools

import numpy as np
import pytest
from amaranth.hdl import Fragment, Module, Signal
from amaranth.sim import Simulator

from gen.priority import (LARGE_BEAT, FirstSet, HeldChunkQueue, ParallelChunkQueue, onehot_index,
                          queue_class, two_or_more)


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


@pytest.mark.parametrize("queue", [ParallelChunkQueue, HeldChunkQueue])
@pytest.mark.parametrize("slots, data_bits, chunk", [(5, 0, 4), (37, 3, 8), (40, 2, 16), (1, 1, 16), (300, 0, 16)])
def test_event_queue_hands_out_every_event_lowest_first(queue, slots, data_bits, chunk):
    """Random beats, reloaded mid-way too, with cycles without a take: the taken (index, word)
    sequence is the set slots in increasing order, then `valid` drops; checked against a
    plain Python model. Each beat's flags and data stay on the inputs until the next load
    (HeldChunkQueue reads them there)."""
    dut = queue(slots, data_bits, chunk)
    rng = np.random.default_rng([slots, chunk])

    async def bench(ctx):
        for _ in range(25):
            flags = sum(int(b) << i for i, b in enumerate(rng.random(slots) < 0.4)) if rng.random() > 0.2 else 0
            data = sum(int(x) << (i * data_bits) for i, x in enumerate(rng.integers(0, 2 ** data_bits, slots)))
            ctx.set(dut.flags, flags)
            ctx.set(dut.data, data)
            ctx.set(dut.load, 1)
            await ctx.tick()
            ctx.set(dut.load, 0)
            expected = [i for i in range(slots) if flags >> i & 1]
            stop = len(expected) if rng.random() > 0.3 else int(rng.integers(0, len(expected) + 1))
            for i in expected[:stop]:
                held = ctx.get(dut.valid), ctx.get(dut.index)
                ctx.set(dut.take, 0)
                for _ in range(int(rng.integers(0, 3)) if rng.random() < 0.3 else 0):   # no take: nothing moves
                    await ctx.tick()
                    assert (ctx.get(dut.valid), ctx.get(dut.index)) == held
                ctx.set(dut.take, 1)
                await ctx.tick()
                assert (ctx.get(dut.valid), ctx.get(dut.index)) == (1, i)
                if data_bits:
                    assert ctx.get(dut.word) == (data >> (i * data_bits)) & (2 ** data_bits - 1)
            if stop == len(expected):
                ctx.set(dut.take, 1)
                await ctx.tick()
                assert ctx.get(dut.valid) == 0
            ctx.set(dut.take, 0)

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(bench)
    sim.run()


def test_event_queue_by_beat_size():
    for slots, kind in ((LARGE_BEAT, ParallelChunkQueue), (LARGE_BEAT + 1, HeldChunkQueue)):
        assert queue_class(slots) is kind
        Fragment.get(kind(slots, 3), None)       # elaborated, as a core would


@pytest.mark.parametrize("width", [1, 2, 3, 7, 16])
def test_two_or_more_exhaustive(width):
    bits = Signal(width)
    m = Module()
    out = Signal()
    m.d.comb += out.eq(two_or_more(bits))

    async def bench(ctx):
        for v in range(2 ** width):
            ctx.set(bits, v)
            assert ctx.get(out) == (bin(v).count("1") >= 2)

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
