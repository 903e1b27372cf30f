"""Analytical energy model: SPEC section 5 reference values, solvers, bounds, CLI errors."""

import json
import os
from dataclasses import replace

import pytest

from sim.energy import (HARDWARE, OpEnergy, Scenario, breakeven_hops, breakeven_spike_rate, evaluate,
                        load_calibration, op_energy, qnn_bits, s_ace, spike_rate_bounds)
from sim.energy import analyses
from sim.energy.__main__ import main

TYPICAL = HARDWARE["typical"]


def close(a, b, rel=1e-3):
    return abs(a - b) <= rel * abs(b)


def test_efficient_snn_typical_hardware_reference():
    r = evaluate(Scenario(T=2, spike_rate=0.02, gamma=0.96, N=4096, hardware=TYPICAL))
    assert r["qnn_bits"] == 2
    assert close(r["snn_pj"], 551.35) and close(r["snn_lifetime_h"], 20.15)
    assert close(r["qnn_pj"], 1048.41) and close(r["qnn_lifetime_h"], 10.60)


@pytest.mark.parametrize("T, qnn_density, snn_rate, snn_pj, qnn_pj, ratio", [
    (3, 0.1222, 0.0549, 1204.72, 1226.38, 0.9823),
    (4, 0.1652, 0.0643, 1881.21, 1839.32, 1.0228),
    (5, 0.1989, 0.0710, 2596.45, 1847.54, 1.4054),
])
def test_vgg16_cifar10_reference(T, qnn_density, snn_rate, snn_pj, qnn_pj, ratio):
    r = evaluate(Scenario(T=T, spike_rate=snn_rate, gamma=1 - qnn_density, N=2394, hardware=TYPICAL,
                          hops=1, reuse_qnn=216.3, reuse_snn=T * 216.3))
    assert close(r["snn_pj"], snn_pj) and close(r["qnn_pj"], qnn_pj) and close(r["ratio"], ratio)


def test_breakeven_reference_and_solver():
    s = Scenario(T=4, spike_rate=0.0, gamma=0.8, N=4096, hardware=TYPICAL)
    rate = breakeven_spike_rate(s)
    assert abs(rate - 0.080) < 0.0015
    assert abs(evaluate(replace(s, spike_rate=rate))["ratio"] - 1) < 1e-6
    h = breakeven_hops(Scenario(T=4, spike_rate=0.1, gamma=0.6, hardware=TYPICAL))
    assert abs(evaluate(Scenario(T=4, spike_rate=0.1, gamma=0.6, hardware=TYPICAL, hops=h))["ratio"] - 1) < 1e-6


def test_breakeven_none_when_snn_always_wins():
    s = Scenario(T=1, spike_rate=0.0, gamma=0.0, N=4096, hardware=HARDWARE["minimum"],
                 ops=OpEnergy(E_ACC=0.0, E_cmp=0.0, E_sub=0.0, E_w=0.0))
    assert breakeven_spike_rate(s) is None


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.8, 1.0])
@pytest.mark.parametrize("T", [1, 2, 5, 32])
def test_spike_rate_bounds_are_ordered(gamma, T):
    b = spike_rate_bounds(gamma, T)
    assert b["best"] <= b["average"] <= b["worst"] == pytest.approx(1 - gamma)


def test_aggregated_transmission_equals_the_qnn_movement_form():
    base = Scenario(T=6, spike_rate=0.3, gamma=0.7, N=512, hardware=TYPICAL, reuse_qnn=5, reuse_snn=5)
    r = evaluate(replace(base, transmission="aggregated"))
    assert r["snn_mov_pj"] == pytest.approx(r["qnn_mov_pj"])
    assert r["snn_comp_pj"] == pytest.approx(evaluate(base)["snn_comp_pj"])


def test_movement_picks_the_cheaper_of_sparse_and_dense():
    dense = evaluate(Scenario(T=8, spike_rate=0.9, gamma=0.0, N=100, hardware=HARDWARE["worst"]))
    assert dense["snn_mode"] == "dense" and dense["qnn_mode"] == "dense"
    sparse = evaluate(Scenario(T=2, spike_rate=0.01, gamma=0.98, N=100, hardware=TYPICAL))
    assert sparse["snn_mode"] == "sparse" and sparse["qnn_mode"] == "sparse"


