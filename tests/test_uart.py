"""boards.uart: bit-level TX and RX, framing errors and recovery."""

import pytest
from amaranth.hdl import Module
from amaranth.sim import Simulator

from boards.uart import UARTRx, UARTTx

DIV = 5


def bits_of(byte, stop=1):
    return [0] + [byte >> i & 1 for i in range(8)] + [stop]


def test_tx_sends_start_data_lsb_first_stop():
    dut = UARTTx(DIV)
    seen = []

    async def bench(ctx):
        for byte in (0x00, 0xA5, 0xFF, 0x3C):
            ctx.set(dut.i.payload, byte)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
            while ctx.get(dut.tx):                       # wait for the start bit
                await ctx.tick()
            await ctx.tick().repeat(DIV // 2)
            frame = []
            for _ in range(10):
                frame.append(ctx.get(dut.tx))
                await ctx.tick().repeat(DIV)
            seen.append(frame)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert seen == [bits_of(b) for b in (0x00, 0xA5, 0xFF, 0x3C)]


def run_rx(frames):
    """Drive `frames` (lists of line bits) into an RX; returns (bytes, framing errors)."""
    dut = UARTRx(DIV)
    got, errors = [], []

    async def line(ctx):
        for frame in frames:
            for bit in frame:       # a bit, or (bit, cycles) for a shorter or longer one
                bit, cycles = bit if isinstance(bit, tuple) else (bit, DIV)
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(cycles)
            ctx.set(dut.rx, 1)
            await ctx.tick().repeat(3 * DIV)

    async def sink(ctx):
        ctx.set(dut.o.ready, 1)
        for _ in range(len(frames) * 16 * DIV):
            _, _, valid, payload, ferr = await ctx.tick().sample(dut.o.valid, dut.o.payload, dut.framing_error)
            if valid:
                got.append(payload)
            if ferr:
                errors.append(len(got))

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(line, background=True)
    sim.add_testbench(sink)
    sim.run()
    return got, errors


def test_rx_receives_bytes():
    data = [0x00, 0x01, 0x80, 0xA5, 0x5A, 0xFF]
    assert run_rx([bits_of(b) for b in data]) == (data, [])


def test_rx_drops_a_byte_with_a_bad_stop_bit_and_recovers():
    got, errors = run_rx([bits_of(0x11), bits_of(0x22, stop=0), bits_of(0x33)])
    assert got == [0x11, 0x33] and errors == [1]


def test_rx_ignores_a_glitch_shorter_than_half_a_bit():
    assert run_rx([[(0, 1), (1, DIV)], bits_of(0x42)]) == ([0x42], [])


@pytest.mark.parametrize("cls", [UARTRx, UARTTx])
def test_too_fast_a_baud_rate_is_refused(cls):
    with pytest.raises(ValueError, match="divisor 3 is too small"):
        cls(3)
