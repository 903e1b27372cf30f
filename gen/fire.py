"""FireUnit: output levels from membranes by restoring division, with the residual kept."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


class FireUnit(wiring.Component):
    """One restoring-division step per cycle for the `lanes` membranes `acc` of neuron group
    `group`, MSB first over `steps` bit positions b:

        if acc >= theta << b: acc -= theta << b; level |= 1 << b

    which gives level = clamp(floor(acc/theta), 0, 2**steps - 1) and leaves the residual
    (reset by subtraction). `load` sets the shifted threshold to `theta << (steps-1)` (the
    first step of a group); `step` does a step: `residual[l]` is lane l's membrane after
    it, and the level bit enters the group's `levels` (a register, held until the next
    firing). One subtractor per lane; its sign is the comparison. `clamp` (the QNN's L,
    when 2**steps - 1 exceeds it) limits the levels as they leave.
    """

    def __init__(self, params, steps, clamp=None):
        self.params, self.steps, self.clamp = params, steps, clamp
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({
            "threshold": In(params.theta_width), "acc": In(lanes), "group": In(range(params.groups)),
            "load": In(1), "step": In(1),
            "residual": Out(lanes), "levels": Out(data.ArrayLayout(steps, params.n_out)),
        })

    def reduce(self, acc, diff, fires):
        """The membrane after one step (`diff` = acc - theta << b): reset by subtraction."""
        return Mux(fires, diff, acc)

    def shift_in(self, field, fires):
        """A level after one step: steps go MSB first, so the new bit enters at the bottom."""
        return Cat(fires, field[:-1])

    def elaborate(self, platform):
        m = Module()
        p, steps = self.params, self.steps
        theta_b = Signal(p.theta_width + steps - 1, name="theta_b")     # threshold << b
        fields = Signal(data.ArrayLayout(steps, p.n_out), name="fields")
        with m.If(self.load):
            m.d.sync += theta_b.eq(self.threshold << (steps - 1))
        with m.Elif(self.step):
            m.d.sync += theta_b.eq(theta_b >> 1)
        for l in range(p.lanes):
            difference = self.acc[l] - theta_b
            diff = Signal(difference.shape(), name=f"lane{l}_diff")
            m.d.comb += diff.eq(difference)
            fires = ~diff[-1]
            m.d.comb += self.residual[l].eq(self.reduce(self.acc[l], diff, fires))
            for g in range(p.groups):
                field = fields[g * p.lanes + l]
                with m.If(self.step & (self.group == g)):
                    m.d.sync += field.eq(self.shift_in(field, fires))
        for o in range(p.n_out):
            level = fields[o]
            m.d.comb += self.levels[o].eq(level if self.clamp is None else Mux(level > self.clamp, self.clamp, level))
        return m
