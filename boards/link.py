"""The board side of the framed protocol in `boards.protocol`, around one core, as three
stream components:

    UART rx bytes -> FrameReceiver -> requests -> CommandExecutor -> answers -> FrameTransmitter -> UART tx bytes

`FrameReceiver` hunts for the sync byte, checks a frame and hands on its code, seq and payload,
or an error code in place of a frame (bad checksum, a length that does not match the
command, an unknown command, a UART framing error or overrun, a frame cut short by the
inter-byte timeout). `CommandExecutor` runs a request on the core: ID (the core's 8-byte
id, so the host can refuse a mismatched bitstream), THRESHOLD (load the threshold
register; unknown for a chain, whose thresholds are built in), BEAT (one input beat in;
the answer is the core's output beat for it), CYCLES (the 32-bit count of cycles the core
has spent on beats, from input handshake, or the first cycle a core that holds its beat
saw it, to output handshake); an error code becomes an
error answer; a command with the code and seq of the last one it ran gets that answer again
(the host resent it). `FrameTransmitter` frames an answer. `HostLink` wires the three.

For a core with a `load` port (weights in SPRAM, `gen.spram`) the receiver also hands on
WEIGHTS payload bytes one by one as they arrive, to the executor's `WeightLoader`, which
writes each word into the core as its last byte comes (no frame-sized buffer); without
one, all three are as they were.
"""

from contextlib import contextmanager
from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from gen.spram import load_signature

from . import protocol as P

LENGTH_BITS = 8 * P.LENGTH_BYTES


def request_layout(max_bytes):
    """A checked frame: its code (or an error code), seq and the last `max_bytes` payload
    bytes received, the payload in the top `length` bytes (bytes shift in from the top)."""
    return data.StructLayout({"code": 8, "seq": 8, "data": 8 * max(1, max_bytes)})


def answer_layout(max_bytes):
    """An answer frame's code, seq, payload length and payload (byte 0 in the low bits)."""
    return data.StructLayout({"code": 8, "seq": 8, "length": LENGTH_BITS, "data": 8 * max(1, max_bytes)})


def payload_of(request, nbytes):
    """The payload of an `nbytes`-byte command in a `request_layout` request."""
    return request.data[len(request.data) - 8 * nbytes:]


