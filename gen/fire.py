"""FireUnit: output levels from membranes by restoring division, with the residual kept."""

from amaranth.hdl import Cat, Module, Mux, Signal, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .accumulate import offset_sum


class FireUnit(wiring.Component):
    """One restoring-division step per cycle for the `lanes` membranes of neuron group
    `group`, MSB first over `steps` bit positions b:

        if acc >= theta << b: acc -= theta << b; level |= 1 << b

    which gives level = clamp(floor(acc/theta), 0, 2**steps - 1) and leaves the residual
    (reset by subtraction). The unit has no subtractors: the accumulate adders add
    `theta_b` = -(theta << b) when no event is in them (gen/accumulate.py), and
    `reaches[l]` (that sum is not negative) is lane l's comparison; `residual[l]` is what
    a lane that reaches is written (its `difference`, the adder's sum). `load` sets
    `theta_b` for the first step of a group (b = steps - 1); `step` does a step: the
    level bits enter the group's `levels` (a register, held until the next firing).
    `clamp` (the QNN's L, when 2**steps - 1 exceeds it) limits the levels as they leave.

    With `params.early_fire` (and more than one step) the unit also compares each lane's
    membrane `acc[l]` with the threshold in a group's `first` step, and `stop` says that
    none is at or above it, so no step can reach: the engine ends the group's FIRE there.
    The first step shifts its bit into cleared levels, so a group that stops has level 0.
    The comparators add `-threshold`, a register that follows the port outside FIRE (from
    the port itself, through the negation's LUTs, the default SNN 64x16 placed at 29.0 MHz
    on the UP5K, now 32.9). Their results go through an AND of the lanes into the FSM in
    the same cycle: the early-fire core's slowest path.

    A subtractor per lane beside the adders (measured, default SNN 64x16 on the UP5K, gate
    level) followed every accumulate although only FIRE uses it, and the membranes' input
    LUTs chose between its residual and the adder's sum: together 2568 of 4677 pJ per
    inference at 2 %, and the subtractor -> residual -> membrane path was the 256x32 SNN's
    slowest after its event queue.
    """

    def __init__(self, params, steps, clamp=None):
        self.params, self.steps, self.clamp = params, steps, clamp
        self.early = params.early_fire and steps > 1
        lanes = data.ArrayLayout(signed(params.acc_width), params.lanes)
        super().__init__({
            "threshold": In(params.theta_width), "group": In(range(params.groups)),
            "load": In(1), "step": In(1), "reaches": In(params.lanes), "difference": In(lanes),
            "theta_b": Out(signed(self.theta_bits(params, steps))),
            "residual": Out(lanes), "levels": Out(data.ArrayLayout(steps, params.n_out)),
            **({"first": In(1), "acc": In(lanes), "stop": Out(1)} if self.early else {}),
        })

    @staticmethod
    def theta_bits(params, steps):
        """The width of `theta_b`, -(theta << (steps - 1)) at its largest."""
        return params.theta_width + steps

    def reduce(self, difference):
        """What a lane that reaches is written: reset by subtraction."""
        return difference

    def shift_in(self, field, fires):
        """A level after one step: steps go MSB first, so the new bit enters at the bottom."""
        return Cat(fires, field[:-1])

    def below(self, acc, neg_theta):
        """Lane by lane, is the membrane below the threshold (`-neg_theta`)?"""
        return Cat(~offset_sum(acc[l], neg_theta)[-1] for l in range(self.params.lanes))

    def earlier_bits(self, field):
        """The bits a step shifts up: with early fire none in a group's first step (they are
        shifted out by its last), so that a firing that stops there leaves level 0."""
        return Mux(self.first, 0, field) if self.early else field

    def elaborate(self, platform):
        m = Module()
        p, steps = self.params, self.steps
        fields = Signal(data.ArrayLayout(steps, p.n_out), name="fields")
        # -(theta << b) >> 1 is -(theta << (b - 1)) exactly, as theta << b is even for b >= 1
        with m.If(self.load):
            m.d.sync += self.theta_b.eq(-(self.threshold << (steps - 1)))
        with m.Elif(self.step):
            m.d.sync += self.theta_b.eq(self.theta_b >> 1)
        if self.early:
            neg_theta = Signal(signed(p.theta_width + 1), name="neg_theta")
            with m.If(~self.step):
                m.d.sync += neg_theta.eq(-self.threshold)
            m.d.comb += self.stop.eq(self.first & self.below(self.acc, neg_theta).all())
        for l in range(p.lanes):
            m.d.comb += self.residual[l].eq(self.reduce(self.difference[l]))
            for g in range(p.groups):
                field = fields[g * p.lanes + l]
                with m.If(self.step & (self.group == g)):
                    m.d.sync += field.eq(self.shift_in(self.earlier_bits(field), self.reaches[l]))
        for o in range(p.n_out):
            level = fields[o]
            m.d.comb += self.levels[o].eq(level if self.clamp is None else Mux(level > self.clamp, self.clamp, level))
        return m
