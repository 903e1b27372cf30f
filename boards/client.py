"""The host end of the link: requests over a byte port, a serial port wired to the simulated
board top, and a run that streams beats and checks every output beat against the twin."""

import time
from collections import deque

from gen.manifest import core_id
from sim.beats import SNN

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
