"""Run a generated core on stimulus in the Amaranth simulator and compare every output
bit with the software twin."""

import itertools

import numpy as np
import pytest

from gen import QNNCore, SNNCore
from gen.priority import ActiveChunkQueue
from sim.beats import QNN, SNN
from sim.params import CoreParams
from sim.stimulus import firing_weights
from gen.simulate import run_stream


class ActiveChunkSNN(SNNCore):
    """An SNN core with the event queue of beats over `gen.priority.LARGE_BEAT` slots, small
    enough to simulate."""
    event_queue = ActiveChunkQueue


class ActiveChunkQNN(QNNCore):
    """A QNN core with the event queue of beats over `gen.priority.LARGE_BEAT` slots."""
    event_queue = ActiveChunkQueue


def check_snn(params, weights, spikes, theta, core=SNNCore, **stream_opts):
    """spikes (inferences, T, n_in). Asserts bit-exactness; returns (in_cycles, out_cycles)."""
    p = params
    expected = SNN.expected(weights, spikes, theta, p.S, p.T)
    got, ins, outs = run_stream(core(p, weights), SNN.encode(spikes, p.S, p.T), theta, **stream_opts)
    assert_beats_equal(got, expected, p.n_out * p.S + 1)
    return ins, outs


def check_qnn(params, weights, acts, theta, core=QNNCore, **stream_opts):
    """acts (inferences, n_in). Asserts bit-exactness; returns (in_cycles, out_cycles)."""
    p = params
    expected = QNN.expected(weights, acts, theta, p.S, p.T)
    got, ins, outs = run_stream(core(p, weights), QNN.encode(acts, p.S, p.T), theta, **stream_opts)
    assert_beats_equal(got, expected, p.n_out * p.B)
    return ins, outs


def assert_beats_equal(got, expected, width):
    assert len(got) == len(expected), f"{len(got)} beats out, {len(expected)} expected"
    for i, (g, e) in enumerate(zip(got, expected)):
        assert g == e, f"beat {i}: got {g:0{width}b}, twin {int(e):0{width}b}"


GRID = list(itertools.product([1, 2, 4, 8, 16], [1, 2, 4], [1, 2, 4, 8]))
# A covering subset for quick runs: every W, S and T value at least once.
QUICK = [(1, 1, 4), (2, 4, 1), (4, 2, 8), (8, 2, 2), (16, 4, 2), (8, 1, 1), (16, 1, 8), (2, 2, 4)]
# The whole grid; points outside QUICK are marked slow (`-m "not slow"` skips them; CI runs all).
GRID_CASES = [pytest.param(*g, marks=() if g in QUICK else pytest.mark.slow) for g in GRID]


def weight_cases(p, rng):
    """Random weights (at least half the neurons able to fire), then every weight at the
    most negative, then at the largest value."""
    return [firing_weights(p, rng), np.full((p.n_out, p.n_in), p.w_min), np.full((p.n_out, p.n_in), p.w_max)]


def small_params(W, S, T, rng):
    n_in, n_out = int(rng.integers(1, 8)), int(rng.integers(1, 5))
    divisors = [d for d in range(1, n_out + 1) if n_out % d == 0]
    return CoreParams(W, S, T, n_in, n_out, int(rng.choice(divisors)))
