"""QNNCore: the SNN core's quantized twin, one W x B multiply-accumulate per event."""

from amaranth.hdl import Cat, Mux
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore, or_select
from .priority import onehot_index


class QNNCore(EventCore):
    """One `acts_in` beat (input j at [j*B +: B]) in, one `acts_out` beat
    (neuron o at [o*B +: B]) out: a_out = clamp(floor(sum_j w*a / theta), 0, L).

    Events are the non-zero activations; each costs one cycle per neuron group.
    """

    in_name, out_name, timesteps, registered_contribution = "acts_in", "acts_out", 1, True

    def __init__(self, params, weights):
        self.element_bits = self.fire_steps = params.B
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            "acts_in": In(stream.Signature(params.n_in * params.B)),
            "acts_out": Out(stream.Signature(params.n_out * params.B)),
        })

    def decode(self, m, first, beat):
        B, n = self.params.B, self.params.n_in
        return onehot_index(first), or_select(first, [beat.word_select(i, B) for i in range(n)])

    def contribution(self, w, a):
        return w * a

    def payload(self, fields, last):
        B, L = self.params.B, self.params.L
        words = [fields.word_select(o, B) for o in range(self.params.n_out)]
        if L == 2 ** B - 1:     # B bits cannot exceed L: no clamp needed
            return Cat(words)
        return Cat(Mux(q > L, L, q) for q in words)
