"""boards.link through the simulated board top (boards.top + bit-level UART): every
command, and every error the link must reject, report and recover from."""

import pytest

from boards import protocol as P
from boards.client import Link, SimulatedBoard
from boards.top import LEDS, BoardTop
from gen.manifest import core_id
from gen.weights import make_weights
from sim.params import CoreParams


@pytest.fixture
def board():
    p = CoreParams(4, 2, 2, 8, 2)
    weights, _ = make_weights(p, None, 3)
    return SimulatedBoard(BoardTop.for_core(p, weights, divisor=4)), p, weights


def answer(port, data):
    port.write(data)
    return P.read_frame(port.read)



def test_commands(board):
    port, p, weights = board
    link = Link(port)
    assert int.from_bytes(link.request(P.CMD_ID), "little") == core_id(p, weights)
    assert link.request(P.CMD_THRESHOLD, P.to_bytes(7, p.theta_width)) == b""
    assert link.request(P.CMD_CYCLES) == bytes(4)
    out = link.request(P.CMD_BEAT, P.to_bytes(0, p.n_in * p.S))      # no spikes: nothing fires
    assert out == bytes(P.nbytes(p.n_out * p.S + 1))
    assert int.from_bytes(link.request(P.CMD_CYCLES), "little") == p.snn_cycles(0)   # handshake to handshake


@pytest.mark.parametrize("bad, error", [
    (lambda f: f[:-1] + bytes([f[-1] ^ 0x40]), P.ERR_CHECKSUM),
    (lambda f: P.frame(P.CMD_BEAT, bytes(200)), P.ERR_LENGTH),
    (lambda f: P.frame(0x77), P.ERR_COMMAND),
])
def test_bad_frames_are_reported_and_the_link_recovers(board, bad, error):
    port, p, weights = board
    good = P.frame(P.CMD_ID)
    assert answer(port, bad(good)) == (error, b"")
    assert answer(port, good) == (P.CMD_ID, core_id(p, weights).to_bytes(8, "little"))


def test_framing_error_is_reported_and_the_link_recovers(board):
    port, p, weights = board
    port.corrupt = 4                         # a payload byte with a 0 stop bit
    port.write(P.frame(P.CMD_THRESHOLD, P.to_bytes(0x1234, p.theta_width)))
    assert P.read_frame(port.read) == (P.ERR_FRAMING, b"")
    port.drain()                             # let the rest of the broken frame go by
    assert answer(port, P.frame(P.CMD_ID)) == (P.CMD_ID, core_id(p, weights).to_bytes(8, "little"))


def test_a_chain_board_answers_with_the_twin_network(tmp_path):
    """The board top around a gen.chain.Chain loaded from a network file: its id, no
    THRESHOLD command (the thresholds are built in), and output beats equal to the twin's."""
    import numpy as np

    from boards.bitstream import network_core
    from gen.manifest import chain_id
    from gen.nirgraph import save_json
    from sim.network import Network, encode_spikes
    from sim.beats import SNN
    from sim.stimulus import pack, random_weights

    rng = np.random.default_rng(4)
    layers = [CoreParams(4, 1, 3, 6, 4), CoreParams(4, 1, 3, 4, 3)]
    net = Network([random_weights(p, rng) for p in layers], [6, 4], 4)
    save_json(net, 1, 3, tmp_path / "net.json")
    chain, ident, _ = network_core(str(tmp_path / "net.json"), max_lanes=2)
    assert ident == chain_id(chain) and [c.params.lanes for c in chain.cores] == [2, 1]
    link = Link(SimulatedBoard(BoardTop(chain, ident, divisor=4)))
    assert int.from_bytes(link.request(P.CMD_ID), "little") == ident
    with pytest.raises(P.LinkError, match="unknown command"):
        link.request(P.CMD_THRESHOLD, bytes(2))
    spikes = encode_spikes(rng.integers(0, 4, size=(2, 6)), 3)
    want = net.snn(spikes, 1)[0][-1].reshape(-1, 3)
    for beat, levels, t in zip(SNN.encode(spikes, 1, 3), want, [0, 1, 2] * 2):
        got = int.from_bytes(link.request(P.CMD_BEAT, P.to_bytes(int(beat), 6)), "little")
        assert got == int(pack(levels, 1)) | (int(t == 2) << 3)


# --- the three link components, byte for byte against boards.protocol (Amaranth simulator) ---

