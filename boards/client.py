"""The host end of the link: requests over a byte port, a serial port wired to the simulated
board top, a weight load for a core with its weights in SPRAM, and a run that streams
beats and checks every output beat against the twin."""

import time
from collections import deque

from amaranth.hdl import Module
from amaranth.lib.memory import Memory

from gen.manifest import core_id
from gen.spram import SpramWeightMemory
from gen.weights import weight_words
from sim.beats import SNN

from . import protocol as P

STEPS_PER_CYCLE = 2     # Simulator.advance() stops at both clock edges


class Link:
    """Requests over a byte port with `write(bytes)`, `read(n) -> bytes` and `drain()` (wait
    until the board's receiver has timed out and the line is quiet, dropping what came).

    Each request gets the next seq. A request whose answer is missing, malformed, for
    another seq, or an error frame for a frame lost on the wire (bad checksum, framing
    error, overrun, timeout: `protocol.TRANSIENT`) is sent again, with the same seq, after
    a drain, at most `retries` times: the board runs it if it never got it and otherwise
    sends its answer again, so a BEAT never runs twice. `resent` counts the retries."""

    def __init__(self, port, retries=3):
        self.port, self.retries = port, retries
        self.resent = 0                     # requests sent again, over the link's life
        self.seq = 0

    def frame(self, code, payload=b""):
        """The next request's frame (a new seq)."""
        self.seq = (self.seq + 1) & 0xFF
        return P.frame(code, payload, seq=self.seq)

    def request(self, code, payload=b""):
        frame, seq = self.frame(code, payload), self.seq
        for attempt in range(self.retries + 1):
            if attempt:
                self.resent += 1
                self.port.drain()
            self.port.write(frame)
            try:
                answer, got_seq, data = P.read_answer(self.port.read)
            except P.LinkError as e:
                why = str(e)
                continue
            why = f"the board answered {P.ERRORS.get(answer, hex(answer))} to command 0x{code:02x}"
            if answer == code and got_seq == seq:
                return data
            if answer in P.ERRORS and answer not in P.TRANSIENT:
                raise P.LinkError(why)
            if got_seq != seq:
                why = f"the board answered request {got_seq}, not {seq}"
        raise P.LinkError(f"{why} (after {self.retries} retries)")


class SerialPort:
    """A pyserial port with the `drain` a `Link` needs."""

    def __init__(self, serial_port, baud):
        self.serial = serial_port
        # twice the receiver's timeout, and at least 50 ms: a USB adapter holds bytes up to 16 ms
        self.quiet = max(0.05, 2 * P.TIMEOUT_BYTES * P.BITS_PER_BYTE / baud)

    def write(self, data):
        self.serial.write(data)

    def read(self, n):
        return self.serial.read(n)

    def drain(self):
        self.serial.flush()
        while True:
            time.sleep(self.quiet)
            if not self.serial.in_waiting:
                return
            self.serial.reset_input_buffer()


class SpramStandIn(SpramWeightMemory):
    """Simulation only (`SimulatedBoard`, `boards.host --sim`): SpramWeightMemory's ports and
    timing on an Amaranth memory, as Amaranth's simulator cannot run the SB_SPRAM256KA
    instances. The cells themselves, and cores loaded through them, are checked against
    the twin on the yosys cell model in tests/test_spram.py; never built into a bitstream.
    Like SPRAM, it holds no weights until they are written (zeros here)."""

    def elaborate(self, platform):
        m = Module()
        p, load = self.params, self.load
        m.submodules.memory = memory = Memory(shape=p.lanes * p.W, depth=p.n_in * p.groups, init=[])
        write, read = memory.write_port(), memory.read_port()
        m.d.comb += [write.addr.eq(load.addr), write.data.eq(load.data), write.en.eq(load.we),
                     read.addr.eq(self.addr), read.en.eq(self.en & ~load.we)]    # a write wins, as in SPRAM
        m.d.sync += self.row.eq(read.data)
        return m


