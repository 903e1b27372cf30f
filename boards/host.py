"""`python -m boards.host --port /dev/ttyUSB1 --W 8 --S 2 --T 2 --spike-rate 0.1`: send input
beats to a board running the SNN core, read its output beats, check them bit for bit
against the twin, and print throughput and mismatches. `--sim` runs the same client
against the simulated board top (Amaranth simulator, bit-level UART), so the whole
path is tested without hardware; `--sim-bitstream` runs it against the decoded iCE40
image itself (`boards.decode`). With `--weight-memory spram` (a bitstream built with it)
the client first writes the weights over the link and verifies the board's load check.
With `--network FILE` the board runs that network's chain (`boards.flash --network`, the
same `--max-lanes` and `--weight-memory`), fed the first `--count` held-out images of the
data set the file was trained on (or `--inputs`); the client also prints how many the board
classifies right, and alike with the twin network.
Exit status: 0 all beats match, 1 mismatches, 2 usage or link errors.
"""

import os
import sys

from gen.build import add_max_lanes_option, add_weight_memory_option
from gen.spram import SpramWeightMemory
from gen.weights import make_weights
from sim.cli import UsageParser, add_core_options, add_network_options, command, core_params, network_bits, option
from sim.evidence import spread_threshold
from sim.params import ParamError
from sim.stimulus import spike_train
from sim.validate import load_int_array

from .bitstream import network_core
from .client import Link, SerialPort, SimulatedBoard, SpramStandIn, run, run_network


def open_port(args, params, weights, chain=None):
    """The simulated board top (of the core, or of `chain`) or the serial port."""
    if args.sim:
        from .top import BoardTop
        if chain is not None:
            from gen.manifest import chain_id
            return SimulatedBoard(BoardTop(chain, chain_id(chain), divisor=args.sim_divisor))
        memory = SpramStandIn if args.weight_memory == "spram" else None
        return SimulatedBoard(BoardTop.for_core(params, weights, divisor=args.sim_divisor, weight_memory=memory))
    try:
        import serial
    except ImportError:
        raise ParamError("port", args.port, text="{name} needs pyserial: pip install -e '.[board]'") from None
    try:
        return SerialPort(serial.Serial(args.port, args.baud, timeout=2), args.baud)
    except serial.SerialException as e:
        raise ParamError("port", args.port, text="{name} {value}: cannot open ({why})", why=e) from None


def parse_args(argv):
    ap = UsageParser(prog="python -m boards.host", description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board, e.g. /dev/ttyUSB1")
    where.add_argument("--sim", action="store_true", help="run against the simulated board top")
    where.add_argument("--sim-bitstream", action="store_true", help="build (or reuse) the iCE40 bitstream at "
                       "--sim-divisor cycles per UART bit and run against its decoded image (boards.decode)")
    ap.add_argument("--board", default="icebreaker", help="with --sim-bitstream: the board (default icebreaker)")
    ap.add_argument("--out", default=os.path.join("build", "boards"), help="with --sim-bitstream: build folder")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--sim-divisor", type=int, default=4,
                    help="clock cycles per UART bit in --sim and --sim-bitstream (default 4)")
    add_core_options(ap, 8, 2, 2, seed_help="weights seed the bitstream was built with")
    add_weight_memory_option(ap, "as the bitstream was built: spram writes the weights over the link first "
                             "(default bram)")
    ap.add_argument("--network", metavar="FILE", help="a network file (.json from sim.network or reports.network, "
                    "or .nir) the board runs as a chain (boards.flash --network); its held-out images, or --inputs")
    add_network_options(ap)
    add_max_lanes_option(ap, "with --network, as the bitstream was built: ")
    ap.add_argument("--threshold", type=int, default=None, help="default: near the spread of the inputs' drive (sim.evidence.spread_threshold), so neurons fire")
    ap.add_argument("--inputs", metavar="FILE.npy", help="spike levels, shape (inferences, T, n_in)")
    ap.add_argument("--spike-rate", type=float, default=0.1, help="random inputs at this rate (default 0.1)")
    ap.add_argument("--count", type=int, default=8, help="random inferences, or with --network its first "
                    "held-out images (default 8)")
    ap.add_argument("--retries", type=int, default=3,
                    help="resend a request whose frame the board lost on the wire at most this often (default 3)")
    return ap.parse_args(argv)


def load_inputs(path, T, n_in, K):
    """Spike levels (N, T, n_in) in 0..K from a .npy file, checked."""
    spikes = load_int_array("inputs", path)
    if spikes.ndim != 3 or spikes.shape[1:] != (T, n_in) or not spikes.size or spikes.min() < 0 or spikes.max() > K:
        raise ParamError("inputs", path, text="{name} {value}: need levels 0..{k} of shape (N, {t}, {n})", k=K, t=T, n=n_in)
    return spikes


def network_images(args, net, S, T):
    """(spike levels, labels or None) for --network: --inputs, or the first --count held-out
    images of the data set the network file records (`sim.network`)."""
    from sim.datasets import DATASETS
    from sim.network import encode_spikes, held_out
    from sim.validate import load_json
    n_in = net.weights[0].shape[1]
    if args.inputs:
        if "count" in args.given:
            raise ParamError("count", args.count, text="{name} takes the first held-out images: with --inputs, drop it")
        return load_inputs(args.inputs, T, n_in, 2 ** S - 1), None
    record = {} if str(args.network).endswith(".nir") else load_json("network", args.network)
    dataset = record.get("dataset")
    name = dataset.get("name") if isinstance(dataset, dict) else None
    if name not in DATASETS:
        raise ParamError("network", args.network, text="{name} {value} records no data set it was trained on "
                         "(sim.network writes one): give --inputs")
    counts, y = held_out(name, T * (2 ** S - 1))
    if counts.shape[1] != n_in:     # a network with always-on (bias) inputs, or another set's
        raise ParamError("network", args.network, text="{name} {value} takes {n} inputs, and its data set {set} "
                         "has {pixels} pixels: give --inputs", n=n_in, set=name, pixels=counts.shape[1])
    if not 1 <= args.count <= len(y):
        raise ParamError("count", args.count, f"1..{len(y)} (the held-out images)")
    return encode_spikes(counts[:args.count], T), y[:args.count]


