"""Command line: `python -m gen.core --W 8 --S 2 --T 2` writes Verilog for the SNN core, its
QNN twin and a JSON manifest, and prints a short summary. Usage errors exit with status 2."""

import json
import os
import re
import sys
import tempfile

from amaranth.back import verilog

from sim.cli import UsageParser
from sim.params import CoreParams, ParamError

from .manifest import build_manifest, chain_manifest
from .qnn import QNNCore
from .snn import SNNCore
from .weights import make_weights

KINDS = {"snn": ("", SNNCore), "qnn": ("_qnn", QNNCore)}
RESERVED = {"clk", "rst", "threshold", "spikes_in", "spikes_out", "acts_in", "acts_out"}


def parse_args(argv):
    ap = UsageParser(prog="python -m gen.core", description=__doc__)
    ap.add_argument("--W", type=int, help="weight bits, 1..16 (W=1: binary +1/-1 weights)")
    ap.add_argument("--S", type=int, help="spike bits, 1..8")
    ap.add_argument("--T", type=int, help="timesteps per inference, 1..64")
    ap.add_argument("--network", metavar="FILE", help="a trained network (.json from reports.network, or .nir): "
                    "emit its chain of cores, one per layer, in place of one core (W, S, T from the file)")
    ap.add_argument("--max-lanes", type=int, default=16, help="with --network: lanes per core at most (default 16)")
    ap.add_argument("--n-in", type=int, default=64, help="fan-in, 1..4096 (default 64)")
    ap.add_argument("--n-out", type=int, default=16, help="neurons, 1..1024 (default 16)")
    ap.add_argument("--lanes", type=int, default=None, help="neurons updated per cycle, a divisor of n_out (default n_out)")
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both", help="which cores to emit (default both)")
    ap.add_argument("--weights", metavar="FILE.npy", help="(n_out, n_in) integer weights; default: seeded random")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed for random weights (default 0)")
    ap.add_argument("--name", help="module/file base name (default bb_w{W}s{S}t{T}_{n_in}x{n_out}[_l{lanes}])")
    ap.add_argument("--out", default="rtl", help="output directory (default rtl/)")
    args = ap.parse_args(argv)
    missing = [f"--{k}" for k in ("W", "S", "T") if getattr(args, k) is None]
    if args.network is None and missing:
        ap.error(f"the following arguments are required: {', '.join(missing)}")
    if args.network is not None and len(missing) < 3:
        ap.error("--network takes W, S and T from the file: drop --W/--S/--T")
    return args


def default_name(p):
    name = f"bb_w{p.W}s{p.S}t{p.T}_{p.n_in}x{p.n_out}"
    return name if p.lanes == p.n_out else f"{name}_l{p.lanes}"


def check_name(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in RESERVED:
        raise ParamError(f"--name {name!r} is not a legal module name: legal is a Verilog identifier "
                         f"([A-Za-z_][A-Za-z0-9_]*) other than a port name ({', '.join(sorted(RESERVED))})")
    return name


def make_cores(params, weights, kind, name):
    """{kind: (module name, core)} for kind "snn", "qnn" or "both"."""
    kinds = KINDS if kind == "both" else {kind: KINDS[kind]}
    return {k: (name + suffix, cls(params, weights)) for k, (suffix, cls) in kinds.items()}


def generate_network(args):
    """A network file's SNN and/or QNN chain; returns ({filename: text}, manifest)."""
    from .chain import Chain
    from .nirgraph import load_network
    net, S, T = load_network(args.network)
    name = check_name(args.name or f"net_w{net.W}s{S}t{T}")
    kinds = KINDS if args.kind == "both" else {args.kind: KINDS[args.kind]}
    chains = {k: (name + suffix, Chain.for_network(k, net, S, T, args.max_lanes)) for k, (suffix, _) in kinds.items()}
    files = {f"{module}.v": verilog.convert(chain, name=module) for module, chain in chains.values()}
    manifest = chain_manifest(name, chains, args.network)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def generate(args):
    """Build everything in memory; returns ({filename: text}, manifest)."""
    if args.network is not None:
        return generate_network(args)
    params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
    if args.seed < 0:
        raise ParamError(f"--seed {args.seed} is out of range: legal is an integer >= 0")
    name = check_name(args.name or default_name(params))
    weights, source = make_weights(params, args.weights, args.seed)
    cores = make_cores(params, weights, args.kind, name)
    files = {f"{module}.v": verilog.convert(core, name=module) for module, core in cores.values()}
    manifest = build_manifest(name, params, cores, weights, source)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def write_all(out, files):
    """Write every file or none: each goes to a temporary file first, then is renamed."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ParamError(f"--out {out}: cannot create directory ({e.strerror})") from None
    staged = []
    try:
        for fname, text in files.items():
            fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{fname}.")
            os.fchmod(fd, 0o644)        # mkstemp makes 0600; generated files are ordinary files
            staged.append((tmp, os.path.join(out, fname)))
            with os.fdopen(fd, "w") as f:
                f.write(text)
        for tmp, final in staged:
            os.replace(tmp, final)
    except OSError as e:
        for tmp, _ in staged:
            if os.path.exists(tmp):
                os.remove(tmp)
        raise ParamError(f"--out {out}: cannot write ({e.strerror})") from None


def summary(manifest, out):
    m = manifest
    if "layers" in m:
        sizes = "-".join(str(n) for n in [m["layers"][0]["params"]["n_in"]] + [l["params"]["n_out"] for l in m["layers"]])
        lines = [f"{m['name']}: network {m['network']}, {sizes}, W={m['W']} S={m['S']} T={m['T']}  BB = {m['BB']}"]
        lines += [f"  {kind.upper():9s} {os.path.join(out, mod['file'])} (id {mod['id']})" for kind, mod in m["modules"].items()]
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
        f"  weights   {m['weights']['source']}, sha256 {m['weights']['sha256'][:16]}",
        f"  manifest  {os.path.join(out, m['name'] + '.json')}",
    ]
    return "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    try:
        files, manifest = generate(args)
        write_all(args.out, files)
    except ParamError as e:
        print(f"python -m gen.core: error: {e}", file=sys.stderr)
        return 2
    print(summary(manifest, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
