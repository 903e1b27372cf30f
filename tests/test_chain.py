"""gen.chain: layers of generated cores in series, bit-exact against the twin network
in the Amaranth simulator (the emitted Verilog is checked in tests/test_network.py)."""

import numpy as np
import pytest

from gen.chain import Chain
from gen.simulate import run_stream
from sim.network import Network, encode_spikes
from sim.params import CoreParams, ParamError
from sim.beats import QNN, SNN
from sim.stimulus import random_weights


def small_network(W, S, T, sizes=(6, 5, 3), seed=0):
    rng = np.random.default_rng(seed)
    params = [CoreParams(W, S, T, a, b) for a, b in zip(sizes, sizes[1:])]
    weights = [random_weights(p, rng) for p in params]
    thresholds = [max(1, p.n_in * max(p.w_max, 1) * p.K // 6) for p in params]
    return Network(weights, thresholds, W), params


@pytest.mark.parametrize("W,S,T", [(4, 2, 3), (1, 1, 4), (8, 1, 2)])
def test_snn_chain_matches_twin_network(W, S, T):
    net, params = small_network(W, S, T)
    rng = np.random.default_rng(1)
    counts = rng.integers(0, T * (2 ** S - 1) + 1, size=(5, params[0].n_in))
    spikes = encode_spikes(counts, T)
    levels, _ = net.snn(spikes, S)
    chain = Chain("snn", params, net.weights, net.thresholds)
    outs, _, _ = run_stream(chain, SNN.encode(spikes, S, T), None, idle=0.2, backpressure=0.4)
    n = params[-1].n_out
    got, _ = SNN.decode(outs, n, S, T)
    assert np.array_equal(got, levels[-1].reshape(-1, n))
    assert [o >> (n * S) for o in outs] == [int(t == T - 1) for _ in range(5) for t in range(T)]


def test_qnn_chain_matches_twin_network():
    net, params = small_network(4, 2, 3)
    L = params[0].L
    counts = np.random.default_rng(2).integers(0, L + 1, size=(6, params[0].n_in))
    chain = Chain("qnn", params, net.weights, net.thresholds)
    outs, _, _ = run_stream(chain, QNN.encode(counts, params[0].S, params[0].T), None, backpressure=0.3)
    assert np.array_equal(QNN.decode(outs, params[-1].n_out, params[-1].S, params[-1].T)[0], net.qnn(counts, L)[-1])


def test_mismatched_layers_are_refused():
    net, params = small_network(4, 2, 3)
    with pytest.raises(ParamError, match="layer 1 has n_in 6, but layer 0 has n_out 5"):
        Chain("snn", [params[0], params[0]], [net.weights[0]] * 2, net.thresholds)
    with pytest.raises(ParamError, match="layer 0 threshold 0 is out of range"):
        Chain("snn", params, net.weights, [0, 1])
