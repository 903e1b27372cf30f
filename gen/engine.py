"""The event-driven integrate-and-fire schedule that the SNN and QNN cores share.

One input beat goes through an explicit FSM that sequences four components:

* IDLE       `in.ready` is high; a beat is taken and its events loaded into the
             event queue (gen/priority.py's `queue_class`). On beats of more than
             `LARGE_BEAT` slots the queue reads the beat in place (`holds_beat`): the
             beat is loaded when valid, and taken only as stage 0 runs dry.
* INTEGRATE  a pipeline. Stage 0: the queue hands out the lowest pending event (a set
             spike bit for the SNN, a non-zero activation for the QNN), registered.
             Stage 1: for each of the G = n_out/lanes neuron groups, the event's
             weight row is read from the `WeightMemory` (gen/weight_memory.py) into its
             weight register (the memory reads only then). Stage 2: `Accumulate`
             (gen/accumulate.py) adds each lane's contribution (SNN: `w << b`, adders
             only; QNN: `w * a`, behind a product register) to the `MembraneBank`
             (gen/membranes.py). Zero inputs cost no cycle; the first cycle only fills
             stage 0, and clears the membranes if the beat starts an inference (from
             registers only, so the input handshake stays off the membranes' enables).
             When no event is left, and the output register is free, go to FIRE.
* FIRE       the `FireUnit` (gen/fire.py) divides each group's membranes by restoring
             steps, MSB first, `steps` cycles per group (S for the SNN, B for the QNN),
             on the accumulate adders, writing back the residual of each lane that
             reaches; with `early_fire`, one cycle for a group none of whose
             membranes is at threshold. Then the output beat is made valid (with
             `last` on the final timestep) and the FSM returns to IDLE, where it can
             take the next beat while the output waits.

Cycles from an input handshake to the next one (and to its own output handshake),
with the output ready (for a core that `holds_beat`, from the first cycle it saw the beat
valid): G * (events + steps) + `CoreParams.overhead(kind)`, that is
3 + the pipeline registers between the memory and the adder (`sim.params.PIPELINE`).
With `early_fire`, a group with no membrane at threshold takes 1 of its `steps` cycles
(`CoreParams.snn_cycles` / `qnn_cycles` with the groups that fired).
The registered stage 0 keeps the scanner out of the memory-address path: that path
limited a 64-input core to 24 MHz on an iCE40 UP5K.
"""

from types import SimpleNamespace

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring

from sim.params import PIPELINE

from .accumulate import Accumulate
from .fire import FireUnit
from .membranes import membrane_bank
from .priority import HeldChunkQueue, queue_class
from .weight_memory import WeightMemory

STATES = ("IDLE", "INTEGRATE", "FIRE")   # the FSM's states, in their encoding order (0, 1, 2)


