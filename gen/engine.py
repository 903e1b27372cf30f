"""The event-driven integrate-and-fire schedule that the SNN and QNN cores share.

One input beat goes through an explicit FSM:

* IDLE       `in.ready` is high; a beat is latched and its events queued.
* INTEGRATE  a three-stage pipeline. Stage 0: a priority scanner picks the lowest
             pending event (a set spike bit for the SNN, a non-zero activation for
             the QNN) from the `EventQueue` and registers it. Stage 1: for each of
             the G = n_out/lanes neuron groups, the event's weight row is read from
             block memory. Stage 2: `lanes` accumulators add the contribution (SNN:
             `w << b`, adders only; QNN: `w * a`), behind a register on the weights
             and, for the QNN, one on the product. Zero inputs cost no cycle; the
             first cycle only fills stage 0, and clears the accumulators if the beat
             starts an inference (the membrane reset; from registers only, so the
             input handshake stays off the accumulators' enables). When no event is
             left, and the output register is free, go to FIRE.
* FIRE       restoring division, MSB first, `steps` cycles per group (S for the SNN,
             B for the QNN): `if acc >= theta << b: acc -= theta << b; k |= 1 << b`.
             This is k = clamp(floor(acc/theta), 0, 2**steps - 1) with the residual
             kept, using one comparator and one subtractor per lane. Then the output
             beat is made valid (with `last` on the final timestep) and the FSM
             returns to IDLE, where it can take the next beat while the output waits.

Cycles from an input handshake to the next one (and to its own output handshake),
with the output ready: G * (events + steps) + 3 + pipeline (1 for the SNN, 2 for the
QNN). See `CoreParams.snn_cycles` and `qnn_cycles`.
The registered stage 0 keeps the scanner out of the memory-address path: that path
limited a 64-input core to 24 MHz on an iCE40 UP5K.
"""

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from .priority import EventQueue
from .weights import weight_words

STATES = ("IDLE", "INTEGRATE", "FIRE")   # the FSM's states, in their encoding order (0, 1, 2)


