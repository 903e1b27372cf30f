"""Formal harness of the host link's `FrameReceiver` (run by `reports.formal`): whatever bytes,
framing errors and overruns came before, once the line has been quiet for the timeout gap and
the previous result was taken, a valid frame is received, with its code, seq and payload.

The environment is free (`AnySeq`) until a free `go` starts a frame at such a moment; then
the harness sends one valid frame (a free known command, seq and payload; its length and
check byte computed) and takes the result. Small sizes keep the state space small: the
property does not depend on the timeout's length or on the payload's.
"""

from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Array, Assert, Assume, Cat, Const, Elaboratable, Fragment, Module, Mux, Signal

from . import protocol as P
from .link import FrameReceiver, payload_of

LENGTHS = {P.CMD_ID: 0, P.CMD_BEAT: 1}      # two commands: one without, one with a payload
TIMEOUT = 3


class ReceiverHarness(Elaboratable):
    def __init__(self, lengths=None, timeout=TIMEOUT, receiver=FrameReceiver):
        self.lengths, self.timeout = dict(lengths or LENGTHS), timeout
        self.receiver = receiver(self.lengths, timeout)

    def elaborate(self, platform):
        m = Module()
        rcv = self.receiver
        m.submodules.rcv = Fragment.get(rcv, platform)          # elaborated here: the invariants read its state
        m.d.comb += [Assert(rcv.observe.state_known, "FSM state"), Assert(rcv.observe.timer < self.timeout, "timer")]
        n_max = max(self.lengths.values())
        code, seq, data = AnyConst(8), AnyConst(8), AnyConst(8 * max(1, n_max))
        m.d.comb += Assume(sum((code == c for c in self.lengths), start=0) == 1)
        length = Signal(8)
        for c, n in self.lengths.items():
            with m.If(code == c):
                m.d.comb += length.eq(n)
        payload = [data.word_select(i, 8) for i in range(n_max)]
        check = -(code + seq + length + sum(((i < length) * payload[i] for i in range(n_max)), start=0))
        frame = [Const(P.HOST_SYNC, 8), code, seq, length, Const(0, 8)] + payload
        total = len(frame) + 1                           # the check byte after `length` payload bytes

        gap = self.timeout + 2
        quiet = Signal(range(gap + 1))                   # cycles without a byte, error or overrun
        sending = Signal(range(total + 1))               # 1 + index of the byte being sent; 0: not sending
        done = Signal()                                  # the check byte was taken last cycle
        settled = Signal()                               # no result offered last cycle either: none queued
        m.d.sync += settled.eq(~rcv.o.valid)
        after_gap = (quiet == gap) & ~rcv.o.valid & settled
        start = AnySeq(1) & after_gap & (sending == 0) & ~done

        byte = Signal(8)
        m.d.comb += byte.eq(Mux(sending - 1 == 5 + length, check, Array(frame)[(sending - 1)[:4]]))
        with m.If((sending != 0) | start | done):
            m.d.comb += [rcv.i.valid.eq(sending != 0), rcv.i.payload.eq(byte), rcv.o.ready.eq(done)]
        with m.Else():
            m.d.comb += [rcv.i.valid.eq(AnySeq(1)), rcv.i.payload.eq(AnySeq(8)), rcv.framing_error.eq(AnySeq(1)),
                         rcv.overrun.eq(AnySeq(1)), rcv.o.ready.eq(AnySeq(1))]
        idle = ~rcv.i.valid & ~rcv.framing_error & ~rcv.overrun
        m.d.sync += quiet.eq(Mux(idle, Mux(quiet == gap, gap, quiet + 1), 0))
        m.d.sync += done.eq(0)
        with m.If(start):
            m.d.sync += sending.eq(1)
        with m.Elif((sending != 0) & rcv.i.ready):
            with m.If(sending - 1 == 5 + length):
                m.d.sync += [sending.eq(0), done.eq(1)]
            with m.Else():
                m.d.sync += sending.eq(sending + 1)

        # after the gap, with every result taken (none offered for two cycles), the receiver is
        # hunting with nothing pending
        m.d.comb += Assert(~after_gap | ~rcv.busy, "not hunting after the timeout gap")
        with m.If(done):
            got = rcv.o.payload
            m.d.comb += Assert(rcv.o.valid & (got.code == code) & (got.seq == seq), "valid frame not received")
            for c, n in self.lengths.items():
                if n:
                    with m.If(code == c):
                        m.d.comb += Assert(payload_of(got, n) == Cat(*payload[:n]), "payload differs")
        return m
