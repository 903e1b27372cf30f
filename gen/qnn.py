"""QNNCore: the SNN core's quantized twin, one W x B multiply-accumulate per event."""

from amaranth.hdl import Cat
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore


class QNNCore(EventCore):
    """One `acts_in` beat (input j's B-bit activation at [j*B +: B]) in, one `acts_out`
    beat (neuron o's at [o*B +: B]) out: a_out = clamp(floor(sum_j w*a / theta), 0, L).

    Events are the non-zero activations; each costs one cycle per neuron group.
    """

    kind, in_port, out_port, timesteps = "qnn", "acts_in", "acts_out", 1

    @staticmethod
    def in_layout(p):
        return data.ArrayLayout(p.B, p.n_in)

    @staticmethod
    def out_layout(p):
        return data.StructLayout({"levels": data.ArrayLayout(p.B, p.n_out)})

    def __init__(self, params, weights, weight_memory=None):
        self.fire_steps = params.B
        self.multipliers = params.lanes     # one W x B multiply per lane (gen/accumulate.py)
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            self.in_port: In(stream.Signature(self.in_layout(params))),
            self.out_port: Out(stream.Signature(self.out_layout(params))),
        }, weight_memory)
        self.stream_in, self.stream_out = self.acts_in, self.acts_out

    def slot_layout(self):
        return self.params.n_in, self.params.B

    def slot_flags(self, payload):
        return Cat(payload[i].any() for i in range(self.params.n_in))

    def slot_data(self, payload):
        return payload.as_value()

    def decode(self, index, word):
        return index, word