def main_network(args):
    """--network: the chain's board, checked beat by beat against the twin network."""
    from gen.nirgraph import load_network
    given = [option(k) for k in ("n_in", "n_out", "lanes", "seed", "threshold", "spike_rate") if k in args.given]
    if given:
        raise ParamError("network", args.network, text="{name} {value} sets the layers, weights and thresholds: "
                         "drop {given}", given="/".join(given))
    if args.sim_bitstream:
        raise ParamError("network", args.network, text="{name} cannot run with --sim-bitstream, which decodes "
                         "single cores' bitstreams only (and a network's board keeps its largest layer in SPRAM, "
                         "which icebox_vlog does not decode); use --sim")
    net, S, T = load_network(args.network, **network_bits(args))
    spikes, labels = network_images(args, net, S, T)
    chain, _, _ = network_core((net, S, T), args.max_lanes, args.weight_memory,
                                   spram=SpramStandIn if args.sim else SpramWeightMemory)
    if not args.sim:        # the chain gives the id, the twin and the weights to load; it is not built
        for unused in [chain] + chain.cores:
            unused._MustUse__silence = True
    report = run_network(Link(open_port(args, None, None, chain), args.retries), chain, net, S, T, spikes, labels)
    where = "simulated board" if args.sim else args.port
    right = "" if labels is None else f"{report['right']}/{len(spikes)} classified right, "
    print(f"{report['beats']} beats ({report['inferences']} images) through {where}: {report['mismatched_beats']} "
          f"mismatched beats vs the twin network; {right}{report['agree']}/{len(spikes)} as the twin; "
          f"{report['core_cycles']} core cycles ({report['core_cycles'] / len(spikes):.0f} per image); "
          f"{report['retries']} retries" + (f"; weights loaded and verified ({report['load_bytes']} bytes, "
                                            f"{report['load_seconds']:.2f} s)" if report["load_bytes"] else ""))
    return 1 if report["mismatched_beats"] else 0


@command("python -m boards.host")
def main(argv=None):
    args = parse_args(argv)
    if args.sim and args.sim_divisor < 4:
        raise ParamError("sim_divisor", args.sim_divisor, "an integer >= 4 (clock cycles per UART bit)")
    if args.baud < 1:
        raise ParamError("baud", args.baud, "an integer >= 1")
    if args.retries < 0:
        raise ParamError("retries", args.retries, ">= 0")
    if args.network:
        return main_network(args)
    network_only = [option(k) for k in ("max_lanes", "calibration_data", "calibration_labels") if k in args.given]
    if network_only:
        raise ParamError("network", None, text="{given} only with --network", given="/".join(network_only))
    params = core_params(args)
    if args.weight_memory == "spram":
        SpramWeightMemory.check(params)
        if args.sim_bitstream:
            raise ParamError("weight_memory", "spram", text="{name} {value} cannot run with --sim-bitstream: "
                             "icebox_vlog does not decode SPRAM; use --sim or a board")
    weights, _ = make_weights(params, None, args.seed)
    if args.inputs:
        spikes = load_inputs(args.inputs, params.T, params.n_in, params.K)
    else:
        if args.count < 1 or not 0 <= args.spike_rate <= 1:
            raise ParamError("count", args.count, text="{name} must be >= 1 and {spike_rate} in 0..1")
        spikes = spike_train(args.seed, (args.count, params.T, params.n_in), params.S, args.spike_rate)
    # the old default, n_in * w_max * K / 8, was far above the drive: the default core's
    # outputs were all zero, and "0 mismatched beats" compared only zeros
    threshold = args.threshold if args.threshold is not None else spread_threshold(weights, spikes, params.K)
    if not 1 <= threshold < 2 ** params.theta_width:
        raise ParamError("threshold", threshold, f"1..{2 ** params.theta_width - 1}")
    if args.sim_bitstream:
        from .decode import run_board
        report, bitstream = run_board(args.board, params, args.seed, spikes, threshold, args.sim_divisor, args.out,
                                      args.retries)
        where = f"the decoded bitstream {bitstream}"
    else:
        report = run(Link(open_port(args, params, weights), args.retries), params, weights, spikes, threshold,
                     load=args.weight_memory == "spram")
        where = "simulated board" if args.sim else args.port
    print(f"{report['beats']} beats ({report['inferences']} inferences) through {where}: "
          f"{report['mismatched_beats']} mismatched beats vs the twin; {report['beats_per_s']:.1f} beats/s "
          f"over the link; {report['core_cycles']} core cycles "
          f"({report['core_cycles'] / report['beats']:.1f} per beat); {report['retries']} retries"
          + (f"; weights loaded and verified ({report['load_bytes']} bytes, {report['load_seconds']:.2f} s)"
             if report.get("load_bytes") else ""))
    return 1 if report["mismatched_beats"] else 0


if __name__ == "__main__":
    sys.exit(main())
