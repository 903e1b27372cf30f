"""`python -m boards.flash --board icebreaker --W 8 --S 2 --T 2`: build the board top (UART
host link + SNN core) into a bitstream with the yowasp toolchain (no system yosys
needed), print its utilization and Fmax on the board's clock, then program the board.
With `--build-only`, or without a programmer or board, it stops after the build with a
one-line message naming what is missing (exit status 2 when programming was asked for).
"""

import os
import sys

from sim.cli import UsageParser, add_core_options, command
from sim.params import CoreParams, ParamError

from .bitstream import BOARDS, PROGRAMMERS, board_platform, build_board, program


def parse_args(argv):
    ap = UsageParser(prog="python -m boards.flash", description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="icebreaker",
                    help="icebreaker (default), ulx3s, or any amaranth-boards platform as module:Class")
    add_core_options(ap, 8, 2, 2)
    ap.add_argument("--network", metavar="FILE", help="a trained network (.json from reports.network, or .nir) "
                    "as a chain of SNN cores, in place of one core; W, S, T come from the file")
    ap.add_argument("--max-lanes", type=int, default=16, help="with --network: lanes per core at most (default 16)")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--build-only", action="store_true", help="stop after the bitstream")
    ap.add_argument("--programmer", choices=PROGRAMMERS, default=None, help="default: the board's usual one")
    ap.add_argument("--out", default=os.path.join("build", "boards"), help="build folder (default build/boards)")
    return ap.parse_args(argv)


@command("python -m boards.flash")
def main(argv=None):
    args = parse_args(argv)
    params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
    if args.baud < 1200:
        raise ParamError("baud", args.baud, ">= 1200")
    platform = board_platform(args.board)      # before any core exists: a refused board leaves none unused
    bitstream, report = build_board(platform, args.board, params, args.seed, args.baud, args.out,
                                    args.network, args.max_lanes)
    use = ", ".join(f"{k} {v['used']}/{v['available']} ({v['percent']} %)" for k, v in report["utilization"].items())
    fmax = ", ".join(f"{k} {v['achieved_mhz']} MHz (board clock {v['constraint_mhz']} MHz)"
                     for k, v in report["fmax"].items())
    print(f"bitstream {bitstream}\n  use   {use}\n  Fmax  {fmax}")
    if args.build_only:
        return 0
    program(args.programmer or BOARDS.get(args.board, (None, "openFPGALoader"))[1], args.board, bitstream)
    print("programmed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