class FrameReceiver(wiring.Component):
    """Frames from bytes. `lengths` maps each command code to its payload bytes, or to None
    for at most one command whose payload, of any length, goes out byte by byte on
    `streamed` as it arrives (the frame's result still comes on `o` at its end). A frame
    is checked when its check byte arrives: bad checksum first, then unknown command, then
    length. Mid-frame, a framing error, or `timeout` cycles without a byte, ends the frame
    with an error; an overrun (a byte lost while `i` was not ready) is reported in any
    state. The receiver returns to sync hunting after every frame and every error, so
    whatever came before, a valid frame that starts after `timeout` idle cycles (and after
    the previous result was taken) is received."""

    def __init__(self, lengths, timeout, sync=P.HOST_SYNC):
        self.lengths, self.timeout, self.sync = dict(lengths), timeout, sync
        self.max_bytes = max(n for n in self.lengths.values() if n is not None)
        self.streamed_code = next((c for c, n in self.lengths.items() if n is None), None)
        streamed = {} if self.streamed_code is None else {"streamed": Out(stream.Signature(8))}
        super().__init__({"i": In(stream.Signature(8)), "framing_error": In(1), "overrun": In(1),
                          "o": Out(stream.Signature(request_layout(self.max_bytes))), "busy": Out(1), **streamed})

    def elaborate(self, platform):
        m = Module()
        o, byte = self.o, self.i.payload
        buf = o.payload.data                   # payload bytes shift in here; stable while o.valid
        code, seq, length, count = Signal(8), Signal(8), Signal(LENGTH_BITS), Signal(LENGTH_BITS)
        total = Signal(8)                      # running sum of code, seq, length, payload, check
        pending = Signal(8)                    # an error code waiting for the output
        timer = Signal(range(self.timeout + 1))
        expected, known = Signal(LENGTH_BITS), Signal()
        for cmd, n in self.lengths.items():
            with m.If(code == cmd):
                m.d.comb += [known.eq(1)] if n is None else [expected.eq(n), known.eq(1)]
        bad_length = length != expected

        with m.If(o.valid & o.ready):
            m.d.sync += o.valid.eq(0)
        with m.If(~o.valid & (pending != 0)):
            m.d.sync += [o.valid.eq(1), o.payload.code.eq(pending), o.payload.seq.eq(seq), pending.eq(0)]
        free = ~o.valid & (pending == 0)
        if self.streamed_code is None:
            m.d.comb += self.i.ready.eq(free)
        else:       # a streamed payload byte is taken when its taker is ready
            streaming = Signal()
            m.d.comb += [self.i.ready.eq(free & (~streaming | self.streamed.ready)),
                         self.streamed.valid.eq(free & streaming & self.i.valid), self.streamed.payload.eq(byte)]
            bad_length &= code != self.streamed_code         # its taker checks it
        take = self.i.valid & self.i.ready

        def fail(error):
            m.d.sync += pending.eq(error)
            m.next = "HUNT"

        def result(c):
            m.d.sync += [o.valid.eq(1), o.payload.code.eq(c), o.payload.seq.eq(seq)]
            m.next = "HUNT"

        @contextmanager
        def receiving(state):
            """A mid-frame state: one byte joins the sum; a framing error or the timeout ends the frame."""
            with m.State(state):
                m.d.sync += timer.eq(0)
                with m.If(self.overrun):
                    fail(P.ERR_OVERRUN)
                with m.Elif(self.framing_error):
                    fail(P.ERR_FRAMING)
                with m.Elif(take):
                    m.d.sync += total.eq(total + byte)
                    yield
                with m.Elif(timer == self.timeout - 1):
                    fail(P.ERR_TIMEOUT)
                with m.Else():
                    m.d.sync += timer.eq(timer + 1)

        with m.FSM() as fsm:
            with m.State("HUNT"):
                with m.If(self.overrun):
                    m.d.sync += pending.eq(P.ERR_OVERRUN)
                with m.If(take & (byte == self.sync)):
                    m.d.sync += [total.eq(0), timer.eq(0), seq.eq(0)]
                    m.next = "CODE"
            with receiving("CODE"):
                m.d.sync += code.eq(byte)
                m.next = "SEQ"
            with receiving("SEQ"):
                m.d.sync += seq.eq(byte)
                m.next = "LENGTH0"
            with receiving("LENGTH0"):
                m.d.sync += length[:8].eq(byte)
                m.next = "LENGTH1"
            with receiving("LENGTH1"):
                m.d.sync += [length[8:].eq(byte), count.eq(0)]
                m.next = "PAYLOAD"
                with m.If((length[:8] == 0) & (byte == 0)):
                    m.next = "CHECK"
            with receiving("PAYLOAD"):
                m.d.sync += [buf.eq(Cat(buf[8:], byte)), count.eq(count + 1)]
                with m.If(count + 1 == length):
                    m.next = "CHECK"
            with receiving("CHECK"):
                with m.If((total + byte)[:8] != 0):
                    result(P.ERR_CHECKSUM)
                with m.Elif(~known):
                    result(P.ERR_COMMAND)
                with m.Elif(bad_length):
                    result(P.ERR_LENGTH)
                with m.Else():
                    result(code)
        m.d.comb += self.busy.eq(~fsm.ongoing("HUNT") | o.valid | (pending != 0))
        if self.streamed_code is not None:
            m.d.comb += streaming.eq(fsm.ongoing("PAYLOAD") & (code == self.streamed_code))
        # for boards.formal's invariants (k-induction): the FSM is in one of its states, the timer in range
        states = ("HUNT", "CODE", "SEQ", "LENGTH0", "LENGTH1", "PAYLOAD", "CHECK")
        self.observe = SimpleNamespace(state_known=Cat(fsm.ongoing(s) for s in states).any(), timer=timer)
        return m


