"""`python -m boards.fuzz --frames 500 --seed 1`: hostile traffic into the simulated board
top (bit-level UART, Amaranth simulator), each hostile frame followed by valid requests.

Hostile frames, drawn with a seeded generator: a valid frame with 1-3 bytes changed
(`corrupt`), a valid frame cut short (`truncate`), random bytes with sync bytes among
them, some followed by a long length field (`stray`), a valid frame with one byte sent
with a 0 stop bit (`framing`), and four requests written back to back, which overrun
the board's receiver (`burst`). Two valid frames written back to back (`back-to-back`)
must both be answered. After each hostile frame the host waits the timeout gap
(`Link` drain), then sends 1-3 valid requests (ID; THRESHOLD then BEAT; CYCLES) with no
retries: each must be answered correctly at once (`lost` counts those that were not).
The core has T = 1, so every beat is a whole inference and a hostile frame that happens
to pass the checksum cannot shift the expected answers of later beats.
"""

import sys

import numpy as np

from gen.manifest import core_id
from gen.weights import make_weights
from sim.beats import SNN
from sim.cli import UsageParser, command
from sim.params import CoreParams, ParamError

from . import protocol as P
from .client import Link, SimulatedBoard

HOSTILE = ("corrupt", "truncate", "stray", "framing", "burst", "back-to-back")
PARAMS = CoreParams(4, 2, 1, 8, 2)


NAMES = {**P.ERRORS, P.CMD_ID: "ID answer", P.CMD_THRESHOLD: "THRESHOLD answer", P.CMD_BEAT: "BEAT answer",
         P.CMD_CYCLES: "CYCLES answer"}


def frame_codes(data):
    """The codes of the board frames in `data` (what a drain dropped)."""
    codes, i = [], 0
    while i + P.HEADER_BYTES <= len(data):
        if data[i] != P.BOARD_SYNC:
            i += 1
            continue
        codes.append(data[i + 1])
        i += P.HEADER_BYTES + int.from_bytes(data[i + 3:i + P.HEADER_BYTES], "little") + 1
    return codes


