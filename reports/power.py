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

import json
import os
import sys

from gen.build import default_name
from gen.weights import make_weights
from sim.cli import UsageParser, add_core_options, command, core_params
from sim.params import ParamError
from sim.files import write_files
from sim.validate import check_out_dir

from .activity import BLOCKS
from .cli import add_measure_options, check_rate
from .flow import TARGETS
from .measurement import measure
from .pricing import load_coefficients, price


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
    add_core_options(ap, required=True, seed_help="weights and stimulus seed", early_fire=True)
    ap.add_argument("--spike-rate", type=float, default=0.1, help="SNN input spike rate 0..1 (default 0.1)")
    add_measure_options(ap)
    return ap.parse_args(argv)


@command("python -m reports.power")
def main(argv=None):
    args = parse_args(argv)
    check_rate(args.spike_rate)
    if args.inferences < 1:
        raise ParamError("inferences", args.inferences, ">= 1")
    params = core_params(args)
    check_out_dir("out", args.out)
    coeffs = load_coefficients(TARGETS[args.target].family, args.coefficients)
    weights, _ = make_weights(params, None, args.seed)
    results = []
    for kind in ("snn", "qnn"):
        print(f"[{kind}] synthesizing and simulating {default_name(params)} on {args.target} ...",
              file=sys.stderr, flush=True)
        results.append(price(measure(kind, params, weights, args.target, args.spike_rate,
                                     inferences=args.inferences, seed=args.seed,
                                     cache=os.path.join(args.out, "cache")), coeffs))
    folder = os.path.join(args.out, "power", default_name(params))
    stem = f"{args.target}-rate{args.spike_rate:g}"
    text = table(results)
    ratio = results[0]["pj_per_inference"] / results[1]["pj_per_inference"]
    write_files("out", folder, {
        f"{stem}.json": json.dumps(results, indent=1),
        f"{stem}.md": f"# Measured energy, {default_name(params)} on {args.target}, spike rate {args.spike_rate:g}\n\n"
                      f"Coefficients: {coeffs['path']}. Gate-level outputs matched the twin on every beat.\n\n"
                      f"{text}\n\nSNN / QNN energy per inference: {ratio:.3f}\n"})
    print(text)
    print(f"SNN / QNN energy per inference: {ratio:.3f}")
    print(f"written: {os.path.join(folder, stem)}.json / .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
