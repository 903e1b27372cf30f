"""Formal harnesses: a core (or a Chain) with symbolic inputs, the stream rules assumed on its
input, and the properties of `PROPERTIES` asserted, for SymbiYosys (`reports.formal` runs it).

Every input is free in every cycle (`AnySeq`): the input beat, its valid, the output's
ready and the synchronous reset; the threshold is one free constant (`AnyConst`). The only
assumptions are the stream rules on the input side (valid held until ready, payload stable
while waiting), legal QNN activations (<= L) and, for `twin`, a non-zero threshold.

The reference for `twin` is written from SPEC section 2, not from the engine: at each input
handshake it computes the beat's output levels in one cycle (the drive as a sum of constant
weight times input, `k = clamp(floor(v/theta), 0, K)` as the number of m in 1..K with
`m*theta <= v`: no divider) and queues them; every output beat must equal the head of that
queue. A chain's reference is its layers' references in series.
"""

from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Array, Assert, Assume, Cat, Cover, Elaboratable, Fragment, Module, Mux, ResetSignal, Signal, signed

from sim.beats import KINDS
from sim.params import ParamError

from .chain import Chain

# property name -> what it asserts (one SymbiYosys job each)
PROPERTIES = {
    "stream": "output stream rules: valid held until ready, payload stable while valid and not ready",
    "beats": "exactly one output beat per input beat, in order (SNN `last` on t = T-1); no output without an input",
    "latency": "with the output ready, every input handshake's output follows in exactly the manifest's cycles "
               "(an upper bound, so no deadlock, and attained), for any threshold, 0 included",
    "reset": "a reset from any state returns to IDLE (input ready) with no pending output",
    "overflow": "no membrane/accumulator sum ever overflows its width",
    "twin": "every output beat equals the SPEC section 2 reference, for every input and threshold > 0",
}


def layers(design):
    """The cores of a design: a Chain's, or the core itself."""
    return design.cores if isinstance(design, Chain) else [design]


def overflow_checked(accumulate):
    """`accumulate` (an Accumulate class) asserting that each sum it writes fits the membrane."""
    class Checked(accumulate):
        def elaborate(self, platform):
            m = super().elaborate(platform)
            for l in range(self.params.lanes):
                with m.If(self.sum_valid):
                    m.d.comb += Assert(self.acc[l] + self.addends[l] == self.sum[l], "membrane overflow")
            return m
    return Checked


class Reference:
    """SPEC section 2 for one layer. `step(m, beat, theta, handshake)` adds its state to `m` (the
    SNN's membranes `v`, wider than the core's, and timestep `t`) and returns the beat's output
    levels and `last` (None for the QNN) as values, and `pre`, each neuron's membrane before
    it fires (v + P, or the QNN's sum), registered at the handshake."""

    def __init__(self, kind, params, weights, name):
        self.kind, self.p, self.w, self.name = kind, params, weights, name
        self.t, self.v = None, None

    def fire(self, m, drive, theta, top):
        """[(clamp(floor(v/theta), 0, top), v minus that times theta)] for each v in `drive`."""
        out = []
        for v in drive:
            k = Signal(range(top + 1), name=f"{self.name}_k{len(out)}")
            m.d.comb += k.eq(sum((v >= i * theta for i in range(1, top + 1)), start=0))
            out.append((k, v - sum((Mux(v >= i * theta, theta, 0) for i in range(1, top + 1)), start=0)))
        return out

    def step(self, m, beat, theta, handshake):
        p, w, name = self.p, self.w, self.name
        drive = [sum((int(w[o][j]) * beat[j].as_unsigned() for j in range(p.n_in)), start=0) for o in range(p.n_out)]
        pre = [Signal(signed(p.acc_width + 2), name=f"{name}_pre{o}") for o in range(p.n_out)]
        if self.kind == "qnn":
            total = drive
            last = None
        else:
            self.t = t = Signal(range(p.T), name=f"{name}_t")
            self.v = v = [Signal(signed(p.acc_width + 2), name=f"{name}_v{o}") for o in range(p.n_out)]
            total = [Mux(t == 0, 0, v[o]) + drive[o] for o in range(p.n_out)]
            last = t == p.T - 1
        fired = self.fire(m, total, theta, p.K if self.kind == "snn" else p.L)
        with m.If(handshake):
            m.d.sync += [a.eq(b) for a, b in zip(pre, total)]
            if self.kind == "snn":
                m.d.sync += [v[o].eq(r) for o, (_, r) in enumerate(fired)]
                m.d.sync += t.eq(Mux(t == p.T - 1, 0, t + 1))
        return [k for k, _ in fired], last, pre


