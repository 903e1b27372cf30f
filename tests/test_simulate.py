"""gen.simulate.run_stream: the sink drains past the last expected beat and refuses an extra one."""

import pytest
from amaranth.hdl import Module, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from gen.simulate import run_stream


class Echo(wiring.Component):
    """Sends every input beat back, `copies` times: 1 is a well-behaved core, 2 one that
    emits an output beat too many."""

    stream_in: In(stream.Signature(data.StructLayout({"x": 8})))      # a `lib.data` payload, as a core's
    stream_out: Out(stream.Signature(data.StructLayout({"x": 8})))
    cores = ()                  # no core kinds: run_stream's cycle bound is its constant
    threshold = None

    def __init__(self, copies):
        self.copies = copies
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        left = Signal(range(self.copies + 1))
        m.d.comb += [self.stream_in.ready.eq(left == 0), self.stream_out.valid.eq(left != 0)]
        with m.If(self.stream_in.valid & self.stream_in.ready):
            m.d.sync += [self.stream_out.payload.eq(self.stream_in.payload), left.eq(self.copies)]
        with m.Elif(self.stream_out.valid & self.stream_out.ready):
            m.d.sync += left.eq(left - 1)
        return m


def test_every_beat_once_passes():
    assert run_stream(Echo(1), [5, 6, 7], None, backpressure=0.3)[0] == [5, 6, 7]


def test_an_extra_output_beat_fails():
    with pytest.raises(AssertionError, match="an output beat more than the 1 input beats"):
        run_stream(Echo(2), [5], None)
