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
from sim.beats import KINDS, QNN, SNN, timeout_cycles
from sim.stimulus import activations, random_weights, spike_train

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
    """Emit `core` as `module`, build it for `sim` (cached); returns the build directory."""
    text = verilog.convert(core, name=module)
    return runner.build(module, {f"{module}.v": text}, os.path.join(CACHE, sim), sim=sim)


def run(build_dir, module, case, sim):
    """Replay `case` on a built core; returns (passed, report dict or None, log path)."""
    report, run_dir = runner.run(build_dir, module, "regression", case, sim=sim)
    return report is not None, report, os.path.join(run_dir, "test.log")


# ---- cases: the phases the testbench replays, with the twin's expected beats ----

def hexes(words):
    return [format(int(w), "x") for w in words]


def phase(name, threshold, beats, expected, *, idle=0.0, backpressure=0.0, abort=None):
    return dict(name=name, threshold=int(threshold), beats=hexes(beats),
                expected=None if expected is None else hexes(expected),
                idle=idle, backpressure=backpressure, abort=abort)


def thresholds(p, rng):
    """A threshold near the typical drive, the smallest (1) and the largest the port holds."""
    typical = int(rng.integers(1, max(2, p.n_in * max(p.w_max, 1) * p.K // 4) + 1))
    return [("typical", typical), ("theta=1", 1), ("theta=max", 2 ** p.theta_width - 1)]


def snn_case(p, weights, seed, inferences=3):
    """Back-to-back inferences at every spike rate and threshold, under idle and
    backpressure, corner inputs, resets in INTEGRATE and FIRE, and threshold 0."""
    rng = np.random.default_rng(seed)

    def beats(spikes):
        return SNN.encode(spikes, p.S, p.T)

    def expected(spikes, theta):
        return SNN.expected(weights, spikes, theta, p.S, p.T)

    corners = np.stack([np.zeros((p.T, p.n_in), int), np.full((p.T, p.n_in), p.K)])
    phases = []
    for (tname, theta), (idle, bp) in zip(thresholds(p, rng), [(0.3, 0.4), (0.0, 0.0), (0.5, 0.7)]):
        trains = [corners] + [spike_train(rng, (inferences, p.T, p.n_in), p.S, r) for r in SPIKE_RATES]
        spikes = np.concatenate(trains)
        phases.append(phase(f"rates {tname}", theta, beats(spikes), expected(spikes, theta),
                            idle=idle, backpressure=bp))
    full = np.full((1, p.T, p.n_in), p.K)
    theta = thresholds(p, rng)[0][1]
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
    phases = []
    for (tname, theta), (idle, bp) in zip(thresholds(p, rng), [(0.3, 0.4), (0.0, 0.0), (0.5, 0.7)]):
        acts = np.concatenate([corners] + [activations(rng, (inferences, p.n_in), p.L, s) for s in SPARSITIES])
        phases.append(phase(f"sparsities {tname}", theta, beats(acts), expected(acts, theta),
                            idle=idle, backpressure=bp))
    theta = thresholds(p, rng)[0][1]
    for state in ("INTEGRATE", "FIRE"):
        phases.append(phase(f"reset in {state}", theta, beats(corners[1:]), [], abort=state))
        after = activations(rng, (3, p.n_in), p.L, 0.5)
        phases.append(phase(f"after reset in {state}", theta, beats(after), expected(after, theta),
                            backpressure=0.3))
    acts = activations(rng, (3, p.n_in), p.L, 0.5)
    phases.append(phase("threshold 0", 0, beats(acts), None, idle=0.2, backpressure=0.2))
    return phases


CASES = {"snn": snn_case, "qnn": qnn_case}


def make_case(kind, p, weights, seed):
    k = KINDS[kind]
    phases = CASES[kind](p, weights, seed)
    return {
        "kind": kind, "seed": seed, "fsm_states": list(STATES), "in": k.in_port, "out": k.out_port,
        "n_out": p.n_out, "field_bits": k.bits(p.S, p.T),
        "timeout_cycles": timeout_cycles(max(len(ph["beats"]) for ph in phases), k.beat_cycles(p)),
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
    return random_weights(p, np.random.default_rng([seed, 0]))
