"""SNNCore: multi-bit integrate-and-fire neurons, reset by subtraction, adders only."""

from amaranth.hdl import Cat, Const
from amaranth.lib import stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore


class SNNCore(EventCore):
    """One `spikes_in` beat per timestep (input j at [j*S +: S]); one `spikes_out` beat
    back per input beat (neuron o at [o*S +: S], top bit `last` on t = T-1).

    Events are the set bits of the spike levels: bit b of input j adds `w[o][j] << b`
    to the membrane, so a level costs one cycle (per group) per set bit.
    """

    in_name, out_name, pipeline = "spikes_in", "spikes_out", 1

    def __init__(self, params, weights):
        self.fire_steps, self.timesteps = params.S, params.T
        self.plane_bits = (params.S - 1).bit_length()
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            "spikes_in": In(stream.Signature(params.n_in * params.S)),
            "spikes_out": Out(stream.Signature(params.n_out * params.S + 1)),
        })

    def slot_layout(self):
        """Input j's S spike bits sit in slots [j*P +: S], P the next power of two >= S,
        so an event's slot number splits into (input, bit plane) by wiring alone."""
        return self.params.n_in << self.plane_bits, 0

    def slot_flags(self, payload):
        S, P = self.params.S, 1 << self.plane_bits
        return Cat(Cat(payload[j * S:(j + 1) * S], Const(0, P - S)) for j in range(self.params.n_in))

    def slot_data(self, beat):
        return Const(0, 0)

    def decode(self, index, word):
        return index >> self.plane_bits, index[:self.plane_bits] if self.plane_bits else Const(0, 1)

    def contribution(self, w, b):
        return w << b

    def payload(self, fields, last):
        return Cat(fields, last)