class Fuzzer:
    def __init__(self, seed, divisor=4):
        self.rng = np.random.default_rng(seed)
        self.weights, _ = make_weights(PARAMS, None, seed)
        from .top import BoardTop
        self.port = SimulatedBoard(BoardTop.for_core(PARAMS, self.weights, divisor), max_cycles_per_read=2000)
        self.link = Link(self.port, retries=0)
        self.ident = core_id(PARAMS, self.weights).to_bytes(P.ID_BYTES, "little")
        self.in_bits = SNN.in_bits(PARAMS.n_in, PARAMS.S, PARAMS.T)
        self.cycles = 0
        self.figures = {"frames": 0, **{k: 0 for k in HOSTILE}, "requests": 0, "lost": 0,
                        "dropped": {}}

    def valid_frame(self):
        code = int(self.rng.choice([P.CMD_ID, P.CMD_THRESHOLD, P.CMD_BEAT, P.CMD_CYCLES]))
        n = {P.CMD_THRESHOLD: P.nbytes(PARAMS.theta_width), P.CMD_BEAT: P.nbytes(self.in_bits)}.get(code, 0)
        return P.frame(code, self.rng.integers(0, 256, n, dtype=np.uint8).tobytes())

    def hostile(self, kind):
        """(bytes, index of a byte to send with a 0 stop bit or None)."""
        rng, f = self.rng, bytearray(self.valid_frame())
        if kind == "corrupt":
            for i in rng.choice(len(f), size=min(len(f), int(rng.integers(1, 4))), replace=False):
                f[i] ^= int(rng.integers(1, 256))
            return bytes(f), None
        if kind == "truncate":
            return bytes(f[:int(rng.integers(1, len(f)))]), None
        if kind == "stray":
            junk = rng.integers(0, 256, int(rng.integers(1, 24)), dtype=np.uint8)
            junk[rng.random(len(junk)) < 0.3] = P.HOST_SYNC
            if rng.random() < 0.3:      # a sync byte, then a length that would swallow what follows
                junk = np.concatenate([junk, [P.HOST_SYNC, P.CMD_BEAT, rng.integers(0, 256), 0xA5]]).astype(np.uint8)
            return junk.tobytes(), None
        if kind == "framing":
            return bytes(f), int(rng.integers(0, len(f)))
        if kind == "burst":
            return P.frame(P.CMD_ID) * 4, None
        raise ValueError(kind)

    def ask(self, code, payload=b"", want=None):
        """One valid request, no retries; counts it lost unless the answer is right."""
        self.figures["requests"] += 1
        try:
            got = self.link.request(code, payload)
        except P.LinkError:
            got = None
        if got is None or (want is not None and got != want):
            self.figures["lost"] += 1
        return got

    def beat_answer(self, threshold):
        spikes = self.rng.integers(0, PARAMS.K + 1, (1, 1, PARAMS.n_in))
        beat = SNN.encode(spikes, PARAMS.S, PARAMS.T)[0]
        want = SNN.expected(self.weights, spikes, threshold, PARAMS.S, PARAMS.T)[0]
        n_out = P.nbytes(SNN.in_bits(PARAMS.n_out, PARAMS.S, PARAMS.T) + 1)     # the levels and `last`
        return P.to_bytes(beat, self.in_bits), int(want).to_bytes(n_out, "little")

    def valid_requests(self):
        for _ in range(int(self.rng.integers(1, 4))):
            what = int(self.rng.integers(0, 3))
            if what == 0:
                self.ask(P.CMD_ID, want=self.ident)
            elif what == 1:
                threshold = int(self.rng.integers(1, 2 ** PARAMS.theta_width))
                self.ask(P.CMD_THRESHOLD, P.to_bytes(threshold, PARAMS.theta_width), want=b"")
                self.ask(P.CMD_BEAT, *self.beat_answer(threshold))
            else:
                got = self.ask(P.CMD_CYCLES)
                if got is not None:
                    cycles = int.from_bytes(got, "little")
                    if len(got) != P.CYCLE_BYTES or cycles < self.cycles:
                        self.figures["lost"] += 1
                    self.cycles = cycles

    def back_to_back(self):
        """Two valid requests in one write: both answered, in order."""
        threshold = int(self.rng.integers(1, 2 ** PARAMS.theta_width))
        beat, want = self.beat_answer(threshold)
        first = self.link.frame(P.CMD_THRESHOLD, P.to_bytes(threshold, PARAMS.theta_width))
        second = self.link.frame(P.CMD_BEAT, beat)
        self.port.write(first + second)
        for expected in [(P.CMD_THRESHOLD, first[2], b""), (P.CMD_BEAT, second[2], want)]:
            self.figures["requests"] += 1
            try:
                self.figures["lost"] += P.read_answer(self.port.read) != expected
            except P.LinkError:
                self.figures["lost"] += 1

    def run(self, frames):
        for _ in range(frames):
            kind = HOSTILE[self.figures["frames"] % len(HOSTILE)]     # each kind in turn, drawn at random
            self.figures["frames"] += 1
            self.figures[kind] += 1
            if kind == "back-to-back":
                self.back_to_back()
            else:
                data, bad = self.hostile(kind)
                self.port.corrupt = bad
                self.port.write(data)
            for code in frame_codes(self.port.drain()):      # the timeout gap
                name = NAMES.get(code, f"0x{code:02x}")
                self.figures["dropped"][name] = self.figures["dropped"].get(name, 0) + 1
            self.valid_requests()
        self.figures["cycles"] = self.port.cycles
        return self.figures


def fuzz(frames, seed=0):
    """Figures of a seeded fuzz run of `frames` hostile frames."""
    return Fuzzer(seed).run(frames)


@command("python -m boards.fuzz")
def main(argv=None):
    ap = UsageParser(prog="python -m boards.fuzz", description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=500, help="hostile frames (default 500)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if args.frames < 1:
        raise ParamError("frames", args.frames, ">= 1")
    f = fuzz(args.frames, args.seed)
    kinds = ", ".join(f"{k} {f[k]}" for k in HOSTILE)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(f["dropped"].items()))
    print(f"{f['frames']} hostile frames ({kinds}), seed {args.seed}: {f['requests']} valid requests after "
          f"the timeout gap, {f['lost']} lost; board frames dropped in the gaps: {dropped}; {f['cycles']} simulated cycles")
    return 1 if f["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