class EventCore(wiring.Component):
    """Base of SNNCore and QNNCore; see the module docstring for the schedule.

    Subclasses set `kind` ("snn" or "qnn"), `fire_steps`, `timesteps`, the streams
    `stream_in` / `stream_out` (payloads: `lib.data` layouts with the output's `levels`),
    and implement `slot_layout`, `slot_flags`, `slot_data` (how a beat becomes event
    slots) and `decode` (an event slot -> input j and the event's info).
    """

    # the components, as class attributes so that a mutant (tests/test_verilog.py) may replace
    # one; the event queue's class is picked by `queue_class` unless one is given here
    event_queue, weight_memory, accumulate, membrane_bank, fire_unit = \
        None, WeightMemory, Accumulate, staticmethod(membrane_bank), FireUnit
    # whether the input's source is known to hold each beat until it is taken, as a core's
    # output register does (gen.chain sets it on its inner layers): the core may then read
    # every beat in place (`holds_beat`), whatever its size
    source_holds = False

    def __init__(self, params, weights, signature, weight_memory=None):
        self.params, self.weights = params, params.check_weights(weights)
        self.weight_memory = weight_memory or self.weight_memory        # see `memory`
        super().__init__({**signature, **self.weight_memory.core_ports(params)})

    def queue_class(self):
        """The event queue's class (or a partial of one): the class attribute `event_queue` if
        a test forces one; `HeldChunkQueue` if the source holds its beats; else by the beat's
        size (`gen.priority.queue_class`)."""
        if self.event_queue is not None:
            return self.event_queue
        return HeldChunkQueue if self.source_holds else queue_class(self.slot_layout()[0])

    @property
    def holds_beat(self):
        """Whether the event queue reads the input beat in place (`gen.priority.HeldChunkQueue`,
        on beats of more than `LARGE_BEAT` slots or when the source holds its beats): the core
        then takes the beat only as stage 0 runs dry, 2 + G*events cycles after it first saw
        it valid, and the source holds it meanwhile (as a stream source does until the handshake)."""
        queue = self.queue_class()
        return getattr(getattr(queue, "func", queue), "holds_beat", False)

    def last_flag(self, t):
        """`last` is set on the output beat of the final timestep."""
        return t == self.timesteps - 1

    def elaborate(self, platform):
        m = Module()
        p, steps = self.params, self.fire_steps
        G = p.groups
        inp, out = self.stream_in, self.stream_out

        m.submodules.queue = queue = self.queue_class()(*self.slot_layout())
        m.submodules.weights = weights = self.memory(m)
        j, info = self.decode(queue.index, queue.word)
        theta_bits = self.fire_unit.theta_bits(p, steps)
        m.submodules.synapses = synapses = self.accumulate(p, self.kind, len(info), theta_bits)
        m.submodules.membranes = membranes = self.membrane_bank(p)
        clamp = p.L if self.kind == "qnn" and p.L != 2 ** steps - 1 else None
        m.submodules.fire = fire = self.fire_unit(p, steps, clamp)

        # --- stage 0: the beat's events
        m.d.comb += [queue.flags.eq(self.slot_flags(inp.payload)), queue.data.eq(self.slot_data(inp.payload))]
        primed = Signal(name="primed")                   # stage 0 has run once for this beat

        # --- stage 1: the weight row of the picked event and group `issue_group` is being read
        issue_group = Signal(range(G), name="issue_group")
        m.d.comb += weights.addr.eq(weights.address(j, issue_group))
        read_valid, read_group, read_info = Signal(name="read_valid"), Signal(range(G), name="read_group"), \
            Signal(len(info), name="read_info")
        m.d.sync += read_valid.eq(0)

        # --- stage 2: the weight register holds the row of (event_valid, event_group, event_info)
        event_valid, event_group, event_info = Signal(name="event_valid"), Signal(range(G), name="event_group"), \
            Signal(len(info), name="event_info")
        m.d.sync += [event_valid.eq(read_valid), event_group.eq(read_group), event_info.eq(read_info)]
        m.d.comb += [synapses.valid.eq(event_valid), synapses.group.eq(event_group), synapses.info.eq(event_info),
                     synapses.row.eq(weights.row), synapses.acc.eq(membranes.lane), synapses.theta.eq(fire.theta_b),
                     fire.threshold.eq(self.threshold), fire.reaches.eq(synapses.reaches),
                     fire.difference.eq(synapses.sum)]
        # The membranes' group select is a register (the bank's `sel`) set a cycle ahead: the group
        # entering the adder next cycle (INTEGRATE) or firing next cycle (FIRE, below). Selected from the FSM
        # state, it put a LUT and 4 ns of routing into the adder's path (8-lane QNN 64x16 on
        # the UP5K: 30.3 MHz).
        next_sel = membranes.next_sel
        m.d.comb += next_sel.eq((read_group, event_group)[PIPELINE[self.kind] - 1])
        # The value written back is the adder's sum in every state (in FIRE the fire unit's
        # residual, the same sum but for a test's mutant): the membranes' input LUTs that chose
        # between a subtractor's residual and the sum are gone, and the write is a clock enable.
        m.d.comb += membranes.new.eq(synapses.sum)
        # stage 0 ran dry `pipeline` cycles ago, so the last contribution is being added
        drained = Signal(PIPELINE[self.kind], name="drained")
        m.d.sync += drained.eq(Cat(primed & ~queue.valid, drained[:-1]))

        # --- firing: group `fire_group`, bit `fire_bit`; the output register
        fire_group = Signal(range(G), name="fire_group")
        fire_bit = Signal(range(steps), name="fire_bit")
        if fire.early:      # a group with no membrane at threshold ends its FIRE at the first step
            m.d.comb += [fire.acc.eq(membranes.lane), fire.first.eq(fire_bit == steps - 1)]
        t = Signal(range(self.timesteps), name="timestep")
        out_valid = Signal(name="out_valid")
        last = Signal(name="last")
        m.d.comb += [out.valid.eq(out_valid), out.payload.levels.eq(fire.levels)]
        if self.kind == "snn":
            m.d.comb += out.payload.last.eq(last)
        with m.If(out.valid & out.ready):
            m.d.sync += out_valid.eq(0)

        with m.FSM() as fsm:
            with m.State("IDLE"):
                m.d.comb += inp.ready.eq(not queue.holds_beat)
                with m.If(inp.valid):
                    m.d.sync += issue_group.eq(0)
                    m.d.comb += queue.load.eq(1)
                    m.next = "INTEGRATE"

            with m.State("INTEGRATE"):
                m.d.comb += [membranes.we.eq(synapses.sum_valid.replicate(p.lanes)),
                             membranes.clear.eq(~primed & (t == 0))]
                m.d.sync += primed.eq(1)
                m.d.comb += weights.en.eq(queue.valid)
                with m.If(queue.valid):
                    m.d.sync += [read_valid.eq(1), read_group.eq(issue_group), read_info.eq(info),
                                 issue_group.eq(Mux(issue_group == G - 1, 0, issue_group + 1))]
                m.d.comb += queue.take.eq(~primed | ~queue.valid | (issue_group == G - 1))
                if queue.holds_beat:        # the beat was read in place: it is taken as stage 0 runs dry
                    m.d.comb += inp.ready.eq(primed & ~queue.valid & ~drained[0])
                with m.If(drained[-1] & (~out_valid | out.ready)):
                    m.d.sync += [primed.eq(0), drained.eq(0), fire_group.eq(0), fire_bit.eq(steps - 1)]
                    m.d.comb += [next_sel.eq(0), fire.load.eq(1)]
                    m.next = "FIRE"

            with m.State("FIRE"):
                m.d.comb += [membranes.we.eq(synapses.reaches),
                             membranes.new.eq(fire.residual), fire.group.eq(fire_group), fire.step.eq(1)]
                m.d.comb += next_sel.eq(fire_group)
                done = fire_bit == 0                    # the group's last step, or with early fire its stop
                if fire.early:
                    done |= fire.stop
                with m.If(done):
                    m.d.comb += [fire.load.eq(1), next_sel.eq(fire_group + 1)]
                    m.d.sync += [fire_bit.eq(steps - 1), fire_group.eq(fire_group + 1)]
                    with m.If(fire_group == G - 1):
                        m.d.sync += [out_valid.eq(1), last.eq(self.last_flag(t)),
                                     t.eq(Mux(t == self.timesteps - 1, 0, t + 1))]
                        m.next = "IDLE"
                with m.Else():
                    m.d.sync += fire_bit.eq(fire_bit - 1)
        assert tuple(fsm.encoding) == STATES
        # the state that gen.formal's invariants relate to its reference (k-induction needs them)
        # the beat is the core's (taken) from the handshake until it leaves FIRE; before it, one
        # that holds its beat reads it in place (holding)
        holding = fsm.ongoing("INTEGRATE") & ~drained[0] if queue.holds_beat else Const(0)
        taken = fsm.ongoing("FIRE") | fsm.ongoing("INTEGRATE") & ~holding
        self.observe = SimpleNamespace(**{s.lower(): fsm.ongoing(s) for s in STATES}, taken=taken, holding=holding,
                                       t=t, primed=primed, drained=drained, read_valid=read_valid,
                                       event_valid=event_valid, out_valid=out_valid, last=last, queue=queue,
                                       synapses=synapses, membranes=membranes, fire_bit=fire_bit,
                                       fire_group=fire_group, issue_group=issue_group, sel=membranes.sel,
                                       read_group=read_group, event_group=event_group)
        return m

    def memory(self, m):
        """The weight memory, a `weight_memory` component (the class attribute, or the class
        given to the constructor: `gen.spram.SpramWeightMemory`), with the members of its
        `core_ports` (the SPRAM's write port) connected to the core's own."""
        weights = self.weight_memory(self.params, self.weights)
        for name in self.weight_memory.core_ports(self.params):
            wiring.connect(m, wiring.flipped(getattr(self, name)), getattr(weights, name))
        return weights