def test_qnn_bits_and_mac_extension():
    assert [qnn_bits(T) for T in (1, 2, 3, 4, 7, 8, 16)] == [1, 2, 2, 3, 3, 4, 5]
    ops = OpEnergy()
    assert ops.mac(4) == 0.1171 and ops.mac(5) == pytest.approx(0.1171 + 0.0153)
    assert op_energy(4).mac(2) == pytest.approx(0.0883 / 2)


def test_calibration_file_replaces_defaults(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"E_ACC": 1.0, "E_MAC": {"1": 2.0, "2": 3.0}}))
    ops = load_calibration(path)
    assert ops.E_ACC == 1.0 and ops.mac(2) == 3.0 and ops.mac(3) == 4.0 and ops.E_w == 0.31
    path.write_text(json.dumps({"E_ADD": 1.0}))
    with pytest.raises(ValueError, match="unknown keys"):
        load_calibration(path)
    path.write_text(json.dumps({"E_ACC": -1.0}))
    with pytest.raises(ValueError, match="negative"):
        load_calibration(path)


def test_s_ace():
    r = s_ace([{"macs": 1000, "W": 8, "S": 2, "T": 4, "rate": 0.25}, {"macs": 10, "W": 1, "S": 1, "T": 1, "rate": 1}])
    assert r["S_ACE"] == 1000 * 64 + 10 and r["NS_ACE"] == 0.25 * 64000 + 10


def test_json_cli_has_every_field(capsys):
    assert main(["--T", "2", "--spike-rate", "0.02", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    for key in ("snn_pj", "qnn_pj", "ratio", "qnn_bits", "snn_comp_pj", "snn_mov_pj", "qnn_comp_pj",
                "qnn_mov_pj", "snn_mode", "qnn_mode", "snn_lifetime_h", "qnn_lifetime_h"):
        assert key in r
    assert r["gamma"] == pytest.approx(0.96) and close(r["snn_pj"], 551.35)


@pytest.mark.parametrize("args, message", [
    (["--spike-rate", "1.5"], "--spike-rate 1.5 is out of range"),
    (["--spike-rate", "-0.1"], "--spike-rate -0.1 is out of range"),
    (["--T", "0"], "--T 0 is out of range"),
    (["--hardware", "cheap"], "--hardware cheap: legal is one of minimum, typical, worst"),
    (["--hops", "-1"], "--hops -1.0 is out of range"),
    (["--weight-bits", "6"], "--weight-bits 6: legal is 8 or 4"),
    (["--transmission", "burst"], "--transmission burst"),
    (["sace"], "sace needs --layers"),
])
def test_cli_errors_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_negative_calibrated_energy_exits_2(tmp_path, capsys):
    (tmp_path / "c.json").write_text('{"E_w": -0.3}')
    assert main(["--calibration", str(tmp_path / "c.json")]) == 2
    assert "E_w = -0.3 is negative" in capsys.readouterr().err


@pytest.mark.parametrize("analysis", ["breakeven", "landscape", "hops", "reuse"])
def test_analyses_write_json_markdown_png(tmp_path, analysis):
    assert main([analysis, "--T", "4", "--spike-rate", "0.1", "--out", str(tmp_path)]) == 0
    result = json.loads((tmp_path / f"{analysis}.json").read_text())
    assert result["analysis"] == analysis
    assert (tmp_path / f"{analysis}.md").read_text().count("|") > 4
    assert (tmp_path / f"{analysis}.png").read_bytes()[:4] == b"\x89PNG"


def test_landscape_efficient_typical_matches_reference():
    row = next(r for r in analyses.landscape()["rows"] if (r["software"], r["hardware"]) == ("efficient", "typical"))
    assert close(row["snn_pj"], 551.35) and close(row["qnn_pj"], 1048.41)


def test_an_analysis_that_cannot_write_its_figure_writes_nothing(tmp_path, capsys):
    (tmp_path / "hops.png").mkdir()         # the figure's path is taken
    assert main(["hops", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "hops.png: a directory is in the way" in err and err.count("\n") == 1
    assert os.listdir(tmp_path) == ["hops.png"] and os.listdir(tmp_path / "hops.png") == []


def test_an_analysis_whose_figure_fails_writes_nothing(tmp_path, monkeypatch):
    from sim.energy import analyses

    def broken(result):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(analyses, "plot", broken)
    with pytest.raises(OSError):
        analyses.write(analyses.sace([{"macs": 1, "W": 1, "S": 1, "T": 1, "rate": 1}]), str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()
