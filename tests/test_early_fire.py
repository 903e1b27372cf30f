"""Early fire (`CoreParams.early_fire`): a group with no membrane at threshold ends its FIRE
after one step. Every output bit against the twin, and every beat's cycles against the
formula with the groups that fired, counted from the twin's membranes (not the core's)."""

import numpy as np
import pytest
from amaranth.hdl import Cat

from gen import QNNCore, SNNCore
from gen.fire import FireUnit
from sim.evidence import require_evidence, spread_threshold
from sim.params import CoreParams
from sim.stimulus import activations, firing_weights, spike_train
from sim.twin import exact_matmul, qnn_forward, snn_forward
from core_check import BlockRamQNN, BlockRamSNN, HeldChunkQNN, HeldChunkSNN, check_qnn, check_snn


def snn_stimulus(p, rng):
    """All zero, all max, level 1 everywhere, then random inferences at low to full spike
    rates (the low ones leave groups below threshold, the high ones fire them)."""
    rates = [spike_train(rng, (2, p.T, p.n_in), p.S, r) for r in (0.05, 0.1, 0.3, 0.6, 1.0)]
    return np.concatenate([np.full((1, p.T, p.n_in), level) for level in (0, p.K, 1)] + rates)


def qnn_stimulus(p, rng):
    """All max, 1 everywhere, then random activations from all zero to none zero."""
    sparsities = (1.0, 0.95, 0.9, 0.7, 0.5, 0.2, 0.0)
    corners = [np.full(p.n_in, p.L), np.ones(p.n_in, int)]
    return np.stack(corners + [activations(rng, p.n_in, p.L, s) for s in sparsities])


def snn_expected_cycles(p, weights, spikes, theta):
    _, membranes = snn_forward(weights, spikes, theta, p.S, return_membranes=True)
    fired = p.fired_groups(membranes, theta).ravel()
    set_bits = np.bitwise_count(np.asarray(spikes).reshape(-1, p.n_in)).sum(axis=1)
    return [p.snn_cycles(int(e), fired=int(f)) for e, f in zip(set_bits, fired)], fired


def qnn_expected_cycles(p, weights, acts, theta):
    fired = p.fired_groups(exact_matmul(acts, weights), theta)
    return [p.qnn_cycles(int(n), fired=int(f)) for n, f in zip((acts != 0).sum(axis=1), fired)], fired


# per kind: stimulus, expected cycles, the twin's levels, the check, the largest level
KINDS = {"snn": (snn_stimulus, snn_expected_cycles, lambda p, w, x, th: snn_forward(w, x, th, p.S), check_snn,
                 lambda p: p.K),
         "qnn": (qnn_stimulus, qnn_expected_cycles, lambda p, w, x, th: qnn_forward(w, x, th, p.L), check_qnn,
                 lambda p: p.L)}

# one group and several; W = 1; the event queue that holds its beat; membranes in block RAM
CASES = [("snn", SNNCore, CoreParams(4, 3, 3, n_in=9, n_out=6, lanes=6, early_fire=True)),
         ("snn", SNNCore, CoreParams(4, 3, 3, n_in=9, n_out=6, lanes=2, early_fire=True)),
         ("snn", SNNCore, CoreParams(1, 2, 2, n_in=7, n_out=4, lanes=1, early_fire=True)),
         ("snn", HeldChunkSNN, CoreParams(4, 3, 2, n_in=24, n_out=6, lanes=3, early_fire=True)),
         ("snn", BlockRamSNN, CoreParams(4, 3, 2, n_in=9, n_out=8, lanes=2, early_fire=True)),
         ("qnn", QNNCore, CoreParams(4, 2, 3, n_in=9, n_out=6, lanes=1, early_fire=True)),
         ("qnn", QNNCore, CoreParams(8, 2, 2, n_in=6, n_out=4, lanes=2, early_fire=True)),
         ("qnn", HeldChunkQNN, CoreParams(4, 2, 3, n_in=40, n_out=6, lanes=2, early_fire=True)),
         ("qnn", BlockRamQNN, CoreParams(4, 2, 3, n_in=7, n_out=6, lanes=3, early_fire=True))]


