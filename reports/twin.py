"""`python -m reports.twin`: measured SNN / QNN energy ratio against T and spike rate (the
first paper's question, answered on gates), the measured breakeven spike rate per T, and
a calibration of the analytical model from the same measurements.

Each point is `reports.power.measure` on an SNN core (W=8, S=1 by default) and its QNN
twin fed the same inputs as spike counts. The breakeven spike rate is where the measured
ratio crosses 1, interpolated linearly between measured rates.

Calibration (`calibration.json`, loadable by `sim.energy` with `--calibration`): per-op
energies from the block breakdown, clock and control left out (the model has no term
for them):
  E_ACC    SNN accumulate block pJ / (input events x n_out)
  E_MAC[B] QNN accumulate/MAC block pJ / (non-zero activations x n_out), at B = bits(T)
  E_w      SNN weight-memory pJ (block-RAM reads and the weight register) / (events x n_out)
  E_cmp = E_sub  SNN membrane/threshold pJ / (2 x n_out x T x S): one compare and one
           subtract per neuron and firing step, done by one adder in the core
The firing steps run on the accumulate adders, so E_ACC and E_MAC[B] are the per-event
part of a least-squares fit of that block to event ops and firing steps (`adder_split`),
and the SNN's per-step part joins E_cmp.
The report then gives the model's breakeven spike rates (gamma = 0.8, N = n_in, typical
hardware) under its 22 nm defaults and under the calibration.
Writes twin.json, twin.md, twin.png and calibration.json to reports/out/twin/<target>/.
"""

import json
import os
import sys

import numpy as np

from sim.cli import UsageParser, add_core_options, command
from sim.energy import HARDWARE, OpEnergy, Scenario, breakeven_spike_rate, calibrated

from .cli import add_sweep_options, check_rate
from sim.files import write_files

from .figure import figure
from .jobs import executor
from .measurement import jobs_for, measure_all

TS = (1, 2, 4, 8)
RATES = (0.02, 0.05, 0.1, 0.2, 0.3, 0.5)


def pairs(results):
    """{(T, rate): (snn result, qnn result)}."""
    out = {}
    for r in results:
        key = (r["params"]["T"], r["spike_rate"])
        out.setdefault(key, [None, None])[r["kind"] == "qnn"] = r
    return out


def breakeven(rates, ratios):
    """Spike rate where the ratio first crosses 1 (linear in between), or None."""
    for (r0, q0), (r1, q1) in zip(zip(rates, ratios), zip(rates[1:], ratios[1:])):
        if (q0 - 1) * (q1 - 1) <= 0 and q0 != q1:
            return r0 + (1 - q0) * (r1 - r0) / (q1 - q0)
    return None


def event_ops(r):
    """A record's synaptic event ops per inference (input events x n_out)."""
    return r["events"] / r["inferences"] * r["params"]["n_out"]


def per_op(rs, block):
    """`block`'s pJ per event op, averaged over records `rs`."""
    return float(np.mean([r["pj_by_block"][block] / event_ops(r) for r in rs]))


def adder_split(rs, steps):
    """(pJ per event op, pJ per firing step) of the accumulate/MAC block over records `rs`,
    where `steps(r)` is a record's restoring steps per inference (n_out x steps per beat x
    beats). The fire unit's compares run on the accumulate adders (gen/fire.py), so that
    block holds both: a least-squares fit of its pJ per inference to the two counts. Where
    the records cannot tell them apart (one rate and one T) or the fit gives a negative
    share, all of it is per event op."""
    X = np.array([[event_ops(r), steps(r)] for r in rs], dtype=float)
    y = np.array([r["pj_by_block"]["accumulate/MAC"] for r in rs])
    if np.linalg.matrix_rank(X) == 2:
        (per_event, per_step), *_ = np.linalg.lstsq(X, y, rcond=None)
        if per_event >= 0 and per_step >= 0:
            return float(per_event), float(per_step)
    return per_op(rs, "accumulate/MAC"), 0.0


def calibration(results, S):
    snn = [r for r in results if r["kind"] == "snn" and r["events"]]
    qnn = [r for r in results if r["kind"] == "qnn" and r["events"]]
    macs = {}
    for r in qnn:
        macs.setdefault((r["params"]["T"] * (2 ** S - 1)).bit_length(), []).append(r)   # B
    snn_steps = lambda r: r["params"]["n_out"] * r["params"]["T"] * S
    E_ACC, per_step = adder_split(snn, snn_steps)
    # a compare and a subtract per neuron and step: the membranes and fire unit, and the adders' share
    E_cmp = float(np.mean([(r["pj_by_block"]["membrane/threshold"] + per_step * snn_steps(r)) / (2 * snn_steps(r))
                           for r in snn]))
    W = snn[0]["params"]["W"]
    E_w = per_op(snn, "weight memory")
    return {"E_ACC": E_ACC, "E_MAC": {str(b): adder_split(rs, lambda r, b=b: r["params"]["n_out"] * b)[0]
                                      for b, rs in sorted(macs.items())},
            "E_w": E_w, "E_cmp": E_cmp, "E_sub": E_cmp,
            "source": f"measured by python -m reports.twin on {snn[0]['target']} gates, W={W}, "
                      f"coefficients {snn[0]['coefficients']}; E_w is {E_w / W:.4f} pJ per weight bit; "
                      f"the SNN adders' compares {per_step:.3f} pJ per neuron and step, in E_cmp"}


