"""Chain: a network as generated cores in series, one core per layer.

Each core's output stream goes straight into the next core's input: the output beat
without its SNN `last` bit is exactly the next core's input beat (neuron o's S-bit
level, or B-bit activation, at [o*bits +: bits]). Thresholds are the trained ones,
fixed in the gateware. The chain has the first core's input stream and the last core's
output stream, under the same names, so the stream testbenches and the board's host
link drive it like one core.
"""

from amaranth.hdl import Module
from amaranth.lib import wiring

from sim.params import CoreParams, ParamError

from .qnn import QNNCore
from .snn import SNNCore


class Chain(wiring.Component):
    """The cores of a network's layers in series, with the streams of one core
    (`stream_in`, `stream_out`) and no threshold port (`threshold` is None): each
    layer's threshold is fixed in the gateware."""

    threshold = None

    def __init__(self, kind, params, weights, thresholds):
        """params, weights, thresholds: one per layer; layer i+1's n_in is layer i's n_out."""
        self._MustUse__silence = True      # until the checks pass: a refused chain is not "unused"
        if not len(params) == len(weights) == len(thresholds) >= 1:
            raise ParamError("a chain needs as many weights and thresholds as layers, at least one")
        for i, (a, b) in enumerate(zip(params, params[1:])):
            if b.n_in != a.n_out:
                raise ParamError(f"layer {i + 1} has n_in {b.n_in}, but layer {i} has n_out {a.n_out}")
        for i, (p, theta) in enumerate(zip(params, thresholds)):
            if not 1 <= int(theta) < 2 ** p.theta_width:
                raise ParamError(f"layer {i} threshold {theta} is out of range: legal is 1..{2 ** p.theta_width - 1}")
        self._MustUse__silence = False
        cls = {"snn": SNNCore, "qnn": QNNCore}[kind]
        self.kind, self.params, self.thresholds = kind, params, [int(t) for t in thresholds]
        self.cores = [cls(p, w) for p, w in zip(params, weights)]
        self.multipliers = sum(c.multipliers for c in self.cores)
        first, last = self.cores[0].signature.members, self.cores[-1].signature.members
        super().__init__({cls.in_port: first[cls.in_port], cls.out_port: last[cls.out_port]})
        self.stream_in, self.stream_out = getattr(self, cls.in_port), getattr(self, cls.out_port)

    @classmethod
    def for_network(cls, kind, net, S, T, max_lanes=16):
        """A chain for a `sim.network.Network` at (S, T), each core with the most lanes
        that divide its neurons, at most `max_lanes`."""
        if max_lanes < 1:
            raise ParamError(f"--max-lanes {max_lanes} is out of range: legal is >= 1")
        params = [CoreParams(p.W, p.S, p.T, p.n_in, p.n_out,
                             max(d for d in range(1, min(p.n_out, max_lanes) + 1) if p.n_out % d == 0))
                  for p in net.params(S, T)]
        return cls(kind, params, net.weights, net.thresholds)

    def elaborate(self, platform):
        m = Module()
        for i, (core, theta) in enumerate(zip(self.cores, self.thresholds)):
            m.submodules[f"layer{i}"] = core
            m.d.comb += core.threshold.eq(theta)
        wiring.connect(m, wiring.flipped(self.stream_in), self.cores[0].stream_in)
        wiring.connect(m, self.cores[-1].stream_out, wiring.flipped(self.stream_out))
        for a, b in zip(self.cores, self.cores[1:]):    # a layer's levels are the next one's input (no `last`)
            m.d.comb += [b.stream_in.payload.eq(a.stream_out.payload.levels), b.stream_in.valid.eq(a.stream_out.valid),
                         a.stream_out.ready.eq(b.stream_in.ready)]
        return m