class WeightLoader(wiring.Component):
    """WEIGHTS payload bytes (`i`) into a core's `load` port: a start word (2 bytes), then
    whole words of `nbytes(lanes*W)` bytes, each written at start, start+1, ... the cycle
    after its last byte (a word at or past the core's last is counted, not written).
    `check` (CRC-32) and `count` cover every byte and word taken since the last start word
    0, that one included (`protocol.load_check`); `loaded`: `count` is the core's words.
    `done` (the frame has ended) readies it for the next payload; meanwhile `empty` says
    no byte came, `whole` that a start word and whole words did.

    The CRC takes a byte's bits one per cycle, LSB first (zlib's reflected CRC-32): bytes
    come at least 40 cycles apart (8N1, 4 cycles per bit), and a byte-wide step is an XOR
    network of about 100 LUT4s on the UP5K."""

    def __init__(self, params):
        self.words, self.word_bytes = params.n_in * params.groups, P.nbytes(params.lanes * params.W)
        super().__init__({"i": In(stream.Signature(8, always_ready=True)), "done": In(1),
                          "load": Out(load_signature(params)), "check": Out(8 * P.CHECK_BYTES),
                          "count": Out(8 * P.COUNT_BYTES), "loaded": Out(1), "empty": Out(1), "whole": Out(1)})

    def elaborate(self, platform):
        m = Module()
        byte, load, count = self.i.payload, self.load, self.count
        crc = Signal(32, init=0xFFFFFFFF)
        restart = ~P.load_check([bytes(P.START_BYTES)], 1)[0] & 0xFFFFFFFF    # the register after start word 0
        phase = Signal(range(3))            # next: the start word's low byte, its high byte, word bytes
        address = Signal(8 * P.START_BYTES)
        k = Signal(range(self.word_bytes))  # bytes of the word so far
        word = Signal(8 * self.word_bytes)  # they shift in from the top; the load port's data, no copy
        full = Signal()                     # the word is whole: written now, at `address`
        m.d.sync += full.eq(0)
        with m.If(full):
            m.d.sync += address.eq(address + 1)
        shift = Signal(8)                   # the byte being folded into the CRC, and its bits left
        bits = Signal(range(9))
        with m.If(bits != 0):
            m.d.sync += [crc.eq((crc >> 1) ^ Mux(crc[0] ^ shift[0], P.CRC32_POLY, 0)),
                         shift.eq(shift >> 1), bits.eq(bits - 1)]
        with m.If(self.i.valid):            # bytes come at least 40 cycles apart (8N1, 4 cycles per bit)
            m.d.sync += [shift.eq(byte), bits.eq(8)]
            with m.Switch(phase):
                with m.Case(0):
                    m.d.sync += [address[:8].eq(byte), phase.eq(1)]
                with m.Case(1):
                    m.d.sync += [address[8:].eq(byte), phase.eq(2), k.eq(0)]
                    with m.If((address[:8] == 0) & (byte == 0)):
                        m.d.sync += [crc.eq(restart), count.eq(0), bits.eq(0)]
                with m.Default():
                    m.d.sync += [word.eq(Cat(word[8:], byte)), k.eq(k + 1)]
                    with m.If(k == self.word_bytes - 1):
                        m.d.sync += [k.eq(0), full.eq(1)]
                        with m.If(~count.all()):
                            m.d.sync += count.eq(count + 1)
        with m.If(self.done):
            m.d.sync += phase.eq(0)
        m.d.comb += [load.addr.eq(address), load.data.eq(word), load.we.eq(full & (address < self.words)),
                     self.check.eq(~crc), self.loaded.eq(count == self.words), self.empty.eq(phase == 0),
                     self.whole.eq((phase == 2) & (k == 0))]
        return m