def model_breakeven(ops, N, Ts):
    return {T: breakeven_spike_rate(Scenario(T=T, spike_rate=0.0, gamma=0.8, N=N, hardware=HARDWARE["typical"],
                                             ops=ops)) for T in Ts}


def markdown(table, measured_be, model, args):
    rates = sorted({r for _, r in table})
    head = "| T | B | " + " | ".join(f"SNN/QNN @{r:.0%}" for r in rates) + " | measured breakeven |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for T in sorted({t for t, _ in table}):
        be = measured_be[T]
        rows.append(f"| {T} | {T.bit_length()} | " + " | ".join(f"{table[(T, r)]:.3f}" for r in rates)
                    + f" | {'%.1f %%' % (100 * be) if be is not None else 'none in range'} |")
    model_rows = ["| T | model breakeven, 22 nm defaults | model breakeven, FPGA calibration |", "|---|---|---|"]
    for T in sorted(model["default"]):
        d, c = model["default"][T], model["calibrated"][T]
        model_rows.append(f"| {T} | {'-' if d is None else '%.2f %%' % (100 * d)} | "
                          f"{'-' if c is None else '%.2f %%' % (100 * c)} |")
    return (f"# Measured SNN / QNN energy, {args.n_in}x{args.n_out} cores, W={args.W}, S={args.S}, "
            f"on {args.target}\n\nEnergy per inference, SNN over its QNN twin fed the same inputs as counts "
            f"(ratio < 1: the SNN spends less).\n\n" + "\n".join(rows)
            + "\n\nThe analytical model's breakeven spike rate against a gamma = 0.8 QNN (N = n_in, typical "
              "hardware), before and after loading calibration.json:\n\n" + "\n".join(model_rows) + "\n")


def plot(table, files):
    with figure(files, "twin.png") as ax:
        for T in sorted({t for t, _ in table}):
            rates = sorted(r for t, r in table if t == T)
            ax.plot([100 * r for r in rates], [table[(T, r)] for r in rates], marker="o", label=f"T={T}")
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set(xlabel="SNN input spike rate (%)", ylabel="SNN / QNN energy per inference (measured)",
               title="measured twin energy ratio")


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.twin", description=__doc__.split("\n\n")[0])
    add_core_options(ap, 8, 1, list(TS), n_in=32, n_out=8, many=("T",), seed_help="weights and stimulus seed")
    ap.add_argument("--spike-rate", type=float, nargs="+", default=list(RATES), help="spike rates (default 0.02 .. 0.5)")
    add_sweep_options(ap)
    return ap.parse_args(argv)


@command("python -m reports.twin")
def main(argv=None):
    args = parse_args(argv)
    rates = sorted(check_rate(r) for r in args.spike_rate)
    jobs = jobs_for([(args.W, args.S, T, r) for T in args.T for r in rates], args)
    print(f"{len(jobs)} measurements", file=sys.stderr)
    with executor(args.dask, args.workers) as pool:
        results = measure_all(jobs, pool, os.path.join(args.out, "cache"))
    table = {k: s["pj_per_inference"] / q["pj_per_inference"] for k, (s, q) in pairs(results).items()}
    measured_be = {T: breakeven(rates, [table[(T, r)] for r in rates]) for T in args.T}
    out = os.path.join(args.out, "twin", args.target)
    cal_path = os.path.join(out, "calibration.json")
    cal = calibration(results, args.S)
    model = {"default": model_breakeven(OpEnergy(), args.n_in, args.T),
             "calibrated": model_breakeven(calibrated(cal), args.n_in, args.T)}
    text = markdown(table, measured_be, model, args)
    files = {"calibration.json": json.dumps(cal, indent=1),
             "twin.json": json.dumps({"ratio": {f"T={t} rate={r}": v for (t, r), v in table.items()},
                                      "measured_breakeven": measured_be, "model_breakeven": model,
                                      "results": results}, indent=1),
             "twin.md": text}
    plot(table, files)
    write_files("out", out, files)
    print(text)
    print(f"written: {out}/twin.json / .md / .png, {cal_path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
