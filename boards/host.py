"""`python -m boards.host --port /dev/ttyUSB1 --W 8 --S 2 --T 2 --spike-rate 0.1`: send input
beats to a board running the SNN core, read its output beats, check them bit for bit
against the twin, and print throughput and mismatches. `--sim` runs the same client
against the simulated board top (Amaranth simulator, bit-level UART), so the whole
path is tested without hardware. Exit status: 0 all beats match, 1 mismatches, 2 usage
or link errors.
"""

import sys
import time
from collections import deque

import numpy as np

from gen.manifest import core_id
from gen.weights import make_weights
from sim.cli import UsageParser, add_core_params
from sim.params import CoreParams, ParamError
from sim.beats import SNN
from sim.stimulus import spike_train

from . import protocol as P


class Link:
    """Requests over a byte port with `write(bytes)` and `read(n) -> bytes`."""

    def __init__(self, port):
        self.port = port

    def request(self, code, payload=b""):
        self.port.write(P.frame(code, payload))
        answer, data = P.read_frame(self.port.read)
        if answer != code:
            raise P.LinkError(f"the board answered {P.ERRORS.get(answer, hex(answer))} to command 0x{code:02x}")
        return data


class SimulatedBoard:
    """A serial port wired to a simulated `BoardTop`: written bytes go bit by bit into its
    `rx` pin, bytes from its `tx` pin come back from `read`. `divisor` cycles per bit."""

    def __init__(self, top, max_cycles_per_read=200_000):
        from amaranth.sim import Simulator
        self.top, self.divisor, self.max_cycles = top, top.divisor, max_cycles_per_read
        self.to_board, self.from_board = deque(), bytearray()
        self.cycles = 0
        self.sim = Simulator(top)
        self.sim.add_clock(1e-6)
        self.sim.add_testbench(self._drive, background=True)
        self.sim.add_testbench(self._listen, background=True)
        self.corrupt = None                 # tests: the index of a byte in the next write to send with a 0 stop bit

    async def _drive(self, ctx):
        while True:
            if not self.to_board:
                await ctx.tick()
                continue
            byte, bad = self.to_board.popleft()
            for bit in [0] + [byte >> i & 1 for i in range(8)] + [0 if bad else 1]:
                ctx.set(self.top.rx, bit)
                await ctx.tick().repeat(self.divisor)
            ctx.set(self.top.rx, 1)
            await ctx.tick().repeat(self.divisor)

    async def _listen(self, ctx):
        while True:
            await ctx.tick()
            if ctx.get(self.top.tx):
                continue
            await ctx.tick().repeat(self.divisor // 2)
            bits = []
            for _ in range(9):
                await ctx.tick().repeat(self.divisor)
                bits.append(ctx.get(self.top.tx))
            if bits[8]:
                self.from_board.append(sum(b << i for i, b in enumerate(bits[:8])))

    def write(self, data):
        for i, byte in enumerate(data):
            self.to_board.append((byte, i == self.corrupt))
        self.corrupt = None

    def read(self, n):
        start = self.cycles
        while len(self.from_board) < n and self.cycles - start < self.max_cycles * n:
            self.sim.advance()
            self.cycles += 1
        data = bytes(self.from_board[:n])
        del self.from_board[:n]
        return data


def open_port(args, params, weights):
    if args.sim:
        from .top import BoardTop
        return SimulatedBoard(BoardTop.for_core(params, weights, divisor=args.sim_divisor))
    try:
        import serial
    except ImportError:
        raise ParamError("--port needs pyserial: pip install -e '.[board]'") from None
    try:
        return serial.Serial(args.port, args.baud, timeout=2)
    except serial.SerialException as e:
        raise ParamError(f"--port {args.port}: cannot open ({e})") from None


def run(link, params, weights, spikes, threshold):
    """Check the board's id, load the threshold, stream every beat; returns a report dict."""
    expected_id = core_id(params, weights)
    got_id = int.from_bytes(link.request(P.CMD_ID), "little")
    if got_id != expected_id:
        raise P.LinkError(f"the board runs core {got_id:016x}, not {expected_id:016x}: "
                          f"rebuild with boards.flash for these parameters and weights")
    link.request(P.CMD_THRESHOLD, P.to_bytes(threshold, params.theta_width))
    S, T = params.S, params.T
    in_bits = SNN.in_bits(params.n_in, S, T)
    cycles_before = int.from_bytes(link.request(P.CMD_CYCLES), "little")
    start = time.perf_counter()
    words = [int.from_bytes(link.request(P.CMD_BEAT, P.to_bytes(w, in_bits)), "little")
             for w in SNN.encode(spikes, S, T)]
    seconds = time.perf_counter() - start
    core_cycles = int.from_bytes(link.request(P.CMD_CYCLES), "little") - cycles_before
    got, lasts = SNN.decode(words, params.n_out, S, T)
    want, want_last = SNN.decode(SNN.expected(weights, spikes, threshold, S, T), params.n_out, S, T)
    mismatches = int((got != want).any(axis=1).sum() + (lasts != want_last).sum())
    return {"beats": len(words), "inferences": len(spikes), "mismatched_beats": mismatches,
            "seconds": seconds, "beats_per_s": len(words) / seconds, "core_cycles": core_cycles}


def parse_args(argv):
    ap = UsageParser(prog="python -m boards.host", description=__doc__.split("\n\n")[0])
    where = ap.add_mutually_exclusive_group(required=True)
    where.add_argument("--port", help="serial port of the board, e.g. /dev/ttyUSB1")
    where.add_argument("--sim", action="store_true", help="run against the simulated board top")
    ap.add_argument("--baud", type=int, default=115200)
    ap.add_argument("--sim-divisor", type=int, default=4, help="clock cycles per UART bit in --sim (default 4)")
    add_core_params(ap, "weights seed the bitstream was built with (default 0)")
    ap.add_argument("--threshold", type=int, default=None, help="default: n_in * w_max * K / 8")
    ap.add_argument("--inputs", metavar="FILE.npy", help="spike levels, shape (inferences, T, n_in)")
    ap.add_argument("--spike-rate", type=float, default=0.1, help="random inputs at this rate (default 0.1)")
    ap.add_argument("--count", type=int, default=8, help="random inferences (default 8)")
    return ap.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        params = CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes)
        weights, _ = make_weights(params, None, args.seed)
        if args.inputs:
            spikes = np.load(args.inputs)
            if spikes.ndim != 3 or spikes.shape[1:] != (params.T, params.n_in) or spikes.min() < 0 or spikes.max() > params.K:
                raise ParamError(f"--inputs {args.inputs}: need levels 0..{params.K} of shape (N, {params.T}, {params.n_in})")
        else:
            if args.count < 1 or not 0 <= args.spike_rate <= 1:
                raise ParamError("--count must be >= 1 and --spike-rate in 0..1")
            spikes = spike_train(args.seed, (args.count, params.T, params.n_in), params.S, args.spike_rate)
        threshold = args.threshold if args.threshold is not None else max(1, params.n_in * params.w_max * params.K // 8)
        if not 1 <= threshold < 2 ** params.theta_width:
            raise ParamError(f"--threshold {threshold} is out of range: legal is 1..{2 ** params.theta_width - 1}")
        report = run(Link(open_port(args, params, weights)), params, weights, spikes, threshold)
    except (ParamError, P.LinkError) as e:
        print(f"python -m boards.host: error: {e}", file=sys.stderr)
        return 2
    where = "simulated board" if args.sim else args.port
    print(f"{report['beats']} beats ({report['inferences']} inferences) through {where}: "
          f"{report['mismatched_beats']} mismatched beats vs the twin; {report['beats_per_s']:.1f} beats/s "
          f"over the link; {report['core_cycles']} core cycles "
          f"({report['core_cycles'] / report['beats']:.1f} per beat)")
    return 1 if report["mismatched_beats"] else 0


if __name__ == "__main__":
    sys.exit(main())