class CommandExecutor(wiring.Component):
    """Runs each request on `core` (a submodule) and answers it with the request's seq; an
    error code in place of a request is answered as an error frame. A command with the code
    and seq of the last command answered is not run again: its answer is sent again (the
    host resends a request whose answer it lost). `lengths`: each command's payload bytes.

    A core with a `load` port gets a `WeightLoader`, fed from `weights` (WEIGHTS payload
    bytes, taken only while no command runs), WEIGHTS answers (an empty payload: the load's
    check and count; else an empty answer, or ERR_LENGTH unless it was a start word and whole
    words) and BEAT is refused with ERR_NOT_LOADED until the loader has all the words."""

    def __init__(self, core, core_id):
        self.core, self.core_id = core, core_id
        inp, out = core.stream_in.payload.as_value(), core.stream_out.payload.as_value()
        self.lengths = {P.CMD_ID: 0, P.CMD_BEAT: P.nbytes(len(inp)), P.CMD_CYCLES: 0}
        if core.threshold is not None:      # a Chain's thresholds are built in: THRESHOLD is unknown
            self.lengths[P.CMD_THRESHOLD] = P.nbytes(len(core.threshold))
        self.answer_bytes = max(P.ID_BYTES, P.CYCLE_BYTES, P.nbytes(len(out)))
        self.loader, weights = None, {}
        if "load" in core.signature.members:
            loaded = getattr(core, "loaded", core)       # a chain's layer with its weights in SPRAM
            self.loader, weights = WeightLoader(loaded.params), {"weights": In(stream.Signature(8))}
            self.lengths[P.CMD_WEIGHTS] = None          # any length, streamed
            self.answer_bytes = max(self.answer_bytes, P.CHECK_BYTES + P.COUNT_BYTES)
        request_bytes = max(n for n in self.lengths.values() if n is not None)
        super().__init__({"requests": In(stream.Signature(request_layout(request_bytes))),
                          "answers": Out(stream.Signature(answer_layout(self.answer_bytes))), "busy": Out(1), **weights})

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        inp, out = core.stream_in, core.stream_out
        loader = self.loader
        if loader is not None:
            m.submodules.loader = loader
            wiring.connect(m, loader.load, core.load)
        req, ans = self.requests, self.answers
        cycles = Signal(8 * P.CYCLE_BYTES)
        last, has_last = Signal(self.answers.payload.shape()), Signal()   # the last command's answer
        beat_seq = Signal(8)
        with m.If(ans.valid & ans.ready & (ans.payload.code[4:] != 0xE)):
            m.d.sync += [last.eq(ans.payload), has_last.eq(1)]
        m.d.comb += inp.payload.as_value().eq(payload_of(req.payload, self.lengths[P.CMD_BEAT]))
        if core.threshold is not None:
            threshold = Signal(len(core.threshold))
            m.d.comb += core.threshold.eq(threshold)

        def answer(code, payload=0, nbytes=0):
            m.d.comb += [ans.valid.eq(1), ans.payload.code.eq(code), ans.payload.seq.eq(req.payload.seq),
                         ans.payload.length.eq(nbytes), ans.payload.data.eq(payload), req.ready.eq(ans.ready)]

        with m.FSM() as fsm:
            with m.State("IDLE"):
                code = req.payload.code
                with m.If(req.valid):
                    with m.If(has_last & (code == last.code) & (req.payload.seq == last.seq)):
                        answer(last.code, last.data, last.length)
                    if loader is not None:
                        with m.Elif((code == P.CMD_BEAT) & ~loader.loaded):
                            answer(P.ERR_NOT_LOADED)
                        with m.Elif(code == P.CMD_WEIGHTS):
                            with m.If(loader.empty):
                                answer(P.CMD_WEIGHTS, Cat(loader.check, loader.count), P.CHECK_BYTES + P.COUNT_BYTES)
                            with m.Elif(loader.whole):
                                answer(P.CMD_WEIGHTS)
                            with m.Else():
                                answer(P.ERR_LENGTH)
                    with m.Elif(code == P.CMD_BEAT):
                        m.d.comb += [inp.valid.eq(1), req.ready.eq(inp.ready)]
                        m.d.sync += beat_seq.eq(req.payload.seq)
                        with m.If(inp.ready):
                            m.next = "BEAT"
                        with m.Else():      # a core that holds its beat (gen.engine) runs before it takes it
                            m.d.sync += cycles.eq(cycles + 1)
                    with m.Elif(code == P.CMD_ID):
                        answer(P.CMD_ID, Const(self.core_id, 8 * P.ID_BYTES), P.ID_BYTES)
                    with m.Elif(code == P.CMD_CYCLES):
                        answer(P.CMD_CYCLES, cycles, P.CYCLE_BYTES)
                    if core.threshold is not None:
                        with m.Elif(code == P.CMD_THRESHOLD):
                            answer(P.CMD_THRESHOLD)
                            with m.If(ans.ready):
                                m.d.sync += threshold.eq(payload_of(req.payload, self.lengths[P.CMD_THRESHOLD]))
                    with m.Else():              # the receiver only passes on commands and error codes
                        answer(code)
            with m.State("BEAT"):
                outp = out.payload.as_value()
                m.d.comb += [ans.valid.eq(out.valid), ans.payload.code.eq(P.CMD_BEAT), ans.payload.seq.eq(beat_seq),
                             ans.payload.length.eq(P.nbytes(len(outp))), ans.payload.data.eq(outp),
                             out.ready.eq(ans.ready)]
                with m.If(~out.valid | ans.ready):   # the core's cycles, not the wait for the transmitter
                    m.d.sync += cycles.eq(cycles + 1)
                with m.If(out.valid & ans.ready):
                    m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        if loader is not None:      # no write while a command runs: the core's reads would collide (one that
                                    # holds its beat runs in IDLE, but the receiver takes no byte meanwhile)
            m.d.comb += [self.weights.ready.eq(fsm.ongoing("IDLE")), loader.i.valid.eq(self.weights.valid & self.weights.ready),
                         loader.i.payload.eq(self.weights.payload), loader.done.eq(req.valid & req.ready)]
        return m


