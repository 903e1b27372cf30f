"""QNNCore in the Amaranth simulator, bit-exact against the twin over a parameter grid."""

import numpy as np
import pytest

from gen import QNNCore
from sim.params import CoreParams
from sim.beats import QNN
from sim.evidence import require_evidence, spread_threshold
from sim.twin import qnn_forward
from sim.stimulus import activations, random_weights
from core_check import GRID_CASES, BlockRamQNN, HeldChunkQNN, check_qnn, small_params, weight_cases
from gen.simulate import run_stream


# enough random inferences that a point of 1..7 inputs and 1..4 neurons shows firing and mid-range levels
SPARSITIES = (0.0, 0.5, 0.9, 0.5, 0.0, 0.2, 0.7, 0.3, 0.0, 0.5)


def grid_runs(W, S, T):
    """The point's parameters and runs (weights case, weights, acts, theta): each weight case
    at a threshold near its drive's spread (the typical run), a random small one, 1 and
    the largest."""
    rng = np.random.default_rng([W, S, T, 1])
    p = small_params(W, S, T, rng)
    corners = [np.zeros(p.n_in, int), np.full(p.n_in, p.L)]
    acts = np.stack(corners + [activations(rng, p.n_in, p.L, s) for s in SPARSITIES])
    reach = max(1, p.n_in * p.w_max)
    runs = []
    for case, weights in enumerate(weight_cases(p, rng)):
        thetas = (spread_threshold(weights, acts[2:], p.L), int(rng.integers(1, reach + 1)), 1, 2 ** p.theta_width - 1)
        runs += [(case, weights, acts, theta) for theta in thetas]
    return p, runs


def grid_point(W, S, T):
    p, runs = grid_runs(W, S, T)
    case, weights, acts, theta = runs[0]        # random weights at the typical threshold
    require_evidence(qnn_forward(weights, acts, theta, p.L), p.L, f"W/S/T {W}/{S}/{T} random weights")
    for case, weights, acts, theta in runs:
        check_qnn(p, weights, acts, theta, seed=[W, S, T, 1, case, theta % 997], idle=0.3, backpressure=0.4)


@pytest.mark.parametrize("W, S, T", GRID_CASES)
def test_bit_exact(W, S, T):
    grid_point(W, S, T)


@pytest.mark.parametrize("lanes", [1, 2, 3, 6])
def test_cycles_match_manifest_formula(lanes):
    p = CoreParams(4, 2, 3, n_in=9, n_out=6, lanes=lanes)
    rng = np.random.default_rng(lanes)
    acts = np.concatenate([activations(rng, (3, p.n_in), p.L, s) for s in (1.0, 0.7, 0.2, 0.0)])
    ins, outs = check_qnn(p, random_weights(p, rng), acts, 4)
    expected = [p.qnn_cycles(int(n)) for n in (acts != 0).sum(axis=1)]
    assert np.diff(ins).tolist() == expected[:-1]
    assert (np.array(outs) - np.array(ins)).tolist() == expected


# The components of large layers in small cores: the event queue of large beats
# (gen.priority.LARGE_BEAT; 40 inputs are 3 chunks, read in place until the core takes the
# beat) and the accumulators in block RAM (gen.membranes.LARGE_BANK; 2 groups, and 1: the
# read port's transparency).
LARGE_LAYER_CORES = [pytest.param(HeldChunkQNN, CoreParams(4, 2, 3, n_in=40, n_out=6, lanes=2), 40, id="held-chunk"),
                     *(pytest.param(BlockRamQNN, CoreParams(4, 2, 3, n_in=7, n_out=6, lanes=lanes), lanes,
                                    id=f"block-ram-{lanes}") for lanes in (3, 6))]


@pytest.mark.parametrize("core, p, seed", LARGE_LAYER_CORES)
def test_large_layer_components_bit_exact_and_on_time(core, p, seed):
    """Idle gaps and backpressure, then the cycle formula from each beat's start
    (`core_check.beat_starts`)."""
    rng = np.random.default_rng(seed)
    acts = np.stack([np.zeros(p.n_in, int), np.full(p.n_in, p.L)] + [activations(rng, p.n_in, p.L, s) for s in SPARSITIES])
    weights = random_weights(p, rng)
    theta = spread_threshold(weights, acts[2:], p.L)
    require_evidence(qnn_forward(weights, acts, theta, p.L), p.L, core.__name__)
    check_qnn(p, weights, acts, theta, core=core, seed=seed, idle=0.3, backpressure=0.4)
    starts, outs = check_qnn(p, weights, acts, theta, core=core)
    assert (np.array(outs) - np.array(starts)).tolist() == [p.qnn_cycles(int(n)) for n in (acts != 0).sum(axis=1)]


def test_threshold_zero_completes_every_handshake():
    p = CoreParams(4, 2, 3, n_in=5, n_out=3)
    rng = np.random.default_rng(2)
    acts = activations(rng, (6, p.n_in), p.L, 0.3)
    got, _, _ = run_stream(QNNCore(p, random_weights(p, rng)), QNN.encode(acts, p.S, p.T), 0,
                           idle=0.3, backpressure=0.3)
    assert len(got) == 6
