"""SNNCore in the Amaranth simulator, bit-exact against the twin over a parameter grid."""

import numpy as np
import pytest

from gen import SNNCore
from sim.params import CoreParams
from sim.beats import SNN
from sim.evidence import require_evidence, spread_threshold
from sim.twin import snn_forward
from sim.stimulus import random_weights, spike_train
from core_check import GRID_CASES, BlockRamSNN, HeldChunkSNN, check_snn, small_params, weight_cases
from gen.simulate import run_stream


def stimulus(p, rng):
    """Corner inferences (all zero, all max level) then random ones at several spike rates."""
    corners = [np.zeros((p.T, p.n_in), int), np.full((p.T, p.n_in), p.K)]
    rates = [spike_train(rng, (p.T, p.n_in), p.S, r) for r in (0.1, 0.3, 0.5, 0.7, 1.0)]
    return np.stack(corners + rates)


def grid_runs(W, S, T):
    """The point's parameters and runs (weights case, weights, spikes, theta, typical): each
    weight case at a threshold near its drive's spread (the typical run), 1 and the largest."""
    rng = np.random.default_rng([W, S, T])
    p = small_params(W, S, T, rng)
    spikes = stimulus(p, rng)
    runs = []
    for case, weights in enumerate(weight_cases(p, rng)):
        typical = spread_threshold(weights, spikes[2:], p.K)
        runs += [(case, weights, spikes, theta, theta is typical) for theta in (typical, 1, 2 ** p.theta_width - 1)]
    return p, runs


def grid_point(W, S, T):
    p, runs = grid_runs(W, S, T)
    case, weights, spikes, theta, _ = runs[0]       # random weights at the typical threshold
    require_evidence(snn_forward(weights, spikes, theta, p.S), p.K, f"W/S/T {W}/{S}/{T} random weights")
    for case, weights, spikes, theta, _ in runs:
        check_snn(p, weights, spikes, theta, seed=[W, S, T, case, theta % 997], idle=0.3, backpressure=0.4)


@pytest.mark.parametrize("W, S, T", GRID_CASES)
def test_bit_exact(W, S, T):
    grid_point(W, S, T)


@pytest.mark.parametrize("core, lanes", [(SNNCore, 1), (SNNCore, 2), (SNNCore, 3), (SNNCore, 6),
                                         (HeldChunkSNN, 1), (HeldChunkSNN, 3), (BlockRamSNN, 1), (BlockRamSNN, 6)])
def test_cycles_match_manifest_formula(core, lanes):
    """From each beat's start (its input handshake; for a core that holds its beat, the
    first cycle it saw it, which `core_check.beat_starts` puts 2 + G*events cycles before
    its late handshake) to the next and to its output handshake."""
    p = CoreParams(4, 3, 3, n_in=9, n_out=6, lanes=lanes)          # 36 event slots: 3 chunks
    rng = np.random.default_rng(lanes)
    spikes = np.concatenate([spike_train(rng, (3, p.T, p.n_in), p.S, r) for r in (0.0, 0.2, 0.7, 1.0)])
    weights = random_weights(p, rng)
    starts, outs = check_snn(p, weights, spikes, 5, core=core)
    set_bits = [bin(int(x)).count("1") for x in spikes.reshape(-1, p.n_in).ravel()]
    per_beat = np.add.reduceat(set_bits, np.arange(0, len(set_bits), p.n_in))
    expected = [p.snn_cycles(int(e)) for e in per_beat]
    assert np.diff(starts).tolist() == expected[:-1]           # beat start to the next
    assert (np.array(outs) - np.array(starts)).tolist() == expected  # and to its own output
    # a whole inference, first beat start to last output handshake
    first_in = np.array(starts).reshape(-1, p.T)[:, 0]
    last_out = np.array(outs).reshape(-1, p.T)[:, -1]
    per_inference = per_beat.reshape(-1, p.T).sum(axis=1)
    assert (last_out - first_in).tolist() == [p.snn_cycles(int(e), p.T) for e in per_inference]


# The components of large layers in small cores: the event queue of large beats
# (gen.priority.LARGE_BEAT; 24 inputs at S = 3 are 96 slots in 6 chunks, read in place
# until the core takes the beat, which the source holds until its handshake) and the
# membranes in block RAM (gen.membranes.LARGE_BANK; 4 groups, a group read the cycle after
# another was written, and 1 group, read the cycle after itself was written: the read
# port's transparency; S = 3 fire steps on one group; the stale marks that stand for the
# clear at each inference).
LARGE_LAYER_CORES = [pytest.param(HeldChunkSNN, CoreParams(4, 3, 2, n_in=24, n_out=6, lanes=3), 24, id="held-chunk"),
                     *(pytest.param(BlockRamSNN, CoreParams(4, 3, 2, n_in=9, n_out=8, lanes=lanes), lanes,
                                    id=f"block-ram-{lanes}") for lanes in (2, 8))]


@pytest.mark.parametrize("core, p, seed", LARGE_LAYER_CORES)
def test_large_layer_components_bit_exact(core, p, seed):
    """Idle gaps and backpressure."""
    rng = np.random.default_rng(seed)
    spikes, weights = stimulus(p, rng), random_weights(p, rng)
    theta = spread_threshold(weights, spikes[2:], p.K)
    require_evidence(snn_forward(weights, spikes, theta, p.S), p.K, core.__name__)
    check_snn(p, weights, spikes, theta, core=core, seed=seed, idle=0.3, backpressure=0.4)


def test_sparser_input_takes_fewer_cycles():
    p = CoreParams(8, 2, 4, n_in=16, n_out=4)
    rng = np.random.default_rng(0)
    weights = random_weights(p, rng)
    spans = []
    for rate in (0.0, 0.1, 0.5, 1.0):
        ins, outs = check_snn(p, weights, spike_train(rng, (2, p.T, p.n_in), p.S, rate), 9)
        spans.append(outs[-1] - ins[0])
    assert spans == sorted(spans) and spans[0] < spans[-1]


def test_threshold_zero_completes_every_handshake():
    p = CoreParams(4, 2, 3, n_in=5, n_out=3)
    rng = np.random.default_rng(1)
    spikes = spike_train(rng, (6, p.n_in), p.S, 0.5)
    got, _, _ = run_stream(SNNCore(p, random_weights(p, rng)), SNN.encode(spikes, p.S, p.T), 0,
                           idle=0.3, backpressure=0.3)
    assert len(got) == 6
    assert [g >> (p.n_out * p.S) for g in got] == [0, 0, 1, 0, 0, 1]
