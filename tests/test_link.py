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
