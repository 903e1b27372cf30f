"""Cases for the cocotb regression (test `regression` of `gen.testbench.replay`) and the
build/run of a core's emitted Verilog under cocotb (Verilator by default, Icarus with
`BB_SIM=icarus`) through the cached runner `gen.testbench.runner`.

Builds are cached per (simulator, Verilog text) under `build/cocotb/`, so a second
run of a parameter point skips the C++ compile.
"""

import os

import numpy as np
from amaranth.back import verilog

from gen.engine import STATES
from gen.testbench import runner
from gen.testbench.runner import SIMULATORS
from gen.weights import weight_words
from reports import cell_models
from reports.activity import FAMILY_DEFINES
from sim.beats import KINDS, QNN, SNN, timeout_cycles
from sim.evidence import require_evidence, spread_threshold
from sim.stimulus import activations, firing_weights, spike_train

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "cocotb")
SPIKE_RATES = (0.0, 0.02, 0.1, 0.5, 1.0)
SPARSITIES = (1.0, 0.9, 0.5, 0.1, 0.0)


def simulator():
    """The simulator chosen by `BB_SIM` (default verilator)."""
    sim = os.environ.get("BB_SIM", "verilator")
    if sim not in SIMULATORS:
        raise ValueError(f"BB_SIM={sim!r}: legal is one of {', '.join(SIMULATORS)}")
    return sim


def build(core, module, sim):
    """Emit `core` as `module`, build it for `sim` (cached); returns the build directory. A
    core with its weights in SPRAM (a `load` port) is built with the iCE40 cell models."""
    sources, args = {f"{module}.v": verilog.convert(core, name=module)}, None
    if "load" in core.signature.members:
        sources["cells_ice40.v"] = cell_models.library("ice40")
        args = runner.BUILD_ARGS[sim] + FAMILY_DEFINES["ice40"]
    return runner.build(module, sources, os.path.join(CACHE, sim), sim=sim, args=args)


def run(build_dir, module, case, sim):
    """Replay `case` on a built core; returns (passed, report dict or None, log path)."""
    report, run_dir = runner.run(build_dir, module, "regression", case, sim=sim)
    return report is not None, report, os.path.join(run_dir, "test.log")


# ---- cases: the phases the testbench replays, with the twin's expected beats ----

def hexes(words):
    return [format(int(w), "x") for w in words]


def phase(name, threshold, beats, expected, *, idle=0.0, backpressure=0.0, abort=None, cycles=None,
          typical=False):
    """One phase of a case; `cycles` (for a phase without idle or backpressure): the
    manifest formula's cycles of beats 1.., which must part consecutive output handshakes."""
    return dict(name=name, threshold=int(threshold), beats=hexes(beats),
                expected=None if expected is None else hexes(expected),
                idle=idle, backpressure=backpressure, abort=abort, cycles=cycles, typical=typical)


def cycles(p, kind, inputs):
    """Formula cycles of every beat but the first: SNN G*(e + S) + 4 with e the beat's set
    spike bits, QNN G*(n + B) + 5 with n its non-zero activations."""
    inputs = np.asarray(inputs).reshape(-1, p.n_in)
    if kind == "snn":
        counts = [sum(bin(int(x)).count("1") for x in row) for row in inputs]
        return [p.snn_cycles(e) for e in counts[1:]]
    return [p.qnn_cycles(int(n)) for n in np.count_nonzero(inputs, axis=1)[1:]]


def sweep(kind, p, weights, corners, draw, levels):
    """The typical phases, one per stimulus level (spike rate or sparsity) with a threshold
    near the spread of that level's drive (`sim.evidence.spread_threshold`; the corner
    inputs take the densest level's), under idle gaps and backpressure; then two corner
    phases over every level at once: theta=1 (no idle, no backpressure, cycles checked)
    and the largest threshold the port holds (nothing fires), under heavy idle and
    backpressure."""
    k = KINDS[kind]
    top = p.K if k.spiking else p.L
    name = "rate" if k.spiking else "sparsity"

    def make(label, theta, inputs, idle, bp, **extra):
        return phase(label, theta, k.encode(inputs, p.S, p.T), k.expected(weights, inputs, theta, p.S, p.T),
                     idle=idle, backpressure=bp, **extra)
    sets = [draw(x) for x in levels]
    thetas = [spread_threshold(weights, inputs, top) for inputs in sets]
    densest = thetas[int(np.argmax([np.count_nonzero(s) for s in sets]))]
    phases = [make(f"{name} {x} typical", theta, inputs, 0.3, 0.4, typical=True)
              for x, theta, inputs in zip(levels, thetas, sets)]
    phases.append(make("corners typical", densest, corners, 0.3, 0.4, typical=True))
    every = np.concatenate([corners] + [draw(x) for x in levels])
    phases.append(make("theta=1", 1, every, 0.0, 0.0, cycles=cycles(p, kind, every)))
    every = np.concatenate([corners] + [draw(x) for x in levels])
    phases.append(make("theta=max", 2 ** p.theta_width - 1, every, 0.5, 0.7))
    return phases, densest


