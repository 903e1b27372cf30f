"""HostLink: the board side of the framed protocol in `boards.protocol`, around one core.

Commands: ID (the core's 8-byte id, so the host can refuse a mismatched bitstream),
THRESHOLD (load the threshold register; unknown for a chain, whose thresholds are
built in), BEAT (one input beat in; the answer is the
core's output beat for it), CYCLES (the 32-bit count of cycles the core has spent on
beats, from input handshake to output handshake). A bad checksum, a length that does
not match the command, an unknown command or a UART framing error are answered with
an error frame, and the link waits for the next frame.
"""

from contextlib import contextmanager

from amaranth.hdl import Const, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from . import protocol as P


class HostLink(wiring.Component):
    rx: In(stream.Signature(8))
    tx: Out(stream.Signature(8))
    framing_error: In(1)
    busy: Out(1)
    error: Out(1)

    def __init__(self, core, core_id):
        self.core, self.core_id = core, core_id
        inp, out = core.stream_in.payload.as_value(), core.stream_out.payload.as_value()
        self.lengths = {P.CMD_ID: 0, P.CMD_BEAT: P.nbytes(len(inp)), P.CMD_CYCLES: 0}
        if core.threshold is not None:      # a Chain's thresholds are built in: THRESHOLD is unknown
            self.lengths[P.CMD_THRESHOLD] = P.nbytes(len(core.threshold))
        self.answer_bytes = max(P.ID_BYTES, P.CYCLE_BYTES, P.nbytes(len(out)))
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.core = core = self.core
        inp, out = core.stream_in, core.stream_out
        max_in = max(self.lengths.values())
        code = Signal(8)
        length = Signal(8)
        count = Signal(8)
        total = Signal(8)                    # running sum of code, length, payload, check
        buf = Signal(8 * max_in)
        threshold = Signal(len(core.threshold) if core.threshold is not None else 0)
        cycles = Signal(8 * P.CYCLE_BYTES)
        answer = Signal(8 * self.answer_bytes)
        answer_len = Signal(range(self.answer_bytes + 1))
        sent = Signal(range(self.answer_bytes + 5))
        failed = Signal()
        m.d.comb += inp.payload.as_value().eq(buf[:len(inp.payload.as_value())])
        if core.threshold is not None:
            m.d.comb += core.threshold.eq(threshold)

        def answer_with(m, result, payload=None, nbytes=0):
            m.d.sync += [code.eq(result), answer_len.eq(nbytes), sent.eq(0), total.eq(0)]
            if payload is not None:
                m.d.sync += answer.eq(payload)
            m.next = "ANSWER"

        byte = self.rx.payload
        expected, known = Signal(8), Signal()   # the payload length the received code takes
        for cmd, n in self.lengths.items():
            with m.If(code == cmd):
                m.d.comb += [expected.eq(n), known.eq(1)]

        @contextmanager
        def receiving(state):
            """A state that takes one byte: a framing error is answered; the byte joins the sum."""
            with m.State(state):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.framing_error):
                    answer_with(m, P.ERR_FRAMING)
                with m.Elif(self.rx.valid):
                    m.d.sync += total.eq(total + byte)
                    yield

        with m.FSM():
            with m.State("SYNC"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid & (byte == P.HOST_SYNC)):
                    m.next = "CODE"
            with receiving("CODE"):
                m.d.sync += code.eq(byte)
                m.next = "LENGTH"
            with receiving("LENGTH"):
                m.d.sync += [length.eq(byte), count.eq(0)]
                m.next = "PAYLOAD"
                with m.If(byte == 0):
                    m.next = "CHECK"
            with receiving("PAYLOAD"):
                for i in range(max_in):
                    with m.If(count == i):
                        m.d.sync += buf.word_select(i, 8).eq(byte)
                m.d.sync += count.eq(count + 1)
                with m.If(count + 1 == length):
                    m.next = "CHECK"
            with receiving("CHECK"):
                with m.If(((total + byte) & 0xFF) != 0):
                    answer_with(m, P.ERR_CHECKSUM)
                with m.Elif(~known):
                    answer_with(m, P.ERR_COMMAND)
                with m.Elif(length != expected):
                    answer_with(m, P.ERR_LENGTH)
                with m.Else():
                    m.next = "EXECUTE"

            with m.State("EXECUTE"):
                with m.If(code == P.CMD_ID):
                    answer_with(m, P.CMD_ID, Const(self.core_id, 8 * P.ID_BYTES), P.ID_BYTES)
                with m.Elif(code == P.CMD_THRESHOLD):
                    m.d.sync += threshold.eq(buf[:len(threshold)])
                    answer_with(m, P.CMD_THRESHOLD)
                with m.Elif(code == P.CMD_CYCLES):
                    answer_with(m, P.CMD_CYCLES, cycles, P.CYCLE_BYTES)
                with m.Else():                    # CMD_BEAT
                    m.d.comb += inp.valid.eq(1)
                    with m.If(inp.ready):
                        m.next = "WAIT"

            with m.State("WAIT"):
                m.d.comb += out.ready.eq(1)
                m.d.sync += cycles.eq(cycles + 1)
                with m.If(out.valid):
                    answer_with(m, P.CMD_BEAT, out.payload.as_value(), P.nbytes(len(out.payload.as_value())))

            with m.State("ANSWER"):             # sync, code, length, answer bytes, check
                byte_out = Signal(8)
                with m.If(sent == 0):
                    m.d.comb += byte_out.eq(P.BOARD_SYNC)
                with m.Elif(sent == 1):
                    m.d.comb += byte_out.eq(code)
                with m.Elif(sent == 2):
                    m.d.comb += byte_out.eq(answer_len)
                with m.Elif(sent == answer_len + 3):
                    m.d.comb += byte_out.eq(-total)
                with m.Else():
                    m.d.comb += byte_out.eq(answer.word_select((sent - 3).as_unsigned(), 8))
                m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(byte_out)]
                with m.If(self.tx.ready):
                    m.d.sync += sent.eq(sent + 1)
                    with m.If(sent != 0):
                        m.d.sync += total.eq(total + byte_out)
                    with m.If(sent == answer_len + 3):
                        m.d.sync += failed.eq(code[4:8] == 0xE)     # error codes are 0xE1..0xE4
                        m.next = "SYNC"

        m.d.comb += [self.busy.eq(~self.rx.ready), self.error.eq(failed)]
        return m
