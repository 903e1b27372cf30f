"""SerialHarness: a thin top that puts a core's wide stream ports behind seven pins, so a
core can be placed and routed on a small package (UP5K sg48 has 39 IOs). The core is an
instance of its own module (`module`, emitted beside the harness), which the netlist
cannot see into, so that its registers latching equal bits stay apart, as beside a real
top's.

* `shift` high: one bit moves in from `sdi` to the top of the input register (at most
  `max_inputs` payload bits in the low bits, the threshold above it) and one bit of
  the output register moves out on `sdo`, LSB first. A wider input payload repeats
  the register's bits (bit i is register bit i mod max_inputs), so the harness stays
  small next to a big core while every payload bit is still driven by a flip-flop;
* `go` is the core's input `valid`, `take` its output `ready`; `in_ready` and
  `out_valid` come back out; an output beat is captured into the output register as it
  moves, folded to at most `max_outputs` bits (bit i is the XOR of payload bits i,
  i + max_outputs, ...), so every output bit stays observable.

Its own cost (two shift registers, an enable) is what `reports.synth` subtracts.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class SerialHarness(wiring.Component):
    sdi: In(1)
    shift: In(1)
    go: In(1)
    take: In(1)
    sdo: Out(1)
    in_ready: Out(1)
    out_valid: Out(1)

    def __init__(self, core, module, max_inputs=32, max_outputs=32):
        self.core, self.module, self.max_inputs, self.max_outputs = core, module, max_inputs, max_outputs
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        m.submodules.core, core = self.core_instance()
        inp, out = core.stream_in, core.stream_out
        n = len(inp.payload.as_value())
        k = min(n, self.max_inputs)
        shift_in = self.shift_in = Signal(k + len(core.threshold))
        payload = out.payload.as_value()
        width = min(len(payload), self.max_outputs)
        shift_out = Signal(width)
        folded = Cat(Cat(payload[j] for j in range(i, len(payload), width)).xor() for i in range(width))
        with m.If(self.shift):
            m.d.sync += shift_in.eq(Cat(shift_in[1:], self.sdi))
        with m.If(out.valid & out.ready):
            m.d.sync += shift_out.eq(folded)
        with m.Elif(self.shift):
            m.d.sync += shift_out.eq(shift_out >> 1)
        m.d.comb += [
            inp.payload.as_value().eq(Cat(shift_in[i % k] for i in range(n))), core.threshold.eq(shift_in[k:]),
            inp.valid.eq(self.go), out.ready.eq(self.take),
            self.sdo.eq(shift_out[0]), self.in_ready.eq(inp.ready), self.out_valid.eq(out.valid),
        ]
        return m

    def core_instance(self):
        """The core as an instance of `module` (its ports named as Amaranth names them:
        `spikes_in__payload`, ...), and its ports under the core's attribute names (`ports`)."""
        core, ports = self.core, self.core.signature.create()
        conns = {("i_" if member.flow == In else "o_") + "__".join(map(str, path)): value
                 for path, member, value in core.signature.flatten(ports)}
        names = {name: getattr(ports, name) for name in core.signature.members}
        aliases = {alias: names[name] for alias in ("stream_in", "stream_out")
                   for name in names if getattr(core, name) is getattr(core, alias)}
        self.ports = SimpleNamespace(**names, **aliases)
        return Instance(self.module, i_clk=ClockSignal(), i_rst=ResetSignal(), **conns), self.ports


class LoadingHarness(SerialHarness):
    """SerialHarness for a core with its weights in SPRAM (`gen.spram`): an eighth pin,
    `load`, is the write enable of the core's `load` port, whose word and address repeat
    the input register's bits like the payload does."""

    load: In(1)

    def elaborate(self, platform):
        m = super().elaborate(platform)
        load, k = self.ports.load, min(len(self.ports.stream_in.payload.as_value()), self.max_inputs)
        word = Cat(load.data, load.addr)
        m.d.comb += [word.eq(Cat(self.shift_in[i % k] for i in range(len(word)))), load.we.eq(self.load)]
        return m


def harness(core, module):
    """The harness for `core`, an instance of `module`: a LoadingHarness where it has a
    `load` port."""
    return (LoadingHarness if "load" in core.signature.members else SerialHarness)(core, module)
