"""`python -m reports.power --W 8 --S 2 --T 2 --spike-rate 0.1`: measured energy of an SNN
core and its QNN twin, from toggles in a gate-level simulation of the synthesized netlist.

Both cores get the same inputs: seeded S-bit spike trains at the spike rate for the SNN,
and the same trains' spike counts (0..L) as the QNN's activations, so the QNN sees the
activation sparsity that the SNN's rate implies. The gate-level outputs are compared
beat by beat with the twin (a mismatch is an error, not a report).

energy = sum over resource classes of toggles x pJ per toggle
       + enabled block-RAM read cycles x pJ per read + clock cycles x pJ per cycle,
with coefficients from `reports/coefficients/<family>.json` (or `--coefficients FILE`),
each with its source. Reported per inference, per synapse (n_in x n_out) and per
synaptic event (non-zero input x n_out), by resource class and by block.
Writes JSON and Markdown to reports/out/power/<name>/.
"""

import fcntl
import functools
import hashlib
import json
import math
import os
import sys

import numpy as np
from amaranth.back import verilog

from gen.core import default_name, make_cores
from gen.weights import make_weights
from sim.cli import UsageParser
from sim.params import CoreParams, ParamError
from sim.beats import KINDS, timeout_cycles
from sim.stimulus import spike_train

from .activity import BLOCKS, gate_verilog, module_of, parse_saif, simulate, toggle_counts
from .cell_models import unsupported
from .flow import TARGETS, FlowError, synthesize
from .parallel import run_parallel

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join("reports", "out", "cache")    # netlists, gate-level builds, measurements


def load_coefficients(family, path=None):
    path = path or os.path.join(HERE, "coefficients", f"{family}.json")
    try:
        with open(path) as f:
            data = json.load(f)
        per_toggle = {k: float(v["value"]) for k, v in data["per_toggle"].items()}
        clock, bram = float(data["clock_per_cycle"]["value"]), float(data["bram_per_read"]["value"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ParamError(f"--coefficients {path}: not a coefficient file ({e!r}); see reports/coefficients/ice40.json")
    if min([clock, bram, *per_toggle.values()]) < 0:
        raise ParamError(f"--coefficients {path}: a coefficient is negative")
    return {"per_toggle": per_toggle, "clock": clock, "bram": bram, "path": os.path.relpath(path)}


def gate_netlist(design, module, target, cache=CACHE):
    """Synthesize a core or chain (cached by its Verilog); returns (netlist dict, .gl.v path)."""
    text = verilog.convert(design, name=module)
    key = hashlib.sha256(f"{target.name}\n{text}".encode()).hexdigest()[:16]
    workdir = os.path.join(cache, "netlists", f"{module}-{key}")
    netlist = f"{module}.{target.family}.json"
    gl = os.path.join(workdir, netlist.replace(".json", ".gl.v"))
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "lock"), "w") as lock:      # parallel points may share a core
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(gl):
            with open(os.path.join(workdir, f"{module}.v"), "w") as f:
                f.write(text)
            synthesize(os.path.join(workdir, f"{module}.v"), module, target, workdir)
            gate_verilog(netlist, workdir)
    with open(os.path.join(workdir, netlist)) as f:
        data = json.load(f)
    why = unsupported(module_of(data, module))
    if why:
        raise FlowError(f"no gate-level simulation of {module} on {target.family}: {why}")
    return data, gl


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


def energy(counts, coeffs):
    """pJ by resource class (plus clock and BRAM reads) and by block, for one run."""
    cycles = counts["clock_cycles"]
    per_toggle = lambda cls: coeffs["per_toggle"].get(cls, coeffs["per_toggle"].get("other", 0.0))
    by_class = {cls: t * per_toggle(cls) for cls, t in counts["toggles"].items() if cls != "bram"}
    by_class["bram reads"] = counts["bram_read_fraction"] * cycles * coeffs["bram"]
    by_class["clock"] = cycles * coeffs["clock"]
    by_block = {b: 0.0 for b in BLOCKS}
    for key, t in counts["by_block"].items():
        block, cls = key.split("|")
        if cls != "bram":
            by_block[block] += t * per_toggle(cls)
    by_block["weight memory"] += by_class["bram reads"]
    by_block["clock"] = by_class["clock"]
    return by_class, by_block


