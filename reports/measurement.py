"""One core at one spike rate, measured on gates: seeded stimulus, a threshold that makes
neurons fire, the twin's expected beats, the gate-level run checked against them, and the
toggles it made; as cached jobs run in parallel (`reports.power`, `budget`, `twin`)."""

import functools
import math
import os

import numpy as np

from gen.build import default_name, make_cores
from gen.weights import make_weights
from sim.beats import KINDS, timeout_cycles
from sim.params import CoreParams
from sim.stimulus import spike_train

from .activity import parse_saif, toggle_counts
from .flow import TARGETS
from .gatelevel import CACHE, gate_netlist, run_checked
from .jobs import run_jobs
from .pricing import load_coefficients, price

MEASURE_SOURCES = ["gen/*.py", "gen/testbench/*.py", "sim/params.py", "sim/stimulus.py", "sim/twin.py", "sim/beats.py",
                   "reports/flow.py", "reports/activity.py", "reports/cell_models.py", "reports/gatelevel.py",
                   "reports/measurement.py"]


def stimulus(params, rate, inferences, seed):
    """Spike trains (inferences, T, n_in) at `rate`, seeded by (seed, rate)."""
    return spike_train(np.random.default_rng([seed, round(rate * 1e6)]), (inferences, params.T, params.n_in),
                       params.S, rate)


def default_threshold(params, weights, rate):
    """About one standard deviation of a neuron's one-step drive at `rate` (levels uniform
    in 1..K, so E[level^2] = rate (K+1)(2K+1)/6): a neuron whose drive is positive fires
    every step or two, at low rates as at high ones."""
    level_sq = rate * (params.K + 1) * (2 * params.K + 1) / 6
    return max(1, round(math.sqrt(params.n_in * float(np.mean(np.square(weights, dtype=np.float64))) * level_sq)))


def twin_case(kind, params, weights, spikes, theta):
    """Beats and the twin's expected output beats for the activity testbench."""
    k = KINDS[kind]
    inputs = k.inputs(spikes)
    return (k.encode(inputs, params.S, params.T), k.expected(weights, inputs, theta, params.S, params.T),
            int(np.count_nonzero(inputs)), k.in_port, k.out_port)


def measure(kind, params, weights, target_name, rate, *, inferences=8, seed=0, theta=None, cache=CACHE):
    """Build and simulate one core at one spike rate; returns its activity record (priced
    by `price`). Raises FlowError on a gate-level mismatch with the twin."""
    target = TARGETS[target_name]
    theta = default_threshold(params, weights, rate) if theta is None else theta
    (module, core), = make_cores(params, weights, kind, default_name(params)).values()
    netlist, gl = gate_netlist(core, module, target, cache)
    spikes = stimulus(params, rate, inferences, seed)
    beats, expected, events, src, snk = twin_case(kind, params, weights, spikes, theta)
    field_mask = (1 << params.n_out * KINDS[kind].bits(params.S, params.T)) - 1     # not `last`
    report, saif = run_checked(gl, module, target.family, beats, expected, (src, snk), theta,
                               timeout_cycles(len(beats), KINDS[kind].beat_cycles(params)), cache)
    counts = toggle_counts(netlist, module, parse_saif(saif))
    return {
        "kind": kind, "module": module, "target": target_name, "params": params.as_dict(), "BB": params.BB,
        "spike_rate": rate, "threshold": int(theta), "inferences": inferences, "seed": seed,
        "beats_checked": len(expected), "active_beats": sum(1 for e in expected if int(e) & field_mask),
        "events": events, "events_per_inference": events / inferences,
        "cycles_per_inference": counts["clock_cycles"] / inferences, "counts": counts,
    }


def measure_job(job, cache=CACHE):
    """`measure` for a JSON-able job (kind, W, S, T, n_in, n_out, lanes, target, rate,
    inferences, seed): the activity record, unpriced."""
    p = CoreParams(job["W"], job["S"], job["T"], job["n_in"], job["n_out"], job["lanes"])
    weights, _ = make_weights(p, None, job["seed"])
    return measure(job["kind"], p, weights, job["target"], job["rate"], inferences=job["inferences"],
                   seed=job["seed"], cache=cache)


def priced(job, record):
    return price(record, load_coefficients(TARGETS[job["target"]].family, job["coefficients"]))


def measure_all(jobs, executor, cache=CACHE):
    """Measure `jobs` (as `measure_job`, plus `coefficients`: a file or None) on `executor`,
    cached unpriced under <cache>/energy/ (new coefficients need no new simulation), a
    progress line each; priced results in job order."""
    records = run_jobs(functools.partial(measure_job, cache=cache), jobs, executor, os.path.join(cache, "energy"),
                       MEASURE_SOURCES, lambda j, r: (f"{j['kind']} W={j['W']} S={j['S']} T={j['T']} rate {j['rate']:g}: "
                                                      f"{priced(j, r)['pj_per_inference']:.1f} pJ/inference"),
                       ignore=("coefficients",))
    return [priced(j, r) for j, r in zip(jobs, records)]


def jobs_for(points, args, kinds=("snn", "qnn")):
    """Jobs for (W, S, T, rate) points from the shared command-line options."""
    for W, S, T, _ in points:
        CoreParams(W, S, T, args.n_in, args.n_out, args.lanes)
    return [dict(kind=k, W=W, S=S, T=T, rate=r, n_in=args.n_in, n_out=args.n_out, lanes=args.lanes,
                 target=args.target, inferences=args.inferences, seed=args.seed, coefficients=args.coefficients)
            for W, S, T, r in points for k in kinds]
