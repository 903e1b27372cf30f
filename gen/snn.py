"""SNNCore: multi-bit integrate-and-fire neurons, reset by subtraction, adders only."""

from amaranth.hdl import Cat, Const
from amaranth.lib import data, stream
from amaranth.lib.wiring import In, Out

from .engine import EventCore


class SNNCore(EventCore):
    """One `spikes_in` beat per timestep (input j's S-bit level at [j*S +: S]); one
    `spikes_out` beat back per input beat (neuron o's level at [o*S +: S], top bit `last`
    on t = T-1).

    Events are the set bits of the spike levels: bit b of input j adds `w[o][j] << b`
    to the membrane, so a level costs one cycle (per group) per set bit.
    """

    kind, in_port, out_port = "snn", "spikes_in", "spikes_out"

    @staticmethod
    def in_layout(p):
        return data.ArrayLayout(p.S, p.n_in)

    @staticmethod
    def out_layout(p):
        return data.StructLayout({"levels": data.ArrayLayout(p.S, p.n_out), "last": 1})

    def __init__(self, params, weights, weight_memory=None):
        self.fire_steps, self.timesteps = params.S, params.T
        self.multipliers = 0                # shifts and adds only
        self.plane_bits = (params.S - 1).bit_length()
        super().__init__(params, weights, {
            "threshold": In(params.theta_width),
            self.in_port: In(stream.Signature(self.in_layout(params))),
            self.out_port: Out(stream.Signature(self.out_layout(params))),
        }, weight_memory)
        self.stream_in, self.stream_out = self.spikes_in, self.spikes_out

    def slot_layout(self):
        """Input j's S spike bits sit in slots [j*P +: S], P the next power of two >= S,
        so an event's slot number splits into (input, bit plane) by wiring alone."""
        return self.params.n_in << self.plane_bits, 0

    def slot_flags(self, payload):
        pad = Const(0, (1 << self.plane_bits) - self.params.S)
        return Cat(Cat(payload[j], pad) for j in range(self.params.n_in))

    def slot_data(self, payload):
        return Const(0, 0)

    def decode(self, index, word):
        return index >> self.plane_bits, index[:self.plane_bits] if self.plane_bits else Const(0, 1)