def run_checked(path, module, family, beats, expected, ports, threshold, timeout_cycles, cache=CACHE):
    """Simulate Verilog (`family` None: RTL; else a gate-level netlist of that family) on
    `beats` through ports (in, out), and compare every output beat with `expected`.
    Returns (testbench report, SAIF path); raises FlowError on any difference."""
    case = {"beats": [format(int(b), "x") for b in beats], "threshold": None if threshold is None else int(threshold),
            "in": ports[0], "out": ports[1], "timeout_cycles": timeout_cycles}
    report, saif = simulate(path, module, family, case, os.path.join(cache, "gatesim"))
    got = [int(b, 16) for b in report["beats"]]
    where = f"{'gate-level' if family else 'RTL'} {module}{' (' + family + ')' if family else ''}"
    if len(got) != len(expected):
        raise FlowError(f"{where} gave {len(got)} output beats, the twin {len(expected)}")
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != int(e):
            raise FlowError(f"{where} differs from the twin at output beat {i}: got {g:#x}, twin {int(e):#x}")
    return report, saif


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


def price(record, coeffs):
    """The activity record with its energy: per inference, per synapse, per event op, by
    resource class and by block."""
    p, n = record["params"], record["inferences"]
    by_class, by_block = energy(record["counts"], coeffs)
    total = sum(by_class.values())
    per_inf = total / n
    return dict(record, coefficients=coeffs["path"], pj_per_inference=per_inf,
                pj_per_synapse=per_inf / (p["n_in"] * p["n_out"]),
                pj_per_event_op=total / (record["events"] * p["n_out"]) if record["events"] else None,
                pj_by_class={k: v / n for k, v in by_class.items()},
                pj_by_block={k: v / n for k, v in by_block.items()})


MEASURE_SOURCES = ["gen/*.py", "gen/testbench/*.py", "sim/beats.py", "reports/flow.py", "reports/activity.py"]


def point_key(job, extra_sources=()):
    """Cache key of a measurement: the job and every source that changes the toggles."""
    import glob
    digest = hashlib.sha256(json.dumps(job, sort_keys=True).encode())
    root = os.path.dirname(HERE)
    for pattern in MEASURE_SOURCES + list(extra_sources):
        for path in sorted(glob.glob(os.path.join(root, pattern))):
            with open(path, "rb") as f:
                digest.update(f.read())
    return digest.hexdigest()[:20]


def run_point(job, cache=CACHE):
    """One cached measurement; `job` is a JSON-able dict (kind, W, S, T, n_in, n_out, lanes,
    target, rate, inferences, seed, coefficients). Returns (priced result, cached?)."""
    measured = {k: v for k, v in job.items() if k != "coefficients"}
    path = os.path.join(cache, "energy", f"{point_key(measured)}.json")
    coeffs = load_coefficients(TARGETS[job["target"]].family, job["coefficients"])
    if os.path.exists(path):
        with open(path) as f:
            return price(json.load(f), coeffs), True
    p = CoreParams(job["W"], job["S"], job["T"], job["n_in"], job["n_out"], job["lanes"])
    weights, _ = make_weights(p, None, job["seed"])
    record = measure(job["kind"], p, weights, job["target"], job["rate"], inferences=job["inferences"],
                     seed=job["seed"], cache=cache)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(record, f)
    return price(record, coeffs), False


def measure_all(jobs, workers=None, cache=CACHE):
    """Measure `jobs` in parallel, a progress line each; results in job order."""
    return run_parallel(functools.partial(run_point, cache=cache), jobs, workers, lambda j, r: (
        f"{j['kind']} W={j['W']} S={j['S']} T={j['T']} rate {j['rate']:g}: {r['pj_per_inference']:.1f} pJ/inference"))


def jobs_for(points, args, kinds=("snn", "qnn")):
    """Jobs for (W, S, T, rate) points from the shared command-line options."""
    for W, S, T, _ in points:
        CoreParams(W, S, T, args.n_in, args.n_out, args.lanes)
    return [dict(kind=k, W=W, S=S, T=T, rate=r, n_in=args.n_in, n_out=args.n_out, lanes=args.lanes,
                 target=args.target, inferences=args.inferences, seed=args.seed, coefficients=args.coefficients)
            for W, S, T, r in points for k in kinds]