def check_case(kind, core, p, seed, weights=None, theta=None):
    """Bit-exact under idle gaps and backpressure, then on time with the output ready;
    returns the twin's fired-group counts."""
    stimulus, expected_cycles, _, check, top = KINDS[kind]
    rng = np.random.default_rng(seed)
    inputs = stimulus(p, rng)
    weights = firing_weights(p, rng) if weights is None else weights
    theta = spread_threshold(weights, inputs.reshape(-1, p.n_in), top(p)) if theta is None else theta
    expected, fired = expected_cycles(p, weights, inputs, theta)
    check(p, weights, inputs, theta, core=core, seed=seed, idle=0.3, backpressure=0.4)
    starts, outs = check(p, weights, inputs, theta, core=core)
    assert (np.array(outs) - np.array(starts)).tolist() == expected
    return inputs, weights, theta, fired


@pytest.mark.parametrize("kind, core, p", CASES, ids=lambda c: getattr(c, "__name__", None))
def test_bit_exact_and_on_time(kind, core, p):
    _, _, levels, _, top = KINDS[kind]
    inputs, weights, theta, fired = check_case(kind, core, p, seed=p.n_in * p.lanes)
    require_evidence(levels(p, weights, inputs, theta), top(p), core.__name__)
    # the evidence that both branches ran: firings that stopped early and ones that did not
    assert (fired < p.groups).any() and (fired > 0).any(), f"fired groups per beat {fired.tolist()}"


@pytest.mark.parametrize("kind, core, p", CASES[1:2] + CASES[5:6], ids=("snn", "qnn"))
def test_extreme_thresholds_and_weights(kind, core, p):
    """theta = 1 (every group with a positive membrane fires), the largest (none fires: every
    firing stops early), and every weight at its most negative (membranes below zero)."""
    check_case(kind, core, p, seed=1, theta=1)
    check_case(kind, core, p, seed=2, theta=2 ** p.theta_width - 1)
    check_case(kind, core, p, seed=3, weights=np.full((p.n_out, p.n_in), p.w_min))


class AtThresholdIsBelow(FireUnit):
    """Mutant: a membrane exactly at the threshold counted as below it."""

    def below(self, acc, neg_theta):
        return Cat(acc[l] + neg_theta <= 0 for l in range(self.params.lanes))


class LaneZeroUnseen(FireUnit):
    """Mutant: lane 0's membrane left out of the test."""

    def below(self, acc, neg_theta):
        return super().below(acc, neg_theta) | 1


class LevelsNotCleared(FireUnit):
    """Mutant: the first step shifts up the last firing's bits, so a firing that stops there
    keeps them."""

    def earlier_bits(self, field):
        return field


def mutant(kind, unit):
    base = SNNCore if kind == "snn" else QNNCore
    return type(f"{unit.__name__}{kind.upper()}", (base,), {"fire_unit": unit})


@pytest.mark.parametrize("unit", [AtThresholdIsBelow, LaneZeroUnseen, LevelsNotCleared])
@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_mutants_fail(kind, unit):
    p = CoreParams(4, 2, 2, n_in=6, n_out=4, lanes=2, early_fire=True)
    if unit is AtThresholdIsBelow:      # a membrane exactly at theta, alone in its group
        weights = np.zeros((p.n_out, p.n_in), int)
        weights[0, 0] = 3
        check_case(kind, SNNCore if kind == "snn" else QNNCore, p, seed=4, weights=weights, theta=3)
        with pytest.raises(AssertionError):
            check_case(kind, mutant(kind, unit), p, seed=4, weights=weights, theta=3)
    else:
        with pytest.raises(AssertionError):
            check_case(kind, mutant(kind, unit), p, seed=5)