def snn_case(p, weights, seed, inferences=3):
    """Back-to-back inferences at every spike rate and threshold, under idle and
    backpressure, corner inputs, resets in INTEGRATE and FIRE, and threshold 0."""
    rng = np.random.default_rng(seed)

    def beats(spikes):
        return SNN.encode(spikes, p.S, p.T)

    def expected(spikes, theta):
        return SNN.expected(weights, spikes, theta, p.S, p.T)

    corners = np.stack([np.zeros((p.T, p.n_in), int), np.full((p.T, p.n_in), p.K)])
    phases, theta = sweep("snn", p, weights, corners,
                          lambda r: spike_train(rng, (inferences, p.T, p.n_in), p.S, r), SPIKE_RATES)
    full = np.full((1, p.T, p.n_in), p.K)
    for state in ("INTEGRATE", "FIRE"):   # a partial inference, then a reset mid-way
        phases.append(phase(f"reset in {state}", theta, beats(full)[: max(1, p.T // 2)], [], abort=state))
        after = spike_train(rng, (2, p.T, p.n_in), p.S, 0.5)
        phases.append(phase(f"after reset in {state}", theta, beats(after), expected(after, theta),
                            backpressure=0.3))
    zero = spike_train(rng, (2, p.T, p.n_in), p.S, 0.5)
    phases.append(phase("threshold 0", 0, beats(zero), None, idle=0.2, backpressure=0.2))
    after = spike_train(rng, (1, p.T, p.n_in), p.S, 0.3)
    phases.append(phase("after threshold 0", theta, beats(after), expected(after, theta)))
    return phases


def qnn_case(p, weights, seed, inferences=4):
    rng = np.random.default_rng(seed)

    def beats(acts):
        return QNN.encode(acts, p.S, p.T)

    def expected(acts, theta):
        return QNN.expected(weights, acts, theta, p.S, p.T)

    corners = np.stack([np.zeros(p.n_in, int), np.full(p.n_in, p.L)])
    phases, theta = sweep("qnn", p, weights, corners,
                          lambda s: activations(rng, (inferences, p.n_in), p.L, s), SPARSITIES)
    for state in ("INTEGRATE", "FIRE"):
        phases.append(phase(f"reset in {state}", theta, beats(corners[1:]), [], abort=state))
        after = activations(rng, (3, p.n_in), p.L, 0.5)
        phases.append(phase(f"after reset in {state}", theta, beats(after), expected(after, theta),
                            backpressure=0.3))
    acts = activations(rng, (3, p.n_in), p.L, 0.5)
    phases.append(phase("threshold 0", 0, beats(acts), None, idle=0.2, backpressure=0.2))
    return phases


CASES = {"snn": snn_case, "qnn": qnn_case}


def typical_coverage(kind, p, phases):
    """The typical phases' evidence: the share of their expected fields that fire and that
    are mid-range; fails (AssertionError) when too few fire or, with more than one level,
    too few are mid-range."""
    k = KINDS[kind]
    levels = np.concatenate([k.decode([int(e, 16) for e in ph["expected"]], p.n_out, p.S, p.T)[0]
                             for ph in phases if ph["typical"]])
    return require_evidence(levels, p.K if k.spiking else p.L, f"{kind} W/S/T {p.W}/{p.S}/{p.T} typical phases",
                            min_firing=0.08, min_mid=0.1)      # measured: >= 9.8 % and 13 %


def make_case(kind, p, weights, seed, load=False):
    """The case; with `load`, it starts by writing the weights' memory image through the
    core's `load` port (a core whose weights are in SPRAM)."""
    k = KINDS[kind]
    phases = CASES[kind](p, weights, seed)
    firing, mid = typical_coverage(kind, p, phases)
    return {
        **({"load": hexes(weight_words(p, weights))} if load else {}),
        "coverage": {"firing": firing, "mid": mid},
        "kind": kind, "seed": seed, "fsm_states": list(STATES), "in": k.in_port, "out": k.out_port,
        "n_out": p.n_out, "field_bits": k.bits(p.S, p.T),
        "timeout_cycles": timeout_cycles(max(len(ph["beats"]) for ph in phases), k.beat_cycles(p)),
        "drain_cycles": 2 * k.beat_cycles(p) + 16,     # past any beat still in flight
        "phases": phases,
    }


def expected_transitions(kind, p):
    """FSM transitions every case must visit; FIRE->FIRE only if firing takes >1 cycle."""
    steps = KINDS[kind].bits(p.S, p.T)       # firing steps: S or B
    required = {"IDLE->IDLE", "IDLE->INTEGRATE", "INTEGRATE->INTEGRATE", "INTEGRATE->FIRE", "FIRE->IDLE",
                "INTEGRATE->IDLE (rst)", "FIRE->IDLE (rst)"}
    return required | ({"FIRE->FIRE"} if steps * p.groups > 1 else set())


LEGAL_TRANSITIONS = {"IDLE->IDLE", "IDLE->INTEGRATE", "INTEGRATE->INTEGRATE", "INTEGRATE->FIRE",
                     "FIRE->FIRE", "FIRE->IDLE"} | {f"{s}->IDLE (rst)" for s in STATES}


def default_weights(p, seed):
    """Uniform random weights, at least half the neurons able to fire (`firing_weights`:
    on 3 inputs and 1 neuron, a row of mostly negative weights is likely)."""
    return firing_weights(p, np.random.default_rng([seed, 0]))
