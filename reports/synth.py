"""`python -m reports.synth --W 8 --S 2 --T 2`: synthesize, place and route a generated core
on an open FPGA (iCE40 UP5K by default, or ECP5-85F), pack a bitstream, and report its
resources, Fmax and critical path.

The core is placed inside `gen.harness.SerialHarness` (its ports are wider than the
package's pins). The core's own resources come from synthesizing it alone; the
harness's cost is the difference to the placed top, reported beside it.
Writes reports/out/<name>/<target>.json and .md; usage errors and designs that do
not fit exit with status 2.
"""

import json
import os
import sys
import time

from amaranth.back import verilog

from gen.core import default_name, make_cores
from gen.harness import SerialHarness
from gen.weights import make_weights
from sim.cli import UsageParser
from sim.params import CoreParams, ParamError

from .flow import TARGETS, FlowError, check_fits, classify, place_and_route, synthesize

RESOURCES = ("lut4", "ff", "carry", "bram", "dsp")


def add_core_options(ap):
    ap.add_argument("--n-in", type=int, default=64, help="fan-in (default 64)")
    ap.add_argument("--n-out", type=int, default=16, help="neurons (default 16)")
    ap.add_argument("--lanes", type=int, default=None, help="neurons updated per cycle (default n_out)")
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k", help="device (default ice40-up5k)")
    ap.add_argument("--freq", type=float, default=None, help="clock constraint in MHz (default: 40 on iCE40, 100 on ECP5)")
    ap.add_argument("--seed", type=int, default=0, help="weights seed (default 0)")
    ap.add_argument("--out", default=os.path.join("reports", "out"), help="output folder (default reports/out)")


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.synth", description=__doc__.split("\n\n")[0])
    ap.add_argument("--W", type=int, required=True, help="weight bits")
    ap.add_argument("--S", type=int, required=True, help="spike bits")
    ap.add_argument("--T", type=int, required=True, help="timesteps")
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both", help="which core (default both)")
    add_core_options(ap)
    return ap.parse_args(argv)


def build(kind, params, target_name, freq_mhz=None, seed=0, workdir="build"):
    """Synthesize, place and route one core; returns its result dict (raises FlowError)."""
    target = TARGETS[target_name]
    freq = freq_mhz or target.freq_mhz
    if freq <= 0:
        raise ParamError(f"--freq {freq} is out of range: legal is a clock in MHz > 0")
    weights, source = make_weights(params, None, seed)
    (module, core), = make_cores(params, weights, kind, default_name(params)).values()
    os.makedirs(workdir, exist_ok=True)
    start = time.time()
    top = f"{module}_top"
    for name, design in ((module, core), (top, SerialHarness(core))):
        with open(os.path.join(workdir, f"{name}.v"), "w") as f:
            f.write(verilog.convert(design, name=name))
    _, core_cells = synthesize(os.path.join(workdir, f"{module}.v"), module, target, workdir)
    netlist, top_cells = synthesize(os.path.join(workdir, f"{top}.v"), top, target, workdir)
    check_fits(top_cells, target, f"{module} in its harness")
    placed = place_and_route(netlist, top, target, workdir, freq)
    core_res, top_res = classify(core_cells), classify(top_cells)
    fmax = min((v["achieved_mhz"] for v in placed["fmax"].values()), default=None)
    return {
        "kind": kind, "module": module, "target": target_name, "params": params.as_dict(), "BB": params.BB,
        "weights": source, "freq_constraint_mhz": freq, "fmax_mhz": fmax,
        "core": core_res, "harness": {k: top_res[k] - core_res[k] for k in top_res}, "top": top_res,
        "placed": placed, "workdir": workdir, "seconds": round(time.time() - start, 1),
    }


def table(results):
    head = "| core | BB | " + " | ".join(RESOURCES) + " | harness lut4/ff | device use | Fmax MHz (constraint) | critical path |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        util = ", ".join(f"{k} {v['used']}/{v['available']} ({v['percent']} %)"
                         for k, v in r["placed"]["utilization"].items() if v["class"] in ("logic cells", "lut4", "bram", "dsp"))
        path = r["placed"]["critical_paths"][0] if r["placed"]["critical_paths"] else {}
        crit = f"{path.get('start')} -> {path.get('end')}, {path.get('delay_ns')} ns, {path.get('logic_levels')} levels" if path else ""
        rows.append(f"| {r['module']} | {r['BB']} | " + " | ".join(str(r["core"][k]) for k in RESOURCES)
                    + f" | {r['harness']['lut4']}/{r['harness']['ff']} | {util} | "
                    f"{r['fmax_mhz']} ({r['freq_constraint_mhz']:g}) | {crit} |")
    return "\n".join(rows)


def write_report(results, folder, stem, title):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, f"{stem}.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(folder, f"{stem}.md"), "w") as f:
        f.write(f"# {title}\n\nCore resources from yosys on the core alone; the harness column is the "
                f"serial harness's own cost; device use and Fmax from nextpnr on core + harness.\n\n"
                + table(results) + "\n")


def main(argv=None):
    args = parse_args(argv)
    try:
        params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
    except ParamError as e:
        print(f"python -m reports.synth: error: {e}", file=sys.stderr)
        return 2
    name = default_name(params)
    folder = os.path.join(args.out, name)
    results, failed = [], False
    for kind in (("snn", "qnn") if args.kind == "both" else (args.kind,)):
        print(f"[{kind}] synthesizing and placing {name} for {args.target} ...", file=sys.stderr, flush=True)
        try:
            results.append(build(kind, params, args.target, args.freq, args.seed, os.path.join(folder, args.target)))
        except (ParamError, FlowError) as e:     # the other core may still build
            print(f"python -m reports.synth: error: {e}", file=sys.stderr)
            failed = True
    if results:
        write_report(results, folder, args.target, f"{name} on {args.target}")
        print(table(results))
        print(f"written: {os.path.join(folder, args.target)}.json / .md", file=sys.stderr)
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
