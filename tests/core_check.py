"""Run a generated core on stimulus in the Amaranth simulator and compare every output
bit with the software twin."""

import itertools

import numpy as np
import pytest

from gen import QNNCore, SNNCore
from gen.membranes import BlockRamMembraneBank
from gen.priority import HeldChunkQueue
from sim.beats import QNN, SNN
from sim.params import CoreParams
from sim.stimulus import firing_weights
from gen.simulate import run_stream


class HeldChunkSNN(SNNCore):
    """An SNN core with the event queue of beats over `gen.priority.LARGE_BEAT` slots, which
    reads the beat in place (`HeldChunkQueue`), small enough to simulate."""
    event_queue = HeldChunkQueue


class HeldChunkQNN(QNNCore):
    """A QNN core with the event queue of beats over `gen.priority.LARGE_BEAT` slots."""
    event_queue = HeldChunkQueue


class BlockRamSNN(SNNCore):
    """An SNN core with the membranes of large layers (`gen.membranes.LARGE_BANK`) in block RAM."""
    membrane_bank = BlockRamMembraneBank


class BlockRamQNN(QNNCore):
    """A QNN core with the accumulators of large layers in block RAM."""
    membrane_bank = BlockRamMembraneBank


def check_snn(params, weights, spikes, theta, core=SNNCore, **stream_opts):
    """spikes (inferences, T, n_in). Asserts bit-exactness; returns (beat starts, out_cycles)."""
    p = params
    expected = SNN.expected(weights, spikes, theta, p.S, p.T)
    dut = core(p, weights)
    got, ins, outs = run_stream(dut, SNN.encode(spikes, p.S, p.T), theta, **stream_opts)
    assert_beats_equal(got, expected, p.n_out * p.S + 1)
    set_bits = np.vectorize(lambda x: bin(int(x)).count("1"))(np.asarray(spikes).reshape(-1, p.n_in)).sum(axis=1)
    return beat_starts(dut, ins, set_bits), outs


def check_qnn(params, weights, acts, theta, core=QNNCore, **stream_opts):
    """acts (inferences, n_in). Asserts bit-exactness; returns (beat starts, out_cycles)."""
    p = params
    expected = QNN.expected(weights, acts, theta, p.S, p.T)
    dut = core(p, weights)
    got, ins, outs = run_stream(dut, QNN.encode(acts, p.S, p.T), theta, **stream_opts)
    assert_beats_equal(got, expected, p.n_out * p.B)
    return beat_starts(dut, ins, (np.asarray(acts) != 0).sum(axis=1)), outs


def beat_starts(core, in_cycles, events):
    """The cycle each beat started, which the cycle formulas count from: its input handshake,
    or for a core that holds its beat (gen.engine) the first cycle it saw the beat valid, by
    the engine's schedule 2 + groups*events cycles before it takes it as stage 0 runs dry."""
    if not core.holds_beat:
        return in_cycles
    return [c - 2 - core.params.groups * int(e) for c, e in zip(in_cycles, events)]


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
