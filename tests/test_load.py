"""Weights written over the host link (WEIGHTS, `boards.link.WeightLoader`) into a core that
keeps them in SPRAM, on the simulated board (Amaranth simulator, bit-level UART).

Amaranth's simulator cannot run the SB_SPRAM256KA instances, so the core's memory here is
`boards.client.SpramStandIn`, a behavioural stand-in with SpramWeightMemory's ports and
timing; the real cell, and cores loaded through their `load` port, are checked against the
twin on the yosys cell model under Verilator in tests/test_spram.py."""

import pytest

from boards import host
from boards import protocol as P
from boards.client import Link, SimulatedBoard, SpramStandIn, load_weights, run
from boards.top import BoardTop
from gen.weights import make_weights, weight_words
from sim.beats import SNN
from sim.evidence import spread_threshold
from sim.params import CoreParams
from sim.stimulus import spike_train

# 12-bit words (3 lanes of W=4) padded to 2 bytes, 2 groups: 20 words, 4 frames of at most 6
PARAMS = CoreParams(4, 2, 2, 10, 6, 3)
FRAME = P.START_BYTES + 6 * 2
BEAT = bytes(P.nbytes(SNN.in_bits(PARAMS.n_in, PARAMS.S, PARAMS.T)))      # no spikes


@pytest.fixture
def board():
    weights, _ = make_weights(PARAMS, None, 3)
    return SimulatedBoard(BoardTop.for_core(PARAMS, weights, divisor=4, weight_memory=SpramStandIn)), weights


class Tamper:
    """The board's port, with byte `index` of the `nth` WEIGHTS frame's payload changed and
    the frame's check byte fixed, so the board takes the corrupted frame as good."""

    def __init__(self, port, nth, index):
        self.port, self.nth, self.index, self.seen = port, nth, index, 0
        self.read, self.drain = port.read, port.drain

    def write(self, data):
        if data[1] == P.CMD_WEIGHTS and len(data) > P.HEADER_BYTES + 1:
            self.seen += 1
            if self.seen == self.nth:
                payload = bytearray(data[P.HEADER_BYTES:-1])
                payload[self.index] ^= 0x10
                data = P.frame(P.CMD_WEIGHTS, payload, seq=data[2])
        self.port.write(data)


def test_weights_loaded_over_the_link_then_beats_match_the_twin(board):
    port, weights = board
    link = Link(port, retries=0)
    with pytest.raises(P.LinkError, match="weights not loaded"):
        link.request(P.CMD_BEAT, BEAT)
    assert link.request(P.CMD_WEIGHTS) == bytes(6)              # nothing written: CRC-32 of nothing, 0 words
    payloads = P.weight_payloads(weight_words(PARAMS, weights), 2, FRAME)
    assert len(payloads) == 4
    sent, _ = load_weights(link, PARAMS, weights, FRAME)
    assert sent == sum(P.HEADER_BYTES + len(p) + 1 for p in payloads)
    spikes = spike_train(7, (6, PARAMS.T, PARAMS.n_in), PARAMS.S, 0.4)
    threshold = spread_threshold(weights, spikes, PARAMS.K)
    report = run(link, PARAMS, weights, spikes, threshold)
    assert report["mismatched_beats"] == 0 and report["retries"] == 0
    levels, _ = SNN.decode(SNN.expected(weights, spikes, threshold, PARAMS.S, PARAMS.T), PARAMS.n_out, PARAMS.S, PARAMS.T)
    assert 0.2 < (levels > 0).mean() < 0.8, "guard: mid-range firing, so the beats depend on the weights"


def test_a_corrupted_load_is_refused_by_the_host(board):
    """A word changed in a frame whose check byte still passes: the board writes it, and only
    the load check tells; nothing was resent, so the host does not load again."""
    port, weights = board
    link = Link(Tamper(port, nth=2, index=P.START_BYTES + 3))
    with pytest.raises(P.LinkError, match=r"weight load check failed: the board holds 20 words with CRC-32 [0-9a-f]{8}, "
                                          r"the host sent 20 with"):
        load_weights(link, PARAMS, weights, FRAME)
    assert link.resent == 0


def test_a_partial_load_is_refused_by_the_board_and_the_host(board):
    port, weights = board
    link = Link(port, retries=0)
    payloads = P.weight_payloads(weight_words(PARAMS, weights), 2, FRAME)
    for payload in payloads[:-1]:
        link.request(P.CMD_WEIGHTS, payload)
    assert int.from_bytes(link.request(P.CMD_WEIGHTS)[P.CHECK_BYTES:], "little") == 18
    with pytest.raises(P.LinkError, match="weights not loaded"):
        link.request(P.CMD_BEAT, BEAT)
    with pytest.raises(P.LinkError, match="bad length"):         # a start word and half a word
        link.request(P.CMD_WEIGHTS, payloads[-1][:P.START_BYTES + 1])
    load_weights(link, PARAMS, weights, FRAME)                   # from word 0 again: a fresh check