class EventCore(wiring.Component):
    """Base of SNNCore and QNNCore; see the module docstring for the schedule.

    Subclasses set `in_name`, `out_name`, `fire_steps`, `timesteps`, `pipeline`
    (registers between the memory and the adder: 1, the weights; 2, the weights and
    the QNN's product) and implement
    `slot_layout`, `slot_flags`, `slot_data` (how a beat becomes event slots),
    `decode`, `contribution` and `payload`.
    """

    def __init__(self, params, weights, signature):
        self.params = params
        self.weights = params.check_weights(weights)
        super().__init__(signature)

    @staticmethod
    def as_signal(m, value, name):
        """Name an expression, so the Verilog computes it once for all its uses."""
        sig = Signal(value.shape(), name=name)
        m.d.comb += sig.eq(value)
        return sig

    def weight_value(self, code):
        if self.params.W == 1:
            return Mux(code, -1, 1).as_signed()
        return code.as_signed()

    def residual(self, acc, diff, fires):
        """The membrane after one division step (`diff` = acc - theta << b): reset by
        subtraction, residual kept."""
        return Mux(fires, diff, acc)

    def last_flag(self, t):
        """`last` is set on the output beat of the final timestep."""
        return t == self.timesteps - 1

    def elaborate(self, platform):
        m = Module()
        p = self.params
        G, lanes, W, steps = p.groups, p.lanes, p.W, self.fire_steps
        inp, out = getattr(self, self.in_name), getattr(self, self.out_name)

        # --- weights in block memory, one row of `lanes` weights per (input, group);
        # `ram_style`, as yosys keeps a small ROM in LUTs otherwise
        m.submodules.weights = mem = Memory(shape=unsigned(lanes * W), depth=p.n_in * G,
                                            init=weight_words(p, self.weights), attrs={"ram_style": "block"})
        rd = mem.read_port()

        # --- stage 0: the beat and its queue of pending events
        beat = Signal(len(inp.payload))
        m.submodules.queue = queue = EventQueue(*self.slot_layout())
        m.d.comb += [queue.flags.eq(self.slot_flags(inp.payload)), queue.data.eq(self.slot_data(beat))]

        # --- stage 1: the picked event, decoded into the weight row of group g
        ev_valid = queue.valid
        primed = Signal()                    # stage 0 has run once for this beat
        j, info = self.decode(queue.index, queue.word)
        j, info = self.as_signal(m, j, "event_input"), self.as_signal(m, info, "event_info")
        g = Signal(range(G))                 # group being issued to the memory
        m.d.comb += rd.addr.eq(j * G + g)

        # --- stage 2: the memory's data belongs to (s1_g, s1_info)
        s1_valid = Signal()
        s1_g = Signal(range(G))
        s1_info = Signal.like(info)
        m.d.sync += s1_valid.eq(0)

        # --- accumulators (membranes), seen through `lanes` ports selected by group
        acc = [Signal(signed(p.acc_width), name=f"acc{o}") for o in range(p.n_out)]
        sel = Signal(range(G))
        lane_acc = [self.as_signal(m, Array(acc[gg * lanes + l] for gg in range(G))[sel], f"lane{l}_acc")
                    for l in range(lanes)]
        lane_new = [Signal(signed(p.acc_width), name=f"lane{l}_new") for l in range(lanes)]
        lane_we = Signal()
        clear = Signal()
        for gg in range(G):
            for l in range(lanes):
                with m.If(clear):
                    m.d.sync += acc[gg * lanes + l].eq(0)
                with m.Elif(lane_we & (sel == gg)):
                    m.d.sync += acc[gg * lanes + l].eq(lane_new[l])

        # --- firing: one restoring-division step per cycle
        fire_g = Signal(range(G))
        fire_b = Signal(range(steps))
        theta_b = Signal(len(self.threshold) + steps - 1)   # threshold << fire_b, kept in a register
        theta_top = self.threshold << (steps - 1)
        fields = Signal(p.n_out * steps)     # output levels, neuron o at [o*steps +: steps]
        # one subtractor per lane; its sign is the comparison (no separate comparator)
        diff = [self.as_signal(m, lane_acc[l] - theta_b, f"lane{l}_diff") for l in range(lanes)]
        fire_ge = [~d[-1] for d in diff]

        # --- stage 2 -> accumulate, through `pipeline` registers: the weights as read
        # (both cores), then, for the QNN, the product (so a stage holds one multiplier)
        def delay(*values):
            regs = [Signal.like(v) for v in values]
            m.d.sync += [r.eq(v) for r, v in zip(regs, values)]
            return regs
        valid, grp, info_r, weights = delay(s1_valid, s1_g, s1_info, rd.data)
        contribution = [self.contribution(self.weight_value(weights[l * W:(l + 1) * W]), info_r)
                        for l in range(lanes)]
        if self.pipeline == 2:
            add_valid, add_g, *addend = delay(valid, grp, *contribution)
        else:
            add_valid, add_g, addend = valid, grp, contribution
        # stage 0 ran dry `pipeline` cycles ago, so the last contribution is being added
        exhausted = Signal(self.pipeline)
        m.d.sync += exhausted.eq(Cat(primed & ~ev_valid, exhausted[:-1]))

        # --- output register
        t = Signal(range(self.timesteps))
        out_valid = Signal()
        last = Signal()
        m.d.comb += [out.valid.eq(out_valid), out.payload.eq(self.payload(fields, last))]
        with m.If(out.valid & out.ready):
            m.d.sync += out_valid.eq(0)

        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += inp.ready.eq(1)
                with m.If(inp.valid):
                    m.d.sync += [beat.eq(inp.payload), g.eq(0)]
                    m.d.comb += queue.load.eq(1)
                    m.next = "INTEGRATE"

            with m.State("INTEGRATE"):
                m.d.comb += [sel.eq(add_g), lane_we.eq(add_valid)]
                for l in range(lanes):
                    m.d.comb += lane_new[l].eq(lane_acc[l] + addend[l])
                m.d.sync += primed.eq(1)
                m.d.comb += clear.eq(~primed & (t == 0))
                with m.If(ev_valid):
                    m.d.sync += [s1_valid.eq(1), s1_g.eq(g), s1_info.eq(info), g.eq(g + 1)]
                    with m.If(g == G - 1):
                        m.d.sync += g.eq(0)
                m.d.comb += queue.take.eq(~primed | ~ev_valid | (g == G - 1))
                with m.If(exhausted[-1] & (~out_valid | out.ready)):
                    m.d.sync += [primed.eq(0), exhausted.eq(0),
                                 fire_g.eq(0), fire_b.eq(steps - 1), theta_b.eq(theta_top)]
                    m.next = "FIRE"

            with m.State("FIRE"):
                m.d.comb += [sel.eq(fire_g), lane_we.eq(1)]
                for l in range(lanes):
                    m.d.comb += lane_new[l].eq(self.residual(lane_acc[l], diff[l], fire_ge[l]))
                for gg in range(G):
                    with m.If(fire_g == gg):
                        for l in range(lanes):
                            field = fields.word_select(gg * lanes + l, steps)
                            m.d.sync += field.eq(Cat(fire_ge[l], field[:-1]))
                m.d.sync += theta_b.eq(theta_b >> 1)
                with m.If(fire_b == 0):
                    m.d.sync += [fire_b.eq(steps - 1), fire_g.eq(fire_g + 1), theta_b.eq(theta_top)]
                    with m.If(fire_g == G - 1):
                        m.d.sync += [out_valid.eq(1), last.eq(self.last_flag(t)),
                                     t.eq(Mux(t == self.timesteps - 1, 0, t + 1))]
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += fire_b.eq(fire_b - 1)
        assert tuple(fsm.encoding) == STATES
        return m