class SimulatedBoard:
    """A serial port wired to a simulated `BoardTop`: written bytes go bit by bit into its
    `rx` pin, bytes from its `tx` pin come back from `read`; `drain` waits out the board's
    timeout. `divisor` cycles per bit."""

    def __init__(self, top, max_cycles_per_read=200_000):
        from amaranth.sim import Simulator
        self.top, self.divisor, self.max_cycles = top, top.divisor, max_cycles_per_read
        self.to_board, self.from_board = deque(), bytearray()
        self.steps = 0                      # simulator steps: a rising and a falling clock edge per cycle
        self.sim = Simulator(top)
        self.sim.add_clock(1e-6)
        self.sim.add_testbench(self._drive, background=True)
        self.sim.add_testbench(self._listen, background=True)
        self.corrupt = None                 # tests: the index of a byte in the next write to send with a 0 stop bit
        self.sending = False

    async def _drive(self, ctx):
        while True:
            if not self.to_board:
                await ctx.tick()
                continue
            byte, bad = self.to_board.popleft()
            self.sending = True
            for bit in [0] + [byte >> i & 1 for i in range(8)] + [0 if bad else 1]:
                ctx.set(self.top.rx, bit)
                await ctx.tick().repeat(self.divisor)
            ctx.set(self.top.rx, 1)
            await ctx.tick().repeat(self.divisor)
            self.sending = False

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

    @property
    def cycles(self):
        return self.steps // STEPS_PER_CYCLE

    def _step(self):
        self.sim.advance()
        self.steps += 1

    def write(self, data):
        for i, byte in enumerate(data):
            self.to_board.append((byte, i == self.corrupt))
        self.corrupt = None

    def drain(self):
        """Let the written bytes go out, then wait until nothing has come back for twice
        the board's timeout; returns what came back, dropped."""
        quiet = 2 * STEPS_PER_CYCLE * self.top.timeout
        last, seen = self.steps, len(self.from_board)
        while self.to_board or self.sending or self.steps - last < quiet:
            self._step()
            if self.to_board or self.sending or len(self.from_board) != seen:
                last, seen = self.steps, len(self.from_board)
        dropped = bytes(self.from_board)
        self.from_board.clear()
        return dropped

    def read(self, n):
        start = self.steps
        while len(self.from_board) < n and self.steps - start < STEPS_PER_CYCLE * self.max_cycles * n:
            self._step()
        data = bytes(self.from_board[:n])
        del self.from_board[:n]
        return data


def load_weights(link, params, weights, max_payload=P.MAX_PAYLOAD):
    """Write the weights into a board whose core keeps them in SPRAM (WEIGHTS frames from
    word 0), then ask for the load check and compare it with the host's; a frame sent again
    (its bytes were written twice) shows as a mismatch, so the load is repeated, at most
    `link.retries` times. Returns (bytes sent, seconds); LinkError if the check differs."""
    word_bytes = P.nbytes(params.lanes * params.W)
    payloads = P.weight_payloads(weight_words(params, weights), word_bytes, max_payload)
    want = P.load_check(payloads, word_bytes)
    start = time.perf_counter()
    for attempt in range(link.retries + 1):
        resent = link.resent
        for payload in payloads:
            link.request(P.CMD_WEIGHTS, payload)
        answer = link.request(P.CMD_WEIGHTS)
        got = int.from_bytes(answer[:P.CHECK_BYTES], "little"), int.from_bytes(answer[P.CHECK_BYTES:], "little")
        if got == want:
            sent = sum(P.HEADER_BYTES + len(p) + 1 for p in payloads)
            return sent, time.perf_counter() - start
        if link.resent == resent:       # nothing was disturbed on the wire: loading again will not help
            break
    raise P.LinkError(f"weight load check failed: the board holds {got[1]} words with CRC-32 {got[0]:08x}, "
                      f"the host sent {want[1]} with {want[0]:08x}")


