"""`python -m reports.sweep`: what the split of a fixed bit budget costs in area and speed.

For each bit budget BB = W*S*T (default 32, 64, 128 at W = 8: every S/T split with
S <= 8) and a W sweep at fixed S*T, it builds the SNN core and its QNN twin
(`reports.implementation.build`), measures cycles per inference in the Amaranth simulator at
5 % and 20 % spike rates (the QNN gets the same inputs as spike counts), and reports
inferences/s = Fmax / cycles and synapses evaluated per second.

Builds run in parallel through one `concurrent.futures` executor: a local process pool
by default, or a Dask cluster with `--dask ADDRESS`. Each result is cached under
`<out>/cache/` by a hash of the job and the generator and flow sources (`reports.jobs`),
so a rerun only builds what changed. Writes sweep.json, sweep.md and PNG plots to `<out>`.
"""

import functools
import json
import os
import sys

import numpy as np

from gen.build import make_cores
from gen.simulate import run_stream
from gen.weights import make_weights
from sim.beats import KINDS
from sim.cli import UsageParser, add_core_options, command
from sim.params import CoreParams, ParamError
from sim.files import write_files
from sim.stimulus import spike_train
from sim.validate import check_out_dir

from .cli import add_build_options, add_executor_options, check_clock
from .figure import figure
from .flow import FlowError
from .implementation import build
from .jobs import executor, run_jobs

RATES = (0.05, 0.2)
SOURCES = ["gen/*.py", "reports/*.py"]      # what a build's result depends on


