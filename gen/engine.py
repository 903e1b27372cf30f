"""The event-driven integrate-and-fire schedule that the SNN and QNN cores share.

One input beat goes through an explicit FSM:

* IDLE       `in.ready` is high; a beat is latched into `pend`, and the accumulators
             are cleared if the beat starts an inference (the membrane reset).
* INTEGRATE  a priority scanner picks the lowest pending event (a set spike bit for
             the SNN, a non-zero activation for the QNN); for each of the
             G = n_out/lanes neuron groups the weight row is read from block memory
             and, one cycle later, `lanes` accumulators add the event's contribution
             (SNN: `w << b`, adders only; QNN: `w * a`). Zero inputs cost no cycle.
             When no event is left, and the output register is free, go to FIRE.
* FIRE       restoring division, MSB first, `steps` cycles per group (S for the SNN,
             B for the QNN): `if acc >= theta << b: acc -= theta << b; k |= 1 << b`.
             This is k = clamp(floor(acc/theta), 0, 2**steps - 1) with the residual
             kept, using one comparator and one subtractor per lane. Then the output
             beat is made valid (with `last` on the final timestep) and the FSM
             returns to IDLE, where it can take the next beat while the output waits.

Cycles from an input handshake to the next one (and to its own output handshake),
with the output ready: G * (events + steps) + 2. See `CoreParams.snn_cycles`.
"""

from functools import reduce
from operator import or_

from amaranth.hdl import Array, Cat, Module, Mux, Signal, signed, unsigned
from amaranth.lib import wiring
from amaranth.lib.memory import Memory

from .priority import FirstSet
from .weights import weight_words

STATES = ("IDLE", "INTEGRATE", "FIRE")   # the FSM's states, in their encoding order (0, 1, 2)


class EventCore(wiring.Component):
    """Base of SNNCore and QNNCore; see the module docstring for the schedule.

    Subclasses set `in_name`, `out_name`, `element_bits` (bits per scanned event
    slot), `fire_steps`, `timesteps` and implement `decode`, `contribution` and
    `payload`.
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

    def residual(self, acc, theta_b, fires):
        """The membrane after one division step: reset by subtraction, residual kept."""
        return Mux(fires, acc - theta_b, acc)

    def last_flag(self, t):
        """`last` is set on the output beat of the final timestep."""
        return t == self.timesteps - 1

    def elaborate(self, platform):
        m = Module()
        p = self.params
        G, lanes, W, steps = p.groups, p.lanes, p.W, self.fire_steps
        inp, out = getattr(self, self.in_name), getattr(self, self.out_name)

        # --- weights in block memory, one row of `lanes` weights per (input, group)
        m.submodules.weights = mem = Memory(shape=unsigned(lanes * W), depth=p.n_in * G,
                                            init=weight_words(p, self.weights))
        rd = mem.read_port()

        # --- event scanner over the latched beat
        pend = Signal(len(inp.payload))
        eb = self.element_bits
        slots = len(pend) // eb
        m.submodules.scan = scan = FirstSet(slots)
        m.d.comb += scan.i.eq(Cat(pend.word_select(i, eb).any() for i in range(slots)))
        j, info = self.decode(m, scan.first, pend)
        j, info = self.as_signal(m, j, "event_input"), self.as_signal(m, info, "event_info")
        retire = Cat(scan.first[i].replicate(eb) for i in range(slots))

        g = Signal(range(G))                 # group being issued to the memory
        m.d.comb += rd.addr.eq(j * G + g)
        s1_valid = Signal()                  # the memory's data belongs to (s1_g, s1_info)
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
        theta_b = self.as_signal(m, self.threshold << fire_b, "theta_b")
        fields = Signal(p.n_out * steps)     # output levels, neuron o at [o*steps +: steps]
        fire_ge = [lane_acc[l] >= theta_b for l in range(lanes)]

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
                    m.d.sync += [pend.eq(inp.payload), g.eq(0)]
                    m.d.comb += clear.eq(t == 0)
                    m.next = "INTEGRATE"

            with m.State("INTEGRATE"):
                m.d.comb += [sel.eq(s1_g), lane_we.eq(s1_valid)]
                for l in range(lanes):
                    w = self.weight_value(rd.data[l * W:(l + 1) * W])
                    m.d.comb += lane_new[l].eq(lane_acc[l] + self.contribution(w, s1_info))
                with m.If(scan.any):
                    m.d.sync += [s1_valid.eq(1), s1_g.eq(g), s1_info.eq(info), g.eq(g + 1)]
                    with m.If(g == G - 1):
                        m.d.sync += [g.eq(0), pend.eq(pend & ~retire)]
                with m.Elif(~out_valid | out.ready):
                    m.d.sync += [fire_g.eq(0), fire_b.eq(steps - 1)]
                    m.next = "FIRE"

            with m.State("FIRE"):
                m.d.comb += [sel.eq(fire_g), lane_we.eq(1)]
                for l in range(lanes):
                    m.d.comb += lane_new[l].eq(self.residual(lane_acc[l], theta_b, fire_ge[l]))
                for gg in range(G):
                    with m.If(fire_g == gg):
                        for l in range(lanes):
                            field = fields.word_select(gg * lanes + l, steps)
                            m.d.sync += field.eq(Cat(fire_ge[l], field[:-1]))
                with m.If(fire_b == 0):
                    m.d.sync += [fire_b.eq(steps - 1), fire_g.eq(fire_g + 1)]
                    with m.If(fire_g == G - 1):
                        m.d.sync += [out_valid.eq(1), last.eq(self.last_flag(t)),
                                     t.eq(Mux(t == self.timesteps - 1, 0, t + 1))]
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += fire_b.eq(fire_b - 1)
        assert tuple(fsm.encoding) == STATES
        return m


def or_select(onehot, words):
    """The word whose one-hot bit is set (AND-OR multiplexer); zero if none is."""
    return reduce(or_, (Mux(onehot[i], w, 0) for i, w in enumerate(words)))
