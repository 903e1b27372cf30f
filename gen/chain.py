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
from .spram import SpramWeightMemory, spram_lanes


def lane_caps(max_lanes, layers):
    """`max_lanes` (an int, or a list of one cap or one per layer) as one cap per layer."""
    caps = [max_lanes] if isinstance(max_lanes, int) else list(max_lanes)
    if len(caps) not in (1, layers) or min(caps) < 1:
        raise ParamError(f"--max-lanes {' '.join(map(str, caps))} is out of range: legal is one value >= 1, "
                         f"or one per layer ({layers})")
    return caps * layers if len(caps) == 1 else caps


class Chain(wiring.Component):
    """The cores of a network's layers in series, with the streams of one core
    (`stream_in`, `stream_out`) and no threshold port (`threshold` is None): each
    layer's threshold is fixed in the gateware. At most one layer may keep its weights
    in SPRAM (`gen.spram`; the UP5K has four, which one layer's 64-bit words take): that
    core is `loaded`, and its write port is the chain's `load`."""

    threshold = None

    def __init__(self, kind, params, weights, thresholds, memories=None):
        """params, weights, thresholds: one per layer; layer i+1's n_in is layer i's n_out;
        memories: one weight memory class per layer (None: block RAM), or None for all."""
        self._MustUse__silence = True      # until the checks pass: a refused chain is not "unused"
        if not len(params) == len(weights) == len(thresholds) >= 1:
            raise ParamError("a chain needs as many weights and thresholds as layers, at least one")
        for i, (a, b) in enumerate(zip(params, params[1:])):
            if b.n_in != a.n_out:
                raise ParamError(f"layer {i + 1} has n_in {b.n_in}, but layer {i} has n_out {a.n_out}")
        for i, (p, theta) in enumerate(zip(params, thresholds)):
            if not 1 <= int(theta) < 2 ** p.theta_width:
                raise ParamError(f"layer {i} threshold {theta} is out of range: legal is 1..{2 ** p.theta_width - 1}")
        memories = memories or [None] * len(params)
        if len(memories) != len(params):
            raise ParamError("a chain needs one weight memory per layer")
        if sum(m is not None for m in memories) > 1:
            raise ParamError("at most one layer of a chain can keep its weights in SPRAM")
        self._MustUse__silence = False
        cls = {"snn": SNNCore, "qnn": QNNCore}[kind]
        self.kind, self.params, self.thresholds = kind, params, [int(t) for t in thresholds]
        self.cores = [cls(p, w, mem) for p, w, mem in zip(params, weights, memories)]
        for core in self.cores[1:]:     # fed by a core's output register, which holds each beat until taken
            core.source_holds = True
        self.multipliers = sum(c.multipliers for c in self.cores)
        self.loaded = next((c for c in self.cores if "load" in c.signature.members), None)
        first, last = self.cores[0].signature.members, self.cores[-1].signature.members
        load = {"load": self.loaded.signature.members["load"]} if self.loaded else {}
        super().__init__({cls.in_port: first[cls.in_port], cls.out_port: last[cls.out_port], **load})
        self.stream_in, self.stream_out = getattr(self, cls.in_port), getattr(self, cls.out_port)

    @classmethod
    def for_network(cls, kind, net, S, T, max_lanes=16, weight_memory="bram", spram=SpramWeightMemory):
        """A chain for a `sim.network.Network` at (S, T), as `plan` lays it out."""
        params, memories = cls.plan(net, S, T, max_lanes, weight_memory, spram)
        return cls(kind, params, net.weights, net.thresholds, memories)

    @staticmethod
    def plan(net, S, T, max_lanes=16, weight_memory="bram", spram=SpramWeightMemory):
        """(params, memories) of a network's chain: each core with the most lanes that divide
        its neurons, at most `max_lanes` (one cap, or a list of one per layer). With
        `weight_memory` "spram" the layer with the most weight bits keeps them in SPRAM
        (`spram`, its class: boards.client's stand-in in simulation), its lanes also at most
        64 // W (the four SPRAMs' word); the others stay in block RAM (memory None)."""
        layers = net.params(S, T)
        caps = lane_caps(max_lanes, len(layers))
        largest = max(range(len(layers)), key=lambda i: layers[i].n_in * layers[i].n_out)
        memories = [spram if weight_memory == "spram" and i == largest else None for i in range(len(layers))]

        def lanes(p, cap, memory):
            cap = min(p.n_out, cap, spram_lanes(p.W) if memory else p.n_out)
            return max(d for d in range(1, cap + 1) if p.n_out % d == 0)
        return [CoreParams(p.W, p.S, p.T, p.n_in, p.n_out, lanes(p, cap, mem)) for p, cap, mem in zip(layers, caps, memories)], memories

    def elaborate(self, platform):
        m = Module()
        for i, (core, theta) in enumerate(zip(self.cores, self.thresholds)):
            m.submodules[f"layer{i}"] = core
            m.d.comb += core.threshold.eq(theta)
        wiring.connect(m, wiring.flipped(self.stream_in), self.cores[0].stream_in)
        if self.loaded:
            wiring.connect(m, wiring.flipped(self.load), self.loaded.load)
        wiring.connect(m, self.cores[-1].stream_out, wiring.flipped(self.stream_out))
        for a, b in zip(self.cores, self.cores[1:]):    # a layer's levels are the next one's input (no `last`)
            m.d.comb += [b.stream_in.payload.eq(a.stream_out.payload.levels), b.stream_in.valid.eq(a.stream_out.valid),
                         a.stream_out.ready.eq(b.stream_in.ready)]
        return m