def table(results):
    classes = sorted({c for r in results for c in r["pj_by_class"]})
    blocks = list(BLOCKS) + ["clock"]
    head = ("| core | rate | events/inf | cycles/inf | pJ/inference | pJ/synapse | pJ/event-op | "
            + " | ".join(classes) + " | " + " | ".join(blocks) + " |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        ev = f"{r['pj_per_event_op']:.3f}" if r["pj_per_event_op"] is not None else "-"
        rows.append(f"| {r['module']} | {r['spike_rate']:g} | {r['events_per_inference']:.1f} | "
                    f"{r['cycles_per_inference']:.1f} | {r['pj_per_inference']:.1f} | {r['pj_per_synapse']:.3f} | {ev} | "
                    + " | ".join(f"{r['pj_by_class'].get(c, 0):.1f}" for c in classes) + " | "
                    + " | ".join(f"{r['pj_by_block'][b]:.1f}" for b in blocks) + " |")
    return "\n".join(rows)


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.power", description=__doc__.split("\n\n")[0])
    ap.add_argument("--W", type=int, required=True, help="weight bits")
    ap.add_argument("--S", type=int, required=True, help="spike bits")
    ap.add_argument("--T", type=int, required=True, help="timesteps")
    ap.add_argument("--spike-rate", type=float, default=0.1, help="SNN input spike rate 0..1 (default 0.1)")
    add_measure_options(ap)
    return ap.parse_args(argv)


def add_measure_options(ap, n_in=64, n_out=16):
    ap.add_argument("--n-in", type=int, default=n_in, help=f"fan-in (default {n_in})")
    ap.add_argument("--n-out", type=int, default=n_out, help=f"neurons (default {n_out})")
    ap.add_argument("--lanes", type=int, default=None, help="neurons updated per cycle (default n_out)")
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k", help="device (default ice40-up5k)")
    ap.add_argument("--inferences", type=int, default=8, help="inferences simulated per point (default 8)")
    ap.add_argument("--seed", type=int, default=0, help="weights and stimulus seed (default 0)")
    ap.add_argument("--coefficients", metavar="FILE.json", help="energy coefficients (default: the target family's file)")
    ap.add_argument("--out", default=os.path.join("reports", "out"), help="output folder (default reports/out)")


def add_sweep_options(ap):
    """`budget` and `twin`: 32x8 cores, 4 inferences per point, points in parallel."""
    ap.add_argument("--workers", type=int, default=None, help="parallel points (default: CPUs)")
    add_measure_options(ap, n_in=32, n_out=8)
    ap.set_defaults(inferences=4)


def check_rate(rate, option="--spike-rate"):
    if not 0.0 <= rate <= 1.0:
        raise ParamError(f"{option} {rate} is out of range: legal is 0..1")
    return rate


def main(argv=None):
    args = parse_args(argv)
    try:
        check_rate(args.spike_rate)
        if args.inferences < 1:
            raise ParamError(f"--inferences {args.inferences} is out of range: legal is >= 1")
        params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
        coeffs = load_coefficients(TARGETS[args.target].family, args.coefficients)
        weights, _ = make_weights(params, None, args.seed)
        results = []
        for kind in ("snn", "qnn"):
            print(f"[{kind}] synthesizing and simulating {default_name(params)} on {args.target} ...",
                  file=sys.stderr, flush=True)
            results.append(price(measure(kind, params, weights, args.target, args.spike_rate,
                                         inferences=args.inferences, seed=args.seed,
                                         cache=os.path.join(args.out, "cache")), coeffs))
    except (ParamError, FlowError) as e:
        print(f"python -m reports.power: error: {e}", file=sys.stderr)
        return 2
    folder = os.path.join(args.out, "power", default_name(params))
    os.makedirs(folder, exist_ok=True)
    stem = os.path.join(folder, f"{args.target}-rate{args.spike_rate:g}")
    with open(stem + ".json", "w") as f:
        json.dump(results, f, indent=1)
    text = table(results)
    ratio = results[0]["pj_per_inference"] / results[1]["pj_per_inference"]
    with open(stem + ".md", "w") as f:
        f.write(f"# Measured energy, {default_name(params)} on {args.target}, spike rate {args.spike_rate:g}\n\n"
                f"Coefficients: {coeffs['path']}. Gate-level outputs matched the twin on every beat.\n\n"
                f"{text}\n\nSNN / QNN energy per inference: {ratio:.3f}\n")
    print(text)
    print(f"SNN / QNN energy per inference: {ratio:.3f}")
    print(f"written: {stem}.json / .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
