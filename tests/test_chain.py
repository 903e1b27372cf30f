"""gen.chain: layers of generated cores in series, bit-exact against the twin network
in the Amaranth simulator (the emitted Verilog is checked in tests/test_network.py).

A chain's streams carry only its last layer's beats, so every layer is compared by
chains of the first 1..n layers; each layer's threshold sits near the spread of its own
drive, and every layer's expected outputs must fire and reach mid-range levels."""

import numpy as np
import pytest

from gen.chain import Chain
from gen.simulate import run_stream
from sim.beats import KINDS
from sim.evidence import require_evidence, spread_threshold
from sim.network import Network, encode_spikes
from sim.params import CoreParams, ParamError
from sim.stimulus import firing_weights


def small_network(kind, W, S, T, inputs, sizes=(6, 5, 3), seed=0):
    """Weights able to fire, and per layer a threshold near the spread of that layer's
    drive on `inputs` (SNN spike levels, QNN counts)."""
    rng = np.random.default_rng(seed)
    params = [CoreParams(W, S, T, a, b) for a, b in zip(sizes, sizes[1:])]
    weights = [firing_weights(p, rng) for p in params]
    top = params[0].K if kind == "snn" else params[0].L
    thresholds, x = [], np.asarray(inputs)
    for p, w in zip(params, weights):
        thresholds.append(spread_threshold(w, x, top))
        x = Network([w], thresholds[-1:], W).snn(x, S)[0][-1] if kind == "snn" else \
            Network([w], thresholds[-1:], W).qnn(x, p.L)[-1]
    return Network(weights, thresholds, W), params


def check_every_layer(kind, net, params, inputs, expected, **stream_opts):
    """Chains of the first 1..n layers: each one's output beats equal the twin's layer."""
    k, S, T = KINDS[kind], params[0].S, params[0].T
    top = params[0].K if kind == "snn" else params[0].L
    for depth in range(1, len(params) + 1):
        layer = expected[depth]
        require_evidence(layer, top, f"{kind} chain W/S/T {params[0].W}/{S}/{T} layer {depth - 1}")
        chain = Chain(kind, params[:depth], net.weights[:depth], net.thresholds[:depth])
        outs, _, _ = run_stream(chain, k.encode(inputs, S, T), None, **stream_opts)
        n = params[depth - 1].n_out
        assert len(outs) == len(k.encode(inputs, S, T))
        got, top_bits = k.decode(outs, n, S, T)
        assert np.array_equal(got, layer.reshape(-1, n)), f"layer {depth - 1} differs from the twin"
        if kind == "snn":
            assert top_bits.tolist() == [int(t == T - 1) for _ in range(len(inputs)) for t in range(T)]


@pytest.mark.parametrize("W,S,T", [(4, 2, 3), (1, 1, 4), (8, 1, 2)])
def test_snn_chain_matches_twin_network(W, S, T):
    counts = np.random.default_rng(1).integers(0, T * (2 ** S - 1) + 1, size=(5, 6))
    spikes = encode_spikes(counts, T)
    net, params = small_network("snn", W, S, T, spikes)
    levels, _ = net.snn(spikes, S)
    check_every_layer("snn", net, params, spikes, levels, idle=0.2, backpressure=0.4)


def test_qnn_chain_matches_twin_network():
    W, S, T = 4, 2, 3
    counts = np.random.default_rng(2).integers(0, T * (2 ** S - 1) + 1, size=(6, 6))
    net, params = small_network("qnn", W, S, T, counts)
    check_every_layer("qnn", net, params, counts, net.qnn(counts, params[0].L), backpressure=0.3)


def test_mismatched_layers_are_refused():
    net, params = small_network("snn", 4, 2, 3, encode_spikes(np.full((1, 6), 3), 3))
    with pytest.raises(ParamError, match="layer 1 has n_in 6, but layer 0 has n_out 5"):
        Chain("snn", [params[0], params[0]], [net.weights[0]] * 2, net.thresholds)
    with pytest.raises(ParamError, match="layer 0 threshold 0 is out of range"):
        Chain("snn", params, net.weights, [0, 1])