import numpy as np
from amaranth.hdl import Value
from amaranth.sim import Simulator

from boards.link import CommandExecutor, FrameReceiver, FrameTransmitter

LENGTHS = {P.CMD_ID: 0, P.CMD_THRESHOLD: 2, P.CMD_BEAT: 3}
TIMEOUT = 60


def simulate(dut, source, sink_port, ready_rng, cycles):
    """Run `source` (a testbench) on `dut`; collect every payload handed on at `sink_port`,
    whose ready follows `ready_rng` (random backpressure). Returns the payloads as ints."""
    got = []

    async def sink(ctx):
        async for _, _, valid, ready, payload in ctx.tick().sample(sink_port.valid, sink_port.ready,
                                                                    Value.cast(sink_port.payload)):
            if valid and ready:
                got.append(payload)
            ctx.set(sink_port.ready, int(ready_rng.random() < 0.7))

    async def bench(ctx):
        await source(ctx)
        await ctx.tick().repeat(cycles)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(sink, background=True)
    sim.add_testbench(bench)
    sim.run()
    return got


def receive(events, seed=0):
    """Feed a FrameReceiver `events`: bytes, ("gap", cycles), "framing_error" or "overrun"
    (a one-cycle pulse). Returns (code, payload) per result; payload from the top bytes."""
    dut = FrameReceiver(LENGTHS, TIMEOUT)
    width = 8 * max(LENGTHS.values())

    async def source(ctx):
        for e in events:
            if isinstance(e, int):
                ctx.set(dut.i.payload, e)
                ctx.set(dut.i.valid, 1)
                await ctx.tick().until(dut.i.ready)
                ctx.set(dut.i.valid, 0)
            elif isinstance(e, tuple):
                await ctx.tick().repeat(e[1])
            else:
                ctx.set(getattr(dut, e), 1)
                await ctx.tick()
                ctx.set(getattr(dut, e), 0)

    results = []
    for word in simulate(dut, source, dut.o, np.random.default_rng(seed), 2 * TIMEOUT):
        code, data = word & 0xFF, (word >> 16).to_bytes(width // 8, "little")
        n = LENGTHS.get(code, 0)
        results.append((code, data[len(data) - n:] if n else b""))
    return results


def test_receiver_hands_on_frames_byte_for_byte():
    rng = np.random.default_rng(1)
    frames = [(c, rng.integers(0, 256, n, dtype=np.uint8).tobytes()) for c, n in LENGTHS.items() for _ in range(3)]
    rng.shuffle(frames)
    events = []
    for code, payload in frames:
        events += list(b"\x00\x17") + list(P.frame(code, payload))   # bytes between frames are skipped
    assert receive(events) == frames


@pytest.mark.parametrize("events, error", [
    (list(P.frame(P.CMD_BEAT, b"abc")[:-1]) + [0], P.ERR_CHECKSUM),
    (list(P.frame(0x77)), P.ERR_COMMAND),
    (list(P.frame(P.CMD_BEAT, b"ab")), P.ERR_LENGTH),
    (list(P.frame(P.CMD_BEAT, bytes(300))), P.ERR_LENGTH),     # a 16-bit length, longer than the buffer
    (list(P.frame(P.CMD_BEAT, b"abc")[:3]) + ["framing_error"], P.ERR_FRAMING),
    (list(P.frame(P.CMD_BEAT, b"abc")[:5]) + ["overrun"], P.ERR_OVERRUN),
    (["overrun"], P.ERR_OVERRUN),                                # reported while hunting too
    (list(P.frame(P.CMD_BEAT, b"abc")[:5]) + [("gap", TIMEOUT)], P.ERR_TIMEOUT),
])
def test_receiver_reports_each_error_then_takes_the_next_frame(events, error):
    good = (P.CMD_THRESHOLD, b"\x34\x12")
    assert receive(events + list(P.frame(*good))) == [(error, b""), good]


def test_receiver_takes_a_valid_frame_after_any_bytes_and_the_timeout_gap():
    """The property the link's recovery rests on: whatever bytes came before (sync bytes,
    lengths that would swallow what follows), a valid frame after `timeout` idle cycles is
    received, as the last result."""
    rng = np.random.default_rng(2)
    good = (P.CMD_BEAT, b"\xa5\x5a\x00")
    for _ in range(12):
        junk = rng.integers(0, 256, int(rng.integers(1, 12)), dtype=np.uint8)
        junk[rng.random(len(junk)) < 0.4] = P.HOST_SYNC
        events = [int(b) for b in junk] + [("gap", TIMEOUT)] + list(P.frame(*good))
        assert receive(events, seed=int(rng.integers(1000)))[-1] == good


def test_transmitter_frames_byte_for_byte():
    rng = np.random.default_rng(3)
    answers = [(P.CMD_ID, bytes(range(8))), (P.CMD_THRESHOLD, b""), (P.ERR_OVERRUN, b""),
               (P.CMD_BEAT, rng.integers(0, 256, 300, dtype=np.uint8).tobytes())]   # longer than 255
    seqs = [0, 1, 0x80, 0xFF]
    dut = FrameTransmitter(300)

    async def source(ctx):
        for (code, payload), seq in zip(answers, seqs):
            ctx.set(dut.i.payload.code, code)
            ctx.set(dut.i.payload.seq, seq)
            ctx.set(dut.i.payload.length, len(payload))
            ctx.set(dut.i.payload.data, int.from_bytes(payload, "little"))
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
            await ctx.tick().until(~dut.busy)
            assert ctx.get(dut.error) == (code >> 4 == 0xE)

    got = simulate(dut, source, dut.o, rng, 20)
    assert bytes(got) == b"".join(P.frame(c, d, sync=P.BOARD_SYNC, seq=s) for (c, d), s in zip(answers, seqs))


def test_executor_runs_each_request_and_answers_errors():
    from gen.snn import SNNCore
    from sim.beats import SNN
    p = CoreParams(4, 2, 1, 8, 2)
    weights, _ = make_weights(p, None, 5)
    dut = CommandExecutor(SNNCore(p, weights), 0x1122334455667788)
    width = len(dut.requests.payload.data)
    spikes = np.array([[[3, 0, 1, 2, 0, 0, 3, 1]]])
    beat = P.to_bytes(SNN.encode(spikes, 2, 1)[0], 16)
    requests = [(P.CMD_ID, b"", 1), (P.CMD_THRESHOLD, P.to_bytes(2, p.theta_width), 2), (P.CMD_BEAT, beat, 3),
                (P.ERR_CHECKSUM, b"", 4), (P.CMD_BEAT, beat, 3), (P.CMD_CYCLES, b"", 5)]   # the beat resent: not run

    async def source(ctx):
        for code, payload, seq in requests:      # the payload in the top bytes, as the receiver leaves it
            ctx.set(dut.requests.payload.code, code)
            ctx.set(dut.requests.payload.seq, seq)
            ctx.set(dut.requests.payload.data, int.from_bytes(payload, "little") << (width - 8 * len(payload)))
            ctx.set(dut.requests.valid, 1)
            await ctx.tick().until(dut.requests.ready)
            ctx.set(dut.requests.valid, 0)

    answers = [(w & 0xFF, w >> 8 & 0xFF, w >> 16 & 0xFFFF, w >> 32) for w in
               simulate(dut, source, dut.answers, np.random.default_rng(4), 60)]
    want_beat = int(SNN.expected(weights, spikes, 2, 2, 1)[0])
    set_bits = sum(bin(int(v)).count("1") for v in spikes.ravel())
    assert answers == [(P.CMD_ID, 1, 8, 0x1122334455667788), (P.CMD_THRESHOLD, 2, 0, 0), (P.CMD_BEAT, 3, 1, want_beat),
                       (P.ERR_CHECKSUM, 4, 0, 0), (P.CMD_BEAT, 3, 1, want_beat), (P.CMD_CYCLES, 5, 4, p.snn_cycles(set_bits))]
    assert want_beat & 0xF, "guard: some neuron fires"


def test_a_request_resent_with_its_seq_is_answered_again_not_run_again(board):
    """The host lost the answer to a BEAT and resends it: the board sends the same answer and
    the core does not run a second time (CYCLES counts one beat)."""
    port, p, weights = board
    link = Link(port)
    link.request(P.CMD_THRESHOLD, P.to_bytes(1, p.theta_width))
    beat = link.frame(P.CMD_BEAT, P.to_bytes(0b11_01_10_11, p.n_in * p.S))
    first = answer(port, beat)
    assert first[0] == P.CMD_BEAT and answer(port, beat) == first
    assert int.from_bytes(link.request(P.CMD_CYCLES), "little") == p.snn_cycles(6)     # 0b11011011: 6 set bits