class Harness(Elaboratable):
    """`design` (an SNNCore, QNNCore or Chain) under symbolic inputs, asserting `prop` (a key
    of PROPERTIES). The twin's queue holds up to 2 beats per core: one waiting in the output
    register while the next is integrated.

    For a single core, k-induction needs invariants of its own state (`core_invariants`, and
    for `twin` the membranes against the reference), asserted with the property: they are
    proven too. `overflow` assumes the `twin` job's invariants instead of asserting them
    (its own job proves them), so that only an overflow fails it."""

    def __init__(self, design, prop):
        assert prop in PROPERTIES
        self.design, self.prop = design, prop
        self.cores = layers(design)
        self.kind = self.cores[0].kind
        self.depth = 2 * len(self.cores)

    def elaborate(self, platform):
        m = Module()
        d, prop = self.design, self.prop
        first = self.cores[0]
        single = len(self.cores) == 1
        if prop == "overflow":
            for core in self.cores:
                core.accumulate = overflow_checked(core.accumulate)
        m.submodules.dut = Fragment.get(d, platform)     # elaborated here: the invariants read its state
        inp, out = d.stream_in, d.stream_out
        p_in = first.params

        # --- the environment: free inputs, the input stream rules assumed
        theta = AnyConst(p_in.theta_width)
        if d.threshold is not None:
            m.d.comb += d.threshold.eq(theta)
        m.d.comb += [inp.valid.eq(AnySeq(1)), inp.payload.eq(AnySeq(len(inp.payload.as_value()))),
                     out.ready.eq(AnySeq(1))]
        in_waiting = self.stream_rules(m, inp, Assume, "in")
        if self.kind == "qnn":
            for j in range(p_in.n_in):
                m.d.comb += Assume(inp.payload[j] <= p_in.L)
        took, gave = inp.valid & inp.ready, out.valid & out.ready

        # --- bookkeeping: beats in flight, input beats taken mod T
        pending = Signal(range(self.depth + 2), name="pending")
        m.d.sync += pending.eq(pending + took - gave)
        T = first.timesteps
        t_in = Signal(range(T), name="t_in")
        with m.If(took):
            m.d.sync += t_in.eq(Mux(t_in == T - 1, 0, t_in + 1))
        if single and prop in ("beats", "latency", "twin", "overflow"):
            self.core_invariants(m, first, t_in, pending, in_waiting, Assume if prop == "overflow" else Assert)

        if prop == "stream":
            self.stream_rules(m, out, Assert, "out")
            for a, b in zip(self.cores, self.cores[1:]):
                self.stream_rules(m, a.stream_out, Assert, "link")
        elif prop == "beats":
            m.d.comb += Assert(pending <= self.depth, "more beats in flight than the design can hold")
            m.d.comb += Assert(~out.valid | (pending != 0), "an output without an input")
            if not single:      # a single core's invariants say more: pending = (beat taken) + (output valid)
                m.d.comb += Assert((pending != 0) | (first.observe.idle & ~out.valid), "a beat dropped")
            if self.kind == "snn":
                t_out = Signal(range(T), name="t_out")
                with m.If(gave):
                    m.d.sync += t_out.eq(Mux(t_out == T - 1, 0, t_out + 1))
                m.d.comb += Assert(t_out == (t_in - pending) % T)
                with m.If(out.valid):
                    m.d.comb += Assert(out.payload.last == (t_out == T - 1), "last on the wrong beat")
        elif prop == "latency":
            self.latency(m, first, took, gave)
        elif prop == "reset":
            was_reset = Signal(name="was_reset", reset_less=True)
            m.d.sync += was_reset.eq(ResetSignal())
            with m.If(was_reset):      # IDLE: ready, unless the core holds its beats
                m.d.comb += Assert(first.observe.idle & ~out.valid, "reset left a beat pending")
        else:                                               # twin, overflow
            m.d.comb += Assume(theta != 0)
            self.twin(m, inp, out, theta, took, gave, pending, t_in, Assume if prop == "overflow" else Assert)
        return m

    def core_invariants(self, m, core, t_in, pending, in_waiting, check):
        """The core's FSM is in one of its states; outside INTEGRATE its pipeline is empty; the
        output register is free while it fires; counters are in range; its timestep follows
        the beats taken (advanced when the beat leaves FIRE); a beat it reads in place waits
        for it (so the source holds it)."""
        s, p = core.observe, core.params
        empty = ~s.primed & (s.drained == 0) & ~s.read_valid & ~s.event_valid & ~s.queue.valid & ~s.synapses.sum_valid
        m.d.comb += [check(s.idle | s.integrate | s.fire, "FSM state"),
                     check(s.integrate | empty, "pipeline not empty outside INTEGRATE"),
                     check(~s.fire | ~s.out_valid, "output register busy in FIRE"),
                     check(~s.fire | (s.sel == s.fire_group), "membrane select in FIRE"),
                     check(~s.integrate | ~s.synapses.sum_valid | (s.sel == s.synapses.sum_group),
                           "membrane select in INTEGRATE"),
                     check(s.fire_bit < core.fire_steps), check(~s.fire | (s.fire_group < p.groups), "fire group in range while firing"),
                     check(s.issue_group < p.groups),
                     check(s.read_group < p.groups), check(s.event_group < p.groups),
                     check(s.synapses.sum_group < p.groups),
                     check(s.t == Mux(s.taken, (t_in - 1) % core.timesteps, t_in), "timestep"),
                     check(t_in < core.timesteps),
                     check(pending == s.taken.as_unsigned() + core.stream_out.valid, "beats in flight"),
                     check(~s.holding | in_waiting, "a beat read in place is waiting"),
                     *([check(s.holding | s.queue.empty, "event queue empty once the beat is taken")] if core.holds_beat else []),
                     *(check(holds, f"event queue: {what}") for holds, what in s.queue.invariants)]

    def stream_rules(self, m, s, check, name):
        """Valid held until ready, payload stable meanwhile (checked from the cycle after
        a valid beat was not taken; a reset clears the record, as it may drop the beat)."""
        waiting = Signal(name=f"{name}_waiting")
        held = Signal(len(s.payload.as_value()), name=f"{name}_held")
        m.d.sync += [waiting.eq(s.valid & ~s.ready), held.eq(s.payload.as_value())]
        with m.If(waiting):
            m.d.comb += [check(s.valid, f"{name}: valid dropped"),
                         check(s.payload.as_value() == held, f"{name}: payload changed")]
        return waiting

    def latency(self, m, core, took, gave):
        """A timer from each input handshake; while the output has been ready throughout, the
        output handshake comes exactly at the formula's count (cycles from input handshake to
        output handshake; for a core that holds its beat, 2 + G*events fewer), and never later."""
        p, inp = core.params, core.stream_in
        if self.kind == "snn":      # the manifest's formulas (sim.params), on the beat's event count
            events = sum((inp.payload[j][b] for j in range(p.n_in) for b in range(p.S)), start=0)
            cycles = p.snn_cycles(events)
        else:
            events = sum((inp.payload[j].any() for j in range(p.n_in)), start=0)
            cycles = p.qnn_cycles(events)
        if core.holds_beat:         # taken as stage 0 runs dry, 2 + G*events cycles after it was first seen
            cycles = cycles - 2 - p.groups * events
        bound = KINDS[self.kind].beat_cycles(p)
        expected = Signal(range(bound + 1), name="expected")
        timer = Signal(range(bound + 2), name="timer")
        active, clean = Signal(name="active"), Signal(name="clean")
        ready = core.stream_out.ready
        with m.If(took):
            m.d.sync += [expected.eq(cycles), timer.eq(1),
                         active.eq(1), clean.eq(ready)]
        with m.Else():
            m.d.sync += clean.eq(clean & ready)
            with m.If(active & (timer <= bound)):
                m.d.sync += timer.eq(timer + 1)
            with m.If(gave):
                m.d.sync += active.eq(0)
        with m.If(active & clean):
            m.d.comb += Assert(timer <= expected, "output later than the formula")
            with m.If(gave):
                m.d.comb += Assert(timer == expected, "output earlier than the formula")
        m.d.comb += Assert(~active | (timer <= bound + 1))
        m.d.comb += Cover(active & clean & gave, "a clean output handshake")   # the `cover` job: not vacuous

    def twin(self, m, inp, out, theta, took, gave, pending, t_in, check):
        beat, refs = inp.payload, []
        for i, core in enumerate(self.cores):
            refs.append(Reference(core.kind, core.params, core.weights, f"ref{i}"))
            th = theta if self.design.threshold is not None else self.design.thresholds[i]
            levels, last, pre = refs[-1].step(m, beat, th, took)
            beat = levels
        expected = Cat(*levels, *([last] if last is not None else []))
        queue = [Signal(len(expected), name=f"queue{i}") for i in range(self.depth)]
        for i in range(self.depth):
            after_pop = Mux(gave, queue[i + 1] if i + 1 < self.depth else 0, queue[i])
            m.d.sync += queue[i].eq(Mux(took & (pending - gave == i), expected, after_pop))
        with m.If(out.valid):
            m.d.comb += check(out.payload.as_value() == queue[0], "output differs from the reference")
        if len(self.cores) == 1:        # the membranes hold the reference's: after a beat, and once summed
            ref, s = refs[0], self.cores[0].observe
            acc = getattr(s.membranes, "acc", None)
            if acc is None:
                raise ParamError("the twin and overflow properties compare the membranes in registers; this core "
                                 "keeps them in block RAM (gen.membranes.membrane_bank): prove a smaller core")
            summed = Signal(name="summed")          # drained a cycle ago: the last sum is written
            m.d.sync += summed.eq(s.integrate & s.drained[-1])
            for o in range(len(acc)):
                if ref.v is not None:
                    m.d.comb += check(ref.t == t_in, "reference timestep")
                    with m.If(s.idle):
                        m.d.comb += check(acc[o] == ref.v[o], "membrane differs from the reference")
                    p = ref.p
                    lo, hi = p.drive_range
                    bound = Mux(ref.t == 0, p.T, ref.t)
                    m.d.comb += check((ref.v[o] >= bound * lo) & (ref.v[o] <= bound * hi), "reference membrane range")
                with m.If(s.integrate & summed):
                    m.d.comb += check(acc[o] == pre[o], "summed membrane differs from the reference")
            # the beat in the core: its queued output and the reference's membranes follow from `pre`
            top = ref.p.K if ref.kind == "snn" else ref.p.L
            fired = ref.fire(m, pre, theta, top)
            newest = Cat(*(k for k, _ in fired), *([ref.t == 0] if ref.kind == "snn" else []))
            with m.If(s.taken):
                m.d.comb += check(Array(queue)[pending - 1] == newest, "queued output")
                if ref.v is not None:
                    m.d.comb += [check(ref.v[o] == r, "reference membrane") for o, (_, r) in enumerate(fired)]