def run(link, params, weights, spikes, threshold, load=False):
    """Check the board's id, write the weights if `load` (SPRAM), load the threshold, stream
    every beat; returns a report dict. For a SPRAM core the id names the weights only once
    the load is verified."""
    expected_id = core_id(params, weights)
    got_id = int.from_bytes(link.request(P.CMD_ID), "little")
    if got_id != expected_id:
        raise P.LinkError(f"the board runs core {got_id:016x}, not {expected_id:016x}: "
                          f"rebuild with boards.flash for these parameters and weights")
    load_bytes, load_seconds = load_weights(link, params, weights) if load else (0, 0.0)
    link.request(P.CMD_THRESHOLD, P.to_bytes(threshold, params.theta_width))
    S, T = params.S, params.T
    words, report = stream(link, SNN.encode(spikes, S, T), SNN.in_bits(params.n_in, S, T))
    mismatches, _ = compare(words, SNN.expected(weights, spikes, threshold, S, T), params.n_out, S, T)
    return report | {"inferences": len(spikes), "mismatched_beats": mismatches,
                     "load_bytes": load_bytes, "load_seconds": load_seconds}


def compare(words, expected, n_out, S, T):
    """(output beats that differ from the expected ones, levels (beats, n_out) the board sent)."""
    got, lasts = SNN.decode(words, n_out, S, T)
    want, want_last = SNN.decode(expected, n_out, S, T)
    return int((got != want).any(axis=1).sum() + (lasts != want_last).sum()), got


def stream(link, beats, in_bits):
    """Each input beat as a BEAT request; returns (output beats, report: beats, seconds,
    beats_per_s, the core's cycles from the board's CYCLES, retries)."""
    cycles_before = int.from_bytes(link.request(P.CMD_CYCLES), "little")
    start = time.perf_counter()
    words = [int.from_bytes(link.request(P.CMD_BEAT, P.to_bytes(int(w), in_bits)), "little") for w in beats]
    seconds = time.perf_counter() - start
    core_cycles = int.from_bytes(link.request(P.CMD_CYCLES), "little") - cycles_before
    return words, {"beats": len(words), "seconds": seconds, "beats_per_s": len(words) / seconds,
                   "core_cycles": core_cycles, "retries": link.resent}


def run_network(link, chain, net, S, T, spikes, labels=None):
    """Check the board's id (the chain's), write the SPRAM layer's weights if the chain has
    one (`Chain.loaded`), stream every image's beats; returns a report dict: mismatched beats
    against the twin network, and the images the board and the twin classify right (`labels`,
    or None) and alike (the class: the output with the most spikes, lowest index on a tie)."""
    from gen.manifest import chain_id
    from sim.network import predict
    got_id, expected_id = int.from_bytes(link.request(P.CMD_ID), "little"), chain_id(chain)
    if got_id != expected_id:
        raise P.LinkError(f"the board runs core {got_id:016x}, not the network's {expected_id:016x}: "
                          f"rebuild with boards.flash --network and the same --max-lanes and --weight-memory")
    loaded = chain.loaded
    load_bytes, load_seconds = load_weights(link, loaded.params, loaded.weights) if loaded else (0, 0.0)
    n_out = net.weights[-1].shape[0]
    words, report = stream(link, SNN.encode(spikes, S, T), SNN.in_bits(net.weights[0].shape[1], S, T))
    levels = net.snn(spikes, S)[0][-1]
    mismatches, got = compare(words, SNN.output_beats(levels, S, T), n_out, S, T)
    board = predict(got.reshape(len(spikes), T, n_out).sum(axis=1))
    return report | {"inferences": len(spikes), "mismatched_beats": mismatches,
                     "agree": int((board == predict(levels.sum(axis=-2))).sum()),
                     "right": None if labels is None else int((board == labels).sum()),
                     "load_bytes": load_bytes, "load_seconds": load_seconds}
