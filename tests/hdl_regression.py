"""Run the emitted Verilog of a core under cocotb (Verilator by default, Icarus with
`BB_SIM=icarus`), on a case made from the twin, and return what the testbench saw.

Builds are cached per (simulator, Verilog text) under `build/cocotb/`, so a second
run of a parameter point skips the C++ compile.
"""

import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

import numpy as np
from amaranth.back import verilog
from cocotb_tools.runner import get_results, get_runner

from gen.engine import STATES
from reports.activity import verilator_bin
from sim.stimulus import activations, pack, random_weights, spike_train
from sim.twin import qnn_forward, snn_forward

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
CACHE = os.path.join(ROOT, "build", "cocotb")
SIMULATORS = ("verilator", "icarus")
BUILD_ARGS = {
    # one C++ file: a split build races on its precompiled header under make -j
    "verilator": ["-Wno-fatal", "-O1", "--output-split", "0"],
    # the runner passes -g2012, under which Amaranth's time-0 trigger for its `always @*`
    # blocks (a reg initialised to 0) fires no event, leaving outputs X; -g2005 restores it
    "icarus": ["-g2005"],
}
SPIKE_RATES = (0.0, 0.02, 0.1, 0.5, 1.0)
SPARSITIES = (1.0, 0.9, 0.5, 0.1, 0.0)


def simulator():
    """The simulator chosen by `BB_SIM` (default verilator)."""
    sim = os.environ.get("BB_SIM", "verilator")
    if sim not in SIMULATORS:
        raise ValueError(f"BB_SIM={sim!r}: legal is one of {', '.join(SIMULATORS)}")
    return sim


def simulator_available(sim):
    if sim == "verilator":
        return verilator_bin() is not None
    return shutil.which("iverilog") is not None


def simulator_version(sim):
    import subprocess
    cmd = [os.path.join(verilator_bin(), "verilator"), "--version"] if sim == "verilator" else ["iverilog", "-V"]
    return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()


def build(core, module, sim):
    """Emit `core` as `module`, build it for `sim` (cached); returns the build directory."""
    text = verilog.convert(core, name=module)
    key = hashlib.sha256(f"{sim}\n{BUILD_ARGS[sim]}\n{text}".encode()).hexdigest()[:16]
    build_dir = os.path.join(CACHE, sim, f"{module}-{key}")
    done = os.path.join(build_dir, "built")
    if not os.path.exists(done):
        os.makedirs(build_dir, exist_ok=True)
        source = os.path.join(build_dir, f"{module}.v")
        with open(source, "w") as f:
            f.write(text)
        if sim == "verilator":
            os.environ["PATH"] = verilator_bin() + os.pathsep + os.environ["PATH"]
        get_runner(sim).build(sources=[source], hdl_toplevel=module, build_dir=build_dir, build_args=BUILD_ARGS[sim],
                              timescale=("1ns", "1ps"), log_file=os.path.join(build_dir, "build.log"))
        open(done, "w").close()
    return build_dir


def run(build_dir, module, case, sim, name):
    """Replay `case` on a built core; returns (passed, report dict or None, log path)."""
    case_file = os.path.join(build_dir, f"{name}.case.json")
    report = os.path.join(build_dir, f"{name}.report.json")
    if os.path.exists(report):
        os.remove(report)
    with open(case_file, "w") as f:
        json.dump(dict(case, report=report), f)
    log = os.path.join(build_dir, f"{name}.log")
    for path in (TESTS, ROOT):      # the runner hands the simulator's Python our sys.path
        if path not in sys.path:
            sys.path.append(path)
    env = {"BB_CASE": case_file}
    results = os.path.join(build_dir, f"{name}.results.xml")
    try:    # under pytest, the runner exits on a failed cocotb test
        get_runner(sim).test(test_module="cocotb_core", hdl_toplevel=module, hdl_toplevel_lang="verilog",
                             build_dir=build_dir, test_dir=build_dir, extra_env=env, timescale=("1ns", "1ps"),
                             results_xml=results, log_file=log)
    except SystemExit:
        pass
    passed = os.path.exists(results) and get_results(Path(results)) == (1, 0)
    return passed, (json.load(open(report)) if passed else None), log


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
        return pack(spikes.reshape(-1, p.n_in), p.S)

    def expected(spikes, theta):
        levels = snn_forward(weights, spikes, theta, p.S).reshape(-1, p.n_out)
        lasts = np.tile(np.arange(p.T) == p.T - 1, len(spikes))
        return [int(w) | (int(l) << (p.n_out * p.S)) for w, l in zip(pack(levels, p.S), lasts)]

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

    def expected(acts, theta):
        return pack(qnn_forward(weights, acts, theta, p.L), p.B)

    corners = np.stack([np.zeros(p.n_in, int), np.full(p.n_in, p.L)])
    phases = []
    for (tname, theta), (idle, bp) in zip(thresholds(p, rng), [(0.3, 0.4), (0.0, 0.0), (0.5, 0.7)]):
        acts = np.concatenate([corners] + [activations(rng, (inferences, p.n_in), p.L, s) for s in SPARSITIES])
        phases.append(phase(f"sparsities {tname}", theta, pack(acts, p.B), expected(acts, theta),
                            idle=idle, backpressure=bp))
    theta = thresholds(p, rng)[0][1]
    for state in ("INTEGRATE", "FIRE"):
        phases.append(phase(f"reset in {state}", theta, pack(corners[1:], p.B), [], abort=state))
        after = activations(rng, (3, p.n_in), p.L, 0.5)
        phases.append(phase(f"after reset in {state}", theta, pack(after, p.B), expected(after, theta),
                            backpressure=0.3))
    acts = activations(rng, (3, p.n_in), p.L, 0.5)
    phases.append(phase("threshold 0", 0, pack(acts, p.B), None, idle=0.2, backpressure=0.2))
    return phases


def make_case(kind, p, weights, seed):
    snn = kind == "snn"
    phases = (snn_case if snn else qnn_case)(p, weights, seed)
    steps = p.S if snn else p.B
    in_bits = p.n_in * (p.S if snn else p.B)
    return {
        "kind": kind, "seed": seed, "fsm_states": list(STATES),
        "in": "spikes_in" if snn else "acts_in", "out": "spikes_out" if snn else "acts_out",
        "n_out": p.n_out, "field_bits": steps,
        # generous: every input bit an event, every group, plus firing, per beat
        "timeout_cycles": 1000 + 4 * max(len(ph["beats"]) for ph in phases) * p.groups * (in_bits + steps + 2),
        "phases": phases,
    }


def expected_transitions(kind, p):
    """FSM transitions every case must visit; FIRE->FIRE only if firing takes >1 cycle."""
    steps = p.S if kind == "snn" else p.B
    required = {"IDLE->IDLE", "IDLE->INTEGRATE", "INTEGRATE->INTEGRATE", "INTEGRATE->FIRE", "FIRE->IDLE",
                "INTEGRATE->IDLE (rst)", "FIRE->IDLE (rst)"}
    return required | ({"FIRE->FIRE"} if steps * p.groups > 1 else set())


LEGAL_TRANSITIONS = {"IDLE->IDLE", "IDLE->INTEGRATE", "INTEGRATE->INTEGRATE", "INTEGRATE->FIRE",
                     "FIRE->FIRE", "FIRE->IDLE"} | {f"{s}->IDLE (rst)" for s in STATES}


def default_weights(p, seed):
    return random_weights(p, np.random.default_rng([seed, 0]))