def test_a_load_frame_lost_on_the_wire_makes_the_host_load_again(board):
    """A framing error mid-frame: its first bytes were already written and counted, so the
    first check differs; the frame was resent, so the host loads again, and that matches."""
    port, weights = board
    write = port.write

    def noisy(data):
        if data[1] == P.CMD_WEIGHTS and data[P.HEADER_BYTES:P.HEADER_BYTES + 2] == P.to_bytes(6, 16) and not noisy.done:
            port.corrupt, noisy.done = P.HEADER_BYTES + 6, True
        write(data)
    noisy.done = False
    port.write = noisy
    link = Link(port)
    load_weights(link, PARAMS, weights, FRAME)
    assert noisy.done and link.resent == 1


def test_a_board_with_its_weights_in_the_bitstream_knows_no_load():
    p = CoreParams(4, 2, 2, 8, 2)
    weights, _ = make_weights(p, None, 3)
    link = Link(SimulatedBoard(BoardTop.for_core(p, weights, divisor=4)))
    with pytest.raises(P.LinkError, match="unknown command to command 0x05"):
        load_weights(link, p, weights)


def test_host_loads_then_runs_against_the_twin(capsys):
    assert host.main(["--sim", "--weight-memory", "spram", "--n-in", "12", "--n-out", "4", "--lanes", "2",
                      "--count", "3", "--spike-rate", "0.3"]) == 0
    out = capsys.readouterr().out
    assert " 0 mismatched beats vs the twin" in out and "weights loaded and verified (56 bytes" in out


@pytest.mark.parametrize("argv, words", [
    (["--sim"], "--lanes 16 with --W 8 makes a 128-bit weight word"),
    (["--sim-bitstream", "--lanes", "8"], "--weight-memory spram cannot run with --sim-bitstream"),
])
def test_host_refuses_what_spram_cannot_do(argv, words, capsys):
    assert host.main(argv + ["--weight-memory", "spram"]) == 2
    assert words in capsys.readouterr().err


def test_a_chain_with_its_largest_layer_in_spram_loads_then_matches_the_twin():
    """A network's chain with the largest layer's weights in SPRAM (`Chain.for_network(...,
    "spram")`, the MNIST board's layout): the link loads that layer (`Chain.loaded`) through
    the chain's `load` port, then every output beat equals the twin network's, with neurons
    firing at mid-range levels; the inner layer reads its beats in place (`source_holds`)."""
    import numpy as np

    from gen.chain import Chain
    from gen.manifest import chain_id
    from gen.spram import SpramWeightMemory
    from sim.evidence import require_evidence
    from sim.network import Network, encode_spikes
    from sim.stimulus import pack, random_weights

    rng = np.random.default_rng(9)
    layers = [CoreParams(4, 1, 2, 12, 8), CoreParams(4, 1, 2, 8, 3)]
    weights = [random_weights(p, rng) for p in layers]
    net = Network(weights, [5, 4], 4)
    planned = Chain.for_network("snn", net, 1, 2, max_lanes=4, weight_memory="spram")
    assert planned.loaded is planned.cores[0] and [c.params.lanes for c in planned.cores] == [4, 3]
    assert [c.holds_beat for c in planned.cores] == [False, True] and "load" in planned.signature.members
    for unused in [planned] + planned.cores:     # only its plan is used: it runs below with the SPRAM stand-in
        unused._MustUse__silence = True
    chain = Chain("snn", [c.params for c in planned.cores], weights, [5, 4], [SpramStandIn, None])
    with pytest.raises(ValueError, match="at most one layer"):
        Chain("snn", [c.params for c in planned.cores], weights, [5, 4], [SpramWeightMemory] * 2)
    link = Link(SimulatedBoard(BoardTop(chain, chain_id(chain), divisor=4)), retries=0)
    load_weights(link, chain.loaded.params, chain.loaded.weights)
    spikes = encode_spikes(rng.integers(0, 3, size=(4, 12)), 2)
    levels = net.snn(spikes, 1)[0]
    require_evidence(levels[-1], 1, "chain with a SPRAM layer")
    for beat, out, t in zip(SNN.encode(spikes, 1, 2), levels[-1].reshape(-1, 3), [0, 1] * 4):
        got = int.from_bytes(link.request(P.CMD_BEAT, P.to_bytes(int(beat), 12)), "little")
        assert got == int(pack(out, 1)) | (int(t == 1) << 3)
