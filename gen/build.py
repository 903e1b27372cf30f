"""Cores from parameters, in memory and on disk: the module name, the SNN core and its QNN
twin, their Verilog and manifest, and writing every file or none (`python -m gen.core`)."""

import contextlib
import json
import re
import sys
import threading
import time

from sim.cli import core_params
from sim.files import write_files
from sim.params import ParamError
from sim.validate import check_seed

from .emit import verilog
from .manifest import build_manifest, chain_manifest
from .qnn import QNNCore
from .snn import SNNCore
from .spram import SpramWeightMemory
from .weights import make_weights

KINDS = {"snn": ("", SNNCore), "qnn": ("_qnn", QNNCore)}
# where a core keeps its weights: block RAM (initialised by the bitstream, the engine's
# default) or the iCE40 UP5K's SPRAM (loaded at run time through the core's `load` port)
WEIGHT_MEMORIES = {"bram": None, "spram": SpramWeightMemory}
RESERVED = {"clk", "rst", "threshold", "spikes_in", "spikes_out", "acts_in", "acts_out"}


def add_weight_memory_option(ap, help):
    """`--weight-memory`, one of WEIGHT_MEMORIES (default bram), with the command's `help`."""
    ap.add_argument("--weight-memory", choices=tuple(WEIGHT_MEMORIES), default="bram", help=help)


def add_max_lanes_option(ap, prefix="with --network: "):
    """`--max-lanes`: one cap for every layer's lanes, or one per layer (Chain.for_network)."""
    ap.add_argument("--max-lanes", type=int, nargs="+", default=[16], metavar="N",
                    help=f"{prefix}lanes per core at most, one value for every layer or one per layer (default 16)")


def default_name(p):
    name = f"bb_w{p.W}s{p.S}t{p.T}_{p.n_in}x{p.n_out}" + ("" if p.lanes == p.n_out else f"_l{p.lanes}")
    return name + ("_ef" if p.early_fire else "")


def check_name(name):
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or name in RESERVED:
        raise ParamError("name", name, "a Verilog identifier ([A-Za-z_][A-Za-z0-9_]*) other than a port name "
                         f"({', '.join(sorted(RESERVED))})", "{name} {value!r} is not a legal module name: legal is {legal}")
    return name


def make_cores(params, weights, kind, name, weight_memory="bram"):
    """{kind: (module name, core)} for kind "snn", "qnn" or "both", the weights in
    `weight_memory` (a key of WEIGHT_MEMORIES; ParamError where they do not fit it)."""
    kinds = KINDS if kind == "both" else {kind: KINDS[kind]}
    memory = WEIGHT_MEMORIES[weight_memory]
    return {k: (name + suffix, cls(params, weights, memory)) for k, (suffix, cls) in kinds.items()}


def generate_network(args):
    """A network file's SNN and/or QNN chain; returns ({filename: text}, manifest)."""
    from .chain import Chain
    from .nirgraph import load_network
    from sim.cli import network_bits
    net, S, T = load_network(args.network, **network_bits(args))
    name = check_name(args.name or f"net_w{net.W}s{S}t{T}")
    kinds = KINDS if args.kind == "both" else {args.kind: KINDS[args.kind]}
    chains = {k: (name + suffix, Chain.for_network(k, net, S, T, args.max_lanes, args.weight_memory))
              for k, (suffix, _) in kinds.items()}
    files = {}
    for module, chain in chains.values():
        files[f"{module}.v"] = verilog(chain, name=module, step=lambda what: progress(f"{module}.v: {what}"))
    manifest = chain_manifest(name, chains, args.network, net)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


def generate(args):
    """Build everything in memory from the `python -m gen.core` options (W, S, T, n_in,
    n_out, lanes, kind, weights, seed, name, network, max_lanes, weight_memory); returns ({filename: text}, manifest)."""
    if args.network is not None:
        return generate_network(args)
    params = core_params(args)
    memory = args.weight_memory
    if memory == "spram":
        SpramWeightMemory.check(params)     # before the weights: a 64 Mbit random draw takes a while
    check_seed(args.seed)
    name = check_name(args.name or default_name(params))
    with progress("weights"):
        weights, source = make_weights(params, args.weights, args.seed)
    cores = make_cores(params, weights, args.kind, name, memory)
    files = {}
    for module, core in cores.values():
        files[f"{module}.v"] = verilog(core, name=module, step=lambda what: progress(f"{module}.v: {what}"))
    with progress("manifest"):
        manifest = build_manifest(name, params, cores, weights, source, memory)
    files[f"{name}.json"] = json.dumps(manifest, indent=2) + "\n"
    return files, manifest


@contextlib.contextmanager
def progress(step, after=3.0, every=60.0, stream=None):
    """Say on stderr that `step` is under way if it takes longer than `after` seconds, then
    every `every` seconds that it still is, and how long it took; a quick step prints nothing."""
    stream = stream or sys.stderr
    start, done, said = time.monotonic(), threading.Event(), []

    def say():
        wait = after
        while not done.wait(wait):
            elapsed = time.monotonic() - start
            print(f"  {step} ..." + (f" {elapsed:.0f} s" if said else ""), file=stream, flush=True)
            said.append(elapsed)
            wait = every
    ticker = threading.Thread(target=say, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        if said:
            print(f"  {step}: {time.monotonic() - start:.1f} s", file=stream, flush=True)


def write_all(out, files, name=None):
    """Write every file or none (`sim.files.write_files`). With the module `name`, a file of
    this name's outputs that the new set does not contain (`NAME_qnn.v` after a rerun with
    `--kind snn`) is removed, so the folder holds exactly what the manifest lists."""
    stale = [] if name is None else [f for f in outputs(name) if f not in files]
    return write_files("out", out, files, remove=stale)


def outputs(name):
    """Every file a core or chain called `name` can have: its manifest and one .v per kind."""
    return [f"{name}.json"] + [f"{name}{suffix}.v" for suffix, _ in KINDS.values()]
