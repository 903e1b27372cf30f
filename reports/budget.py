"""`python -m reports.budget`: measured energy per synaptic operation against the bit
budget BB = W*S*T, over a grid of allocations (default W in {1,2,4,8}, S in {1,2,4},
T in {1,2,4,8}), for the SNN core and its QNN twin, with a least-squares line and R^2
(the second paper's Fig. 3, measured on gates), and the power law in W, S and T that says
which factor of the budget the energy follows (`factor_fit`).

Each point is `reports.power.measure` (synthesis, gate-level simulation checked against
the twin, toggles x coefficients), cached under reports/out/cache/energy/. Energy per
synaptic op is pJ per inference / (n_in x n_out). Writes budget.json, budget.md and
budget.png to reports/out/budget/<target>/.
"""

import json
import os
import sys

import numpy as np

from sim.cli import UsageParser, add_core_options, command

from .cli import add_sweep_options, check_rate
from sim.files import write_files

from .figure import figure
from .jobs import executor
from .measurement import jobs_for, measure_all


def r_squared(y, predicted):
    """1 - residual sum of squares / total sum of squares (1 when y does not vary)."""
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - predicted) ** 2).sum()) / total if total else 1.0


def fit(x, y):
    """Least-squares line y = slope*x + intercept and its R^2."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    slope, intercept = np.polyfit(x, y, 1)
    return {"slope": float(slope), "intercept": float(intercept), "r2": r_squared(y, slope * x + intercept),
            "points": len(x)}


def factor_fit(results):
    """Least squares of log2(pJ per synaptic op) on log2 of each of W, S, T that varies: the
    exponents of pJ = scale * W^a * S^b * T^c and R^2 of the logs. Energy proportional to
    BB gives 1 for each; the exponents say which factor of the budget the energy follows.
    None when there are no more points than terms, or an energy is not positive (a
    coefficients file of zeros): it has no logarithm."""
    factors = [k for k in "WST" if len({r["params"][k] for r in results}) > 1]
    if len(results) <= len(factors) + 1 or any(r["pj_per_synapse"] <= 0 for r in results):
        return None
    x = np.column_stack([np.ones(len(results))] + [np.log2([r["params"][k] for r in results]) for k in factors])
    y = np.log2([r["pj_per_synapse"] for r in results])
    coef = np.linalg.lstsq(x, y, rcond=None)[0]
    return {"scale": float(2 ** coef[0]), "exponents": {k: float(e) for k, e in zip(factors, coef[1:])},
            "r2": r_squared(y, x @ coef), "points": len(results)}


def summarize(results):
    """Per kind: the line against BB, and (`factors`) the power law in W, S and T."""
    fits = {}
    for kind in ("snn", "qnn"):
        rs = [r for r in results if r["kind"] == kind]
        if len(rs) > 1:
            fits[kind] = {**fit([r["BB"] for r in rs], [r["pj_per_synapse"] for r in rs]), "factors": factor_fit(rs)}
    return fits


def markdown(results, fits, args):
    rows = ["| kind | W | S | T | BB | cycles/inf | pJ/inference | pJ/synaptic op | accumulate/MAC pJ | weight memory pJ |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(results, key=lambda r: (r["kind"], r["BB"], r["params"]["W"], r["params"]["S"])):
        p = r["params"]
        rows.append(f"| {r['kind']} | {p['W']} | {p['S']} | {p['T']} | {r['BB']} | {r['cycles_per_inference']:.1f} | "
                    f"{r['pj_per_inference']:.1f} | {r['pj_per_synapse']:.4f} | "
                    f"{r['pj_by_block']['accumulate/MAC']:.1f} | {r['pj_by_block']['weight memory']:.1f} |")
    lines = [f"- {k.upper()}: pJ per synaptic op = {f['slope']:.5f} x BB + {f['intercept']:.4f}, "
             f"R^2 = {f['r2']:.3f} ({f['points']} points)" for k, f in fits.items()]
    lines += [f"- {k.upper()}, per factor: pJ per synaptic op = {f['factors']['scale']:.4f} x "
              + " x ".join(f"{n}^{e:.2f}" for n, e in f["factors"]["exponents"].items())
              + f", R^2 = {f['factors']['r2']:.3f} on the logs (proportional to BB: every exponent 1)"
              for k, f in fits.items() if f["factors"]]
    return (f"# Energy per synaptic op vs bit budget, {args.n_in}x{args.n_out} cores on {args.target}, "
            f"spike rate {args.spike_rate:g}\n\n" + "\n".join(lines) + "\n\n" + "\n".join(rows) + "\n")


def plot(results, fits, files):
    with figure(files, "budget.png") as ax:
        for kind, marker in (("snn", "o"), ("qnn", "s")):
            rs = [r for r in results if r["kind"] == kind]
            x = np.array([r["BB"] for r in rs])
            line = ax.scatter(x, [r["pj_per_synapse"] for r in rs], marker=marker, label=kind.upper())
            if kind in fits:
                f, xs = fits[kind], np.linspace(0, x.max(), 50)
                ax.plot(xs, f["slope"] * xs + f["intercept"], color=line.get_facecolor()[0],
                        label=f"{kind.upper()} fit, R^2 = {f['r2']:.2f}")
        ax.set(xlabel="bit budget BB = W*S*T", ylabel="pJ per synaptic op (measured)",
               title="measured energy vs bit budget")


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.budget", description=__doc__.split("\n\n")[0])
    add_core_options(ap, [1, 2, 4, 8], [1, 2, 4], [1, 2, 4, 8], n_in=32, n_out=8, many=("W", "S", "T"),
                     seed_help="weights and stimulus seed")
    ap.add_argument("--spike-rate", type=float, default=0.1, help="SNN input spike rate (default 0.1)")
    add_sweep_options(ap)
    return ap.parse_args(argv)


@command("python -m reports.budget")
def main(argv=None):
    args = parse_args(argv)
    check_rate(args.spike_rate)
    points = [(W, S, T, args.spike_rate) for W in args.W for S in args.S for T in args.T]
    jobs = jobs_for(points, args)
    print(f"{len(jobs)} measurements ({len(points)} allocations x SNN/QNN)", file=sys.stderr)
    with executor(args.dask, args.workers) as pool:
        results = measure_all(jobs, pool, os.path.join(args.out, "cache"))
    fits = summarize(results)
    out = os.path.join(args.out, "budget", args.target)
    text = markdown(results, fits, args)
    files = {"budget.json": json.dumps({"fits": fits, "spike_rate": args.spike_rate, "results": results}, indent=1),
             "budget.md": text}
    plot(results, fits, files)
    write_files("out", out, files)
    print(text)
    print(f"written: {out}/budget.json / .md / .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