def allocations(budgets, w_sweep, W=8, ST=4):
    """(W, S, T) points: every S*T split of each budget at weight bits W, then W over w_sweep."""
    points = []
    for bb in budgets:
        if bb % W:
            raise ParamError("bb", bb, text="{name} {value} is not a multiple of W={w}", w=W)
        st = bb // W
        points += [(W, S, st // S) for S in range(1, 9) if st % S == 0 and st // S <= 64]
    points += [(w, 2, ST // 2) for w in w_sweep if (w, 2, ST // 2) not in points]
    return points


def measured_cycles(kind, params, weights, rate, seed=0, inferences=3):
    """Mean cycles per inference in simulation, first input to last output handshake
    (= the cycles between the starts of back-to-back inferences)."""
    spikes = spike_train(np.random.default_rng([seed, int(rate * 1000)]), (inferences, params.T, params.n_in),
                         params.S, rate)
    core = make_cores(params, weights, kind, "core")[kind][1]
    k = KINDS[kind]
    beats = k.encode(k.inputs(spikes), params.S, params.T)
    per = len(beats) // inferences             # beats per inference: T for the SNN, 1 for the QNN
    _, ins, outs = run_stream(core, beats, threshold=max(1, params.n_in * params.w_max // 4))
    first, last = np.array(ins).reshape(-1, per)[:, 0], np.array(outs).reshape(-1, per)[:, -1]
    return float(np.mean(last - first))


def run_job(job, build_root):
    """One sweep point: build + simulate; returns its result. Runs in a worker."""
    p = CoreParams(job["W"], job["S"], job["T"], job["n_in"], job["n_out"], job["lanes"])
    try:
        result = build(job["kind"], p, job["target"], job["freq"], job["seed"],
                       os.path.join(build_root, f"{job['kind']}_w{p.W}s{p.S}t{p.T}"))
    except FlowError as e:      # a point that does not fit is a result, not a crash
        result = {"kind": job["kind"], "params": p.as_dict(), "BB": p.BB, "error": str(e), "fmax_mhz": None}
    weights, _ = make_weights(p, None, job["seed"])
    result["cycles"] = {str(r): measured_cycles(job["kind"], p, weights, r, job["seed"]) for r in RATES}
    if result["fmax_mhz"]:
        result["inferences_per_s"] = {r: result["fmax_mhz"] * 1e6 / c for r, c in result["cycles"].items()}
        result["synapses_per_s"] = {r: v * p.n_in * p.n_out for r, v in result["inferences_per_s"].items()}
    return result


def describe(job, result):
    p = result["params"]
    status = result.get("error") or f"Fmax {result['fmax_mhz']} MHz, cycles {result['cycles']}"
    return f"{result['kind']} W={p['W']} S={p['S']} T={p['T']}: {status}"


def sweep(jobs, out, executor):
    """Every job's result (cached under <out>/cache/), by BB, W, S and kind."""
    results = run_jobs(functools.partial(run_job, build_root=os.path.join(out, "builds")), jobs, executor,
                       os.path.join(out, "cache"), SOURCES, describe)
    key = lambda r: (r["BB"], r["params"]["W"], r["params"]["S"], r["kind"])
    return sorted(results, key=key)


def markdown(results, rates=RATES):
    head = ("| kind | W | S | T | BB | LUT4 | FF | carry | BRAM | Fmax MHz | "
            + " | ".join(f"cycles @{r:.0%} | inf/s @{r:.0%} | synapses/s @{r:.0%}" for r in rates) + " |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        p, core = r["params"], r.get("core", {})
        cells = " | ".join(str(core.get(k, "-")) for k in ("lut4", "ff", "carry", "bram"))
        perf = " | ".join(f"{r['cycles'][str(x)]:.0f} | {r.get('inferences_per_s', {}).get(str(x), 0):.3g} | "
                          f"{r.get('synapses_per_s', {}).get(str(x), 0):.3g}" for x in rates)
        rows.append(f"| {r['kind']} | {p['W']} | {p['S']} | {p['T']} | {r['BB']} | {cells} | "
                    f"{r['fmax_mhz'] or r.get('error', '-')} | {perf} |")
    return "\n".join(rows)


def spread(results, rate="0.2"):
    """At each budget with W=8, the spread (max/min - 1) of inferences/s across S/T splits."""
    out = {}
    for kind in ("snn", "qnn"):
        for bb in sorted({r["BB"] for r in results}):
            v = [r["inferences_per_s"][rate] for r in results if r["kind"] == kind and r["BB"] == bb
                 and r["params"]["W"] == 8 and "inferences_per_s" in r]
            if len(v) > 1:
                out[f"{kind} BB={bb}"] = round(max(v) / min(v) - 1, 4)
    return out


def plot(results, files):
    with figure(files, "sweep.png", size=(12, 4.5), ncols=2) as (a, b):
        for kind, marker in (("snn", "o"), ("qnn", "s")):
            rs = [r for r in results if r["kind"] == kind and "core" in r]
            a.scatter([r["BB"] for r in rs], [r["core"]["lut4"] for r in rs], marker=marker, label=kind.upper())
            labels = [f"{r['params']['W']}/{r['params']['S']}/{r['params']['T']}" for r in results
                      if r["kind"] == kind and "inferences_per_s" in r]
            values = [r["inferences_per_s"]["0.2"] for r in results if r["kind"] == kind and "inferences_per_s" in r]
            b.plot(labels, values, marker=marker, label=kind.upper())
        a.set(xlabel="bit budget BB = W*S*T", ylabel="LUT4 (core alone)", xscale="log", title="resources vs BB")
        b.set(xlabel="allocation W/S/T", ylabel="inferences/s at 20 % spike rate", yscale="log",
              title="speed vs allocation")
        b.tick_params(axis="x", rotation=60)


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.sweep", description=__doc__.split("\n\n")[0])
    ap.add_argument("--bb", type=int, nargs="+", default=[32, 64, 128], help="bit budgets at W=8 (default 32 64 128)")
    ap.add_argument("--w-sweep", type=int, nargs="*", default=[1, 2, 4, 8, 16], help="W values at S=2, T=2")
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both")
    add_executor_options(ap, "builds")
    add_core_options(ap, bits=False)
    add_build_options(ap)
    ap.set_defaults(out=os.path.join("reports", "out", "sweep"))
    return ap.parse_args(argv)


@command("python -m reports.sweep")
def main(argv=None):
    args = parse_args(argv)
    points = allocations(args.bb, args.w_sweep)
    for W, S, T in points:
        CoreParams(W, S, T, args.n_in, args.n_out, args.lanes)
    check_clock(args.freq)
    check_out_dir("out", args.out)
    kinds = ("snn", "qnn") if args.kind == "both" else (args.kind,)
    jobs = [dict(kind=k, W=W, S=S, T=T, n_in=args.n_in, n_out=args.n_out, lanes=args.lanes,
                 target=args.target, freq=args.freq, seed=args.seed) for W, S, T in points for k in kinds]
    with executor(args.dask, args.workers) as pool:
        print(f"{len(jobs)} builds on {args.target}{' via Dask ' + args.dask if args.dask else ''}", file=sys.stderr)
        results = sweep(jobs, args.out, pool)
    summary = {"target": args.target, "n_in": args.n_in, "n_out": args.n_out, "rates": RATES,
               "spread_of_inferences_per_s_at_equal_BB": spread(results), "results": results}
    table = markdown(results)
    files = {"sweep.json": json.dumps(summary, indent=1),
             "sweep.md": f"# Bit-budget allocation sweep on {args.target}\n\n{table}\n\n"
                         f"Spread of inferences/s across S/T splits at equal BB (20 % rate): "
                         f"{summary['spread_of_inferences_per_s_at_equal_BB']}\n"}
    plot(results, files)
    write_files("out", args.out, files)
    print(table)
    print("spread at equal BB:", summary["spread_of_inferences_per_s_at_equal_BB"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