class FrameTransmitter(wiring.Component):
    """Frames each answer into bytes: sync, code, seq, length, payload, check. `error` is high
    from the start of an error frame to the start of the next good one."""

    def __init__(self, max_bytes, sync=P.BOARD_SYNC):
        self.max_bytes, self.sync = max_bytes, sync
        super().__init__({"i": In(stream.Signature(answer_layout(max_bytes))), "o": Out(stream.Signature(8)),
                          "busy": Out(1), "error": Out(1)})

    def elaborate(self, platform):
        m = Module()
        o = self.o
        code, seq, length, left = Signal(8), Signal(8), Signal(LENGTH_BITS), Signal(LENGTH_BITS)
        buf = Signal(len(self.i.payload.data))
        total = Signal(8)

        @contextmanager
        def sending(state, byte):
            with m.State(state):
                m.d.comb += [o.valid.eq(1), o.payload.eq(byte)]
                with m.If(o.ready):
                    m.d.sync += total.eq(total + byte)
                    yield

        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += self.i.ready.eq(1)
                with m.If(self.i.valid):
                    p = self.i.payload
                    m.d.sync += [code.eq(p.code), seq.eq(p.seq), length.eq(p.length), left.eq(p.length), buf.eq(p.data),
                                 self.error.eq(p.code[4:] == 0xE)]     # error codes are 0xE1..0xE6
                    m.next = "SYNC"
            with sending("SYNC", self.sync):
                m.d.sync += total.eq(0)
                m.next = "CODE"
            with sending("CODE", code):
                m.next = "SEQ"
            with sending("SEQ", seq):
                m.next = "LENGTH0"
            with sending("LENGTH0", length[:8]):
                m.next = "LENGTH1"
            with sending("LENGTH1", length[8:]):
                m.next = "CHECK"
                with m.If(length != 0):
                    m.next = "PAYLOAD"
            with sending("PAYLOAD", buf[:8]):
                m.d.sync += [buf.eq(buf >> 8), left.eq(left - 1)]
                with m.If(left == 1):
                    m.next = "CHECK"
            with sending("CHECK", -total):
                m.next = "IDLE"
        m.d.comb += self.busy.eq(~fsm.ongoing("IDLE"))
        return m


class HostLink(wiring.Component):
    """Receiver, executor and transmitter around `core`, between two UART byte streams.
    `timeout`: the receiver's inter-byte timeout in cycles (`protocol.timeout_cycles`)."""

    rx: In(stream.Signature(8))
    tx: Out(stream.Signature(8))
    framing_error: In(1)
    overrun: In(1)
    busy: Out(1)
    error: Out(1)

    def __init__(self, core, core_id, timeout):
        self.executor = CommandExecutor(core, core_id)
        self.receiver = FrameReceiver(self.executor.lengths, timeout)
        self.transmitter = FrameTransmitter(self.executor.answer_bytes)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.receiver = rcv = self.receiver
        m.submodules.executor = exe = self.executor
        m.submodules.transmitter = xmt = self.transmitter
        wiring.connect(m, wiring.flipped(self.rx), rcv.i)
        wiring.connect(m, rcv.o, exe.requests)
        wiring.connect(m, exe.answers, xmt.i)
        if exe.loader is not None:
            wiring.connect(m, rcv.streamed, exe.weights)
        wiring.connect(m, xmt.o, wiring.flipped(self.tx))
        m.d.comb += [rcv.framing_error.eq(self.framing_error), rcv.overrun.eq(self.overrun),
                     self.busy.eq(rcv.busy | exe.busy | xmt.busy), self.error.eq(xmt.error)]
        return m
