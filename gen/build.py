"""Cores from parameters, in memory and on disk: the module name, the SNN core and its QNN
twin, their Verilog and manifest, and writing every file or none (`python -m gen.core`)."""

import json
import os
import re
import tempfile

from .emit import verilog

from sim.params import CoreParams, ParamError

from .manifest import build_manifest, chain_manifest
from .qnn import QNNCore
from .snn import SNNCore
from .weights import make_weights

KINDS = {"snn": ("", SNNCore), "qnn": ("_qnn", QNNCore)}
RESERVED = {"clk", "rst", "threshold", "spikes_in", "spikes_out", "acts_in", "acts_out"}


def default_name(p):
    name = f"bb_w{p.W}s{p.S}t{p.T}_{p.n_in}x{p.n_out}"
    return name if p.lanes == p.n_out else f"{name}_l{p.lanes}"


def check_name(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in RESERVED:
        raise ParamError("name", name, "a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*) other than a port name "
                         f"({', '.join(sorted(RESERVED))})", "{name} {value!r} is not a legal module name: legal is {legal}")
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
    files = {f"{module}.v": verilog(chain, name=module) for module, chain in chains.values()}
    manifest = chain_manifest(name, chains, args.network)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def generate(args):
    """Build everything in memory from the `python -m gen.core` options (W, S, T, n_in,
    n_out, lanes, kind, weights, seed, name, network, max_lanes); returns ({filename: text}, manifest)."""
    if args.network is not None:
        return generate_network(args)
    params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
    if args.seed < 0:
        raise ParamError("seed", args.seed, "an integer >= 0")
    name = check_name(args.name or default_name(params))
    weights, source = make_weights(params, args.weights, args.seed)
    cores = make_cores(params, weights, args.kind, name)
    files = {f"{module}.v": verilog(core, name=module) for module, core in cores.values()}
    manifest = build_manifest(name, params, cores, weights, source)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def write_all(out, files):
    """Write every file or none: each goes to a temporary file first, then is renamed."""
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as e:
        raise ParamError("out", out, text="{name} {value}: cannot create directory ({why})", why=e.strerror) from None
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
        raise ParamError("out", out, text="{name} {value}: cannot write ({why})", why=e.strerror) from None
