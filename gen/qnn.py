"""QNNCore: the SNN core's quantized twin, one W x B multiply-accumulate per event."""

from amaranth.hdl import Cat, Mux
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore


class QNNCore(EventCore):
    """One `acts_in` beat (input j at [j*B +: B]) in, one `acts_out` beat
    (neuron o at [o*B +: B]) out: a_out = clamp(floor(sum_j w*a / theta), 0, L).

    Events are the non-zero activations; each costs one cycle per neuron group.
    """

    in_name, out_name, timesteps, pipeline = "acts_in", "acts_out", 1, 2

    def __init__(self, params, weights):
        self.fire_steps = params.B
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            "acts_in": In(stream.Signature(params.n_in * params.B)),
            "acts_out": Out(stream.Signature(params.n_out * params.B)),
        })

    def slot_layout(self):
        return self.params.n_in, self.params.B

    def slot_flags(self, payload):
        return Cat(payload.word_select(i, self.params.B).any() for i in range(self.params.n_in))

    def slot_data(self, beat):
        return beat

    def decode(self, index, word):
        return index, word

    def contribution(self, w, a):
        return w * a

    def payload(self, fields, last):
        B, L = self.params.B, self.params.L
        words = [fields.word_select(o, B) for o in range(self.params.n_out)]
        if L == 2 ** B - 1:     # B bits cannot exceed L: no clamp needed
            return Cat(words)
        return Cat(Mux(q > L, L, q) for q in words)
