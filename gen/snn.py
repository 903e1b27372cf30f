"""SNNCore: multi-bit integrate-and-fire neurons, reset by subtraction, adders only."""

from amaranth.hdl import Cat, Signal
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore
from .priority import onehot_index


class SNNCore(EventCore):
    """One `spikes_in` beat per timestep (input j at [j*S +: S]); one `spikes_out` beat
    back per input beat (neuron o at [o*S +: S], top bit `last` on t = T-1).

    Events are the set bits of the spike levels: bit b of input j adds `w[o][j] << b`
    to the membrane, so a level costs one cycle (per group) per set bit.
    """

    in_name, out_name, element_bits, registered_contribution = "spikes_in", "spikes_out", 1, False

    def __init__(self, params, weights):
        self.fire_steps, self.timesteps = params.S, params.T
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            "spikes_in": In(stream.Signature(params.n_in * params.S)),
            "spikes_out": Out(stream.Signature(params.n_out * params.S + 1)),
        })

    def decode(self, m, first, beat):
        S, n = self.params.S, self.params.n_in
        input_hot = Signal(n)   # which input the event belongs to
        plane_hot = Signal(S)   # which bit plane
        m.d.comb += [
            input_hot.eq(Cat(first[i * S:(i + 1) * S].any() for i in range(n))),
            plane_hot.eq(Cat(Cat(first[i * S + b] for i in range(n)).any() for b in range(S))),
        ]
        return onehot_index(input_hot), onehot_index(plane_hot)

    def contribution(self, w, b):
        return w << b

    def payload(self, fields, last):
        return Cat(fields, last)
