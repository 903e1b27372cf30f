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

from gen.build import add_weight_memory_option, default_name
from sim.cli import UsageParser, add_core_options, command, core_params, exit_status, report
from sim.params import ParamError
from sim.files import write_files
from sim.validate import check_out_dir

from .cli import add_build_options, check_clock
from .flow import FlowError
from .implementation import build, check_memory

PROG = "python -m reports.synth"
RESOURCES = ("lut4", "ff", "carry", "bram", "dsp")


def parse_args(argv):
    ap = UsageParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_core_options(ap, required=True, early_fire=True)
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both", help="which core (default both)")
    add_weight_memory_option(ap, "where the core's weights live: block RAM (default) or, on the iCE40 UP5K, SPRAM "
                             "(written at run time; see python -m gen.core --help)")
    add_build_options(ap)
    return ap.parse_args(argv)


def table(results):
    resources = RESOURCES + (("spram",) if any(r["core"].get("spram") for r in results) else ())
    head = "| core | BB | " + " | ".join(resources) + " | harness lut4/ff | device use | Fmax MHz (constraint) | critical path |"
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    for r in results:
        util = ", ".join(f"{k} {v['used']}/{v['available']} ({v['percent']} %)"
                         for k, v in r["placed"]["utilization"].items() if v["class"] in ("logic cells", "lut4", "bram", "dsp", "spram"))
        path = r["placed"]["critical_paths"][0] if r["placed"]["critical_paths"] else {}
        crit = f"{path.get('start')} -> {path.get('end')}, {path.get('delay_ns')} ns, {path.get('logic_levels')} levels" if path else ""
        rows.append(f"| {r['module']} | {r['BB']} | " + " | ".join(str(r["core"][k]) for k in resources)
                    + f" | {r['harness']['lut4']}/{r['harness']['ff']} | {util} | "
                    f"{r['fmax_mhz']} ({r['freq_constraint_mhz']:g}) | {crit} |")
    return "\n".join(rows)


def write_report(results, folder, stem, title):
    write_files("out", folder, {
        f"{stem}.json": json.dumps(results, indent=1),
        f"{stem}.md": f"# {title}\n\nCore resources from yosys on the core alone; the harness column is the "
                      f"serial harness's own cost; device use and Fmax from nextpnr on core + harness.\n\n"
                      + table(results) + "\n"})


@command(PROG)
def main(argv=None):
    args = parse_args(argv)
    params = core_params(args)
    check_memory(params, args.target, args.weight_memory)
    check_clock(args.freq)
    check_out_dir("out", args.out)
    name = default_name(params) + ("_spram" if args.weight_memory == "spram" else "")
    folder = os.path.join(args.out, name)
    results, status = [], 0
    for kind in (("snn", "qnn") if args.kind == "both" else (args.kind,)):
        print(f"[{kind}] synthesizing and placing {name} for {args.target} ...", file=sys.stderr, flush=True)
        try:
            results.append(build(kind, params, args.target, args.freq, args.seed, os.path.join(folder, args.target),
                                 args.weight_memory))
        except (ParamError, FlowError) as e:     # the other core may still build
            report(PROG, e)
            status = max(status, exit_status(e))
    if results:
        write_report(results, folder, args.target, f"{name} on {args.target}")
        print(table(results))
        print(f"written: {os.path.join(folder, args.target)}.json / .md", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
