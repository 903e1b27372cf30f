"""`python -m boards.flash --board icebreaker --W 8 --S 2 --T 2`: build the board top (UART
host link + SNN core) into a bitstream with the yowasp toolchain (no system yosys
needed), print its utilization and Fmax on the board's clock, then program the board.
With `--build-only`, or without a programmer or board, it stops after the build with a
one-line message naming what is missing (exit status 2 when programming was asked for).
"""

import os
import sys

from gen.build import add_max_lanes_option, add_weight_memory_option
from gen.spram import SpramWeightMemory
from sim.cli import UsageParser, add_core_options, add_network_options, command, core_params, network_bits, option
from sim.params import ParamError
from sim.validate import check_out_dir

from .bitstream import BOARDS, PROGRAMMERS, board_platform, build_board, program

UP5K_BLOCK_RAM_BITS = 30 * 4096     # 30 SB_RAM40_4K


def parse_args(argv):
    ap = UsageParser(prog="python -m boards.flash", description=__doc__.split("\n\n")[0])
    ap.add_argument("--board", default="icebreaker",
                    help="icebreaker (default), ulx3s, or any amaranth-boards platform as module:Class")
    add_core_options(ap, 8, 2, 2)
    ap.add_argument("--network", metavar="FILE", help="a trained network (.json from reports.network, or .nir) "
                    "as a chain of SNN cores, in place of one core; W, S, T come from the file, or from "
                    "--W/--S/--T where it has none (a float NIR graph is quantized to W bits)")
    add_network_options(ap)
    add_max_lanes_option(ap)
    add_weight_memory_option(ap, "spram (iCE40 UP5K): the weights in SPRAM, written by boards.host "
                             "--weight-memory spram at run time (default bram); with --network, the largest "
                             "layer's, which boards.host --network loads")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--build-only", action="store_true", help="stop after the bitstream")
    ap.add_argument("--programmer", choices=PROGRAMMERS, default=None, help="default: the board's usual one")
    ap.add_argument("--out", default=os.path.join("build", "boards"), help="build folder (default build/boards)")
    return ap.parse_args(argv)


@command("python -m boards.flash")
def main(argv=None):
    args = parse_args(argv)
    given = [k for k in ("n_in", "n_out") if k in args.given]
    if args.network:        # W, S, T fill in what the file lacks and must agree with it (gen.nirgraph)
        from gen.nirgraph import load_network
        network = load_network(args.network, **network_bits(args))
    if args.network and given:      # the network file's sizes rule; a given one would be ignored
        net, S, T = network
        ruled = {"W": net.W, "S": S, "T": T, "n_in": net.weights[0].shape[1], "n_out": net.weights[-1].shape[0]}
        raise ParamError("network", args.network, text="{name} {value} sets {ruled}; drop {given}",
                         ruled=", ".join(f"{k}={ruled[k]}" for k in given),
                         given=" ".join(f"{option(k)} {getattr(args, k)}" for k in given))
    params = core_params(args)
    check_out_dir("out", args.out)
    if args.baud < 1200:
        raise ParamError("baud", args.baud, ">= 1200")
    platform = board_platform(args.board)      # before any core exists: a refused board leaves none unused
    if args.network and args.weight_memory == "bram" and getattr(platform, "device", None) == "iCE40UP5K":
        net = network[0]        # before a build that nextpnr refuses minutes later, for want of block RAMs
        bits = net.W * sum(w.size for w in net.weights)
        if bits > UP5K_BLOCK_RAM_BITS:
            raise ParamError("weight_memory", "bram", text="{name} {value}: the network's {bits:,} weight bits exceed "
                             "the UP5K's {ram:,} bits of block RAM; use --weight-memory spram (the MNIST network "
                             "also needs --max-lanes 8 1 to fit, see the README)", bits=bits, ram=UP5K_BLOCK_RAM_BITS)
    if args.weight_memory == "spram":
        if getattr(platform, "device", None) != "iCE40UP5K":
            raise ParamError("weight_memory", "spram", text="{name} {value} needs an iCE40 UP5K board such as icebreaker")
        if not args.network:
            SpramWeightMemory.check(params)
    clock, board = platform.default_clk_frequency, args.board.rpartition(":")[2]
    if clock // args.baud < 4:                 # the UART samples each bit at least 4 clocks
        raise ParamError("baud", args.baud, f"1200..{int(clock // 4)} (a quarter of the {board} clock, {clock / 1e6:g} MHz)")
    bitstream, report = build_board(platform, args.board, params, args.seed, args.baud, args.out,
                                    network if args.network else None, args.max_lanes, args.weight_memory)
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
