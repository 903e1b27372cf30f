"""Command line: `python -m gen.core --W 8 --S 2 --T 2` writes Verilog for the SNN core, its
QNN twin and a JSON manifest, and prints a short summary. Usage errors exit with status 2."""

import os
import sys

from sim.cli import UsageParser, add_core_options, add_network_options, command, option
from sim.quantize import describe
from sim.validate import check_out_dir

from .build import add_max_lanes_option, add_weight_memory_option, generate, progress, write_all


def parse_args(argv):
    ap = UsageParser(prog="python -m gen.core", description=__doc__)
    add_core_options(ap, seed_help="RNG seed for random weights", early_fire=True)
    ap.add_argument("--network", metavar="FILE", help="a trained network (.json from reports.network, or .nir): "
                    "emit its chain of cores, one per layer, in place of one core (W, S, T from the file, or from "
                    "--W/--S/--T where it has none; a float NIR graph is quantized to W bits)")
    add_network_options(ap)
    add_max_lanes_option(ap)
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both", help="which cores to emit (default both)")
    ap.add_argument("--weights", metavar="FILE.npy", help="(n_out, n_in) integer weights; default: seeded random")
    add_weight_memory_option(ap, "where the weights live: block RAM, initialised by the bitstream (default), or "
                             "the iCE40 UP5K's SPRAM (lanes*W <= 64, n_in*n_out/lanes <= 16384), written at run time through the "
                             "core's load port (see the manifest); with --network, the largest layer's")
    ap.add_argument("--name", help="module/file base name (default bb_w{W}s{S}t{T}_{n_in}x{n_out}[_l{lanes}])")
    ap.add_argument("--out", default="rtl", help="output directory (default rtl/)")
    args = ap.parse_args(argv)
    missing = [f"--{k}" for k in ("W", "S", "T") if getattr(args, k) is None]
    if args.network is None and missing:
        ap.error(f"the following arguments are required: {', '.join(missing)}")
    ignored = [option(k) for k in ("n_in", "n_out", "lanes", "weights", "seed") if k in args.given]
    if args.network is not None and ignored:
        ap.error(f"--network takes the layer sizes and weights from the file: drop {'/'.join(ignored)} "
                 "(--max-lanes sets the lanes; --weight-memory spram puts the largest layer's weights in SPRAM)")
    if args.network is not None and args.early_fire:
        ap.error("--early-fire is an option of a single core: a --network chain's cores fire every step")
    return args


def summary(manifest, out):
    m = manifest
    if "layers" in m:
        sizes = "-".join(str(n) for n in [m["layers"][0]["params"]["n_in"]] + [l["params"]["n_out"] for l in m["layers"]])
        lines = [f"{m['name']}: network {m['network']}, {sizes}, W={m['W']} S={m['S']} T={m['T']}  BB = {m['BB']}"]
        lines += [f"  {kind.upper():9s} {os.path.join(out, mod['file'])} (id {mod['id']})" for kind, mod in m["modules"].items()]
        lines += [f"  memory    layer {i}: {l['memory']}: load the weights at run time (manifest: layers[{i}].load)"
                  for i, l in enumerate(m["layers"]) if "load" in l]
        if m.get("bias_inputs"):
            lines.append(f"  inputs    the last {m['bias_inputs']} inputs are always on (spike level 1 at every step, QNN count {m['T']})")
        if m.get("quantization"):
            q = m["quantization"]
            lines.append(f"  quantized float inputs x -> counts {q['input_count']}; thresholds "
                         + ", ".join(f"{l['node']}: {l['threshold_float']:g} -> {l['threshold']}" for l in q["layers"]))
            if "report" in q:
                lines.append(describe(q["report"]))
        return "\n".join(lines + [f"  manifest  {os.path.join(out, m['name'] + '.json')}"])
    p = m["params"]
    lines = [
        f"{m['name']}: W={p['W']} S={p['S']} T={p['T']}  BB = W*S*T = {m['BB']} bits/synapse  "
        f"(K={m['K']}, L={m['L']}, QNN B={m['B']})",
        f"  size      n_in={p['n_in']} n_out={p['n_out']} lanes={p['lanes']} ({m['groups']} group(s)/event)",
        f"  widths    membrane/accumulator {m['widths']['membrane']} b signed, threshold {m['widths']['threshold']} b",
    ]
    for kind, mod in m["modules"].items():
        ports = ", ".join(f"{q['name']}[{q['width']}]" for q in mod["ports"] if q["width"] > 1)
        lines.append(f"  {kind.upper():9s} {os.path.join(out, mod['file'])}: {ports}")
    c = m["cycles"]
    lines += [
        f"  cycles    SNN beat {c['snn_beat']}, inference {c['snn_inference']}; QNN beat {c['qnn_beat']}",
        f"            ({c['where']})",
        *[f"  input     {kind.upper()}: {note}" for kind, note in c["input_handshake"].items() if note.startswith("held")],
        f"  weights   {m['weights']['source']}, sha256 {m['weights']['sha256'][:16]}",
        *([f"  memory    {m['weights']['memory']}: load the weights at run time (manifest: weights.load)"]
          if "load" in m["weights"] else []),
        f"  manifest  {os.path.join(out, m['name'] + '.json')}",
    ]
    return "\n".join(lines)


@command("python -m gen.core")
def main(argv=None):
    args = parse_args(argv)
    check_out_dir("out", args.out)      # before a generation that can take a minute
    files, manifest = generate(args)
    with progress(f"writing {args.out}"):
        write_all(args.out, files, manifest["name"])
    print(summary(manifest, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
