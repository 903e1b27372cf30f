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


# Hand-derived from SPEC section 5's formulas (typical hardware: E_sparse 3, E_dense 0.25;
# E_ACC = E_cmp = E_sub = 0.05448, E_w = 0.31, E_MAC(3) = 0.1018), every step written out.

def test_aggregated_transmission_with_unequal_reuse_by_hand():
    # T=6: B=3; 0.3 x 512 = 153.6 active words. SNN, R_SNN=20: sparse 153.6*(0.31/20 + 3*3) = 1384.7808,
    # dense 512*(0.0155 + 3*0.25) = 391.936. QNN, R_QNN=5: dense 512*(0.062 + 0.75) = 415.744.
    r = evaluate(Scenario(T=6, spike_rate=0.3, gamma=0.7, N=512, hardware=TYPICAL, reuse_qnn=5, reuse_snn=20,
                          transmission="aggregated"))
    assert r["snn_mov_pj"] == pytest.approx(391.936) and r["snn_mode"] == "dense"
    assert r["qnn_mov_pj"] == pytest.approx(415.744)


def test_breakeven_spike_rate_by_hand():
    # T=4, gamma=0.8, N=4096, B=3. QNN: 0.2*4096*0.1018 + 2*0.05448 = 83.50352, movement
    # dense 4096*(0.31 + 3*0.25) = 4341.76 (sparse 819.2*9.31 = 7626.752): 4425.26352.
    # SNN at rate r: 4r*4096*0.05448 + 4*0.05448 + 4r*0.05448 = 892.81824 r + 0.21792, movement
    # sparse 4r*4096*(0.31 + 3) = 54231.04 r (dense 9175.04 is larger near r = 0.08).
    hand = (4425.26352 - 0.21792) / (892.81824 + 54231.04)
    assert breakeven_spike_rate(Scenario(T=4, spike_rate=0.0, gamma=0.8, N=4096, hardware=TYPICAL)) \
        == pytest.approx(hand, rel=1e-6)


def test_breakeven_hops_by_hand():
    # T=4, rate 0.1, gamma 0.6, N=4096, B=3. QNN: 0.4*4096*0.1018 + 0.10896 = 166.89808, movement dense
    # 4096*(0.31 + 3*0.25 h) = 1269.76 + 3072 h (sparse for h < 0.065 only). SNN: 1638.4*0.05448 +
    # 4*0.05448 + 0.4*0.05448 = 89.499744, movement sparse 1638.4*(0.31 + 3 h) = 507.904 + 4915.2 h
    # (dense for h > 5.58). Equal at 89.499744 + 507.904 + 4915.2 h = 166.89808 + 1269.76 + 3072 h.
    hand = (166.89808 + 1269.76 - 89.499744 - 507.904) / (4915.2 - 3072)
    assert breakeven_hops(Scenario(T=4, spike_rate=0.1, gamma=0.6, hardware=TYPICAL)) == pytest.approx(hand, rel=1e-6)
    curve = analyses.hops(reuses=(1,))["curves"][0]        # the analysis' defaults: T=4, rate 0.1, gamma 0.6
    assert curve["breakeven_hops"] == pytest.approx(hand, rel=1e-6)


def test_reuse_grid_by_hand():
    # T=4, rate 0.1, gamma 1 - 0.4 = 0.6, h=1. QNN at R_QNN=10: 166.89808 + dense 4096*(0.031 + 0.75)
    # = 3365.87408. SNN at R_SNN=50: 89.499744 + dense 16384*(0.0062 + 0.25) = 4287.080544.
    grid = analyses.reuse(values=(10, 50))
    assert grid["rows_are"] == "reuse_snn"
    assert grid["ratio"][1][0] == pytest.approx(4287.080544 / 3365.87408)
    # and R_SNN=10, R_QNN=50: SNN 89.499744 + 16384*(0.031 + 0.25); QNN 166.89808 + 4096*(0.0062 + 0.75)
    assert grid["ratio"][0][1] == pytest.approx((89.499744 + 16384 * 0.281) / (166.89808 + 4096 * 0.7562))


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


def test_analysis_files_hold_the_hand_derived_values(tmp_path):
    """What the CLI writes, not only that it writes: the values derived by hand above."""
    for analysis in ("breakeven", "hops", "reuse"):
        assert main([analysis, "--T", "4", "--spike-rate", "0.1", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "breakeven.json").read_text())["rows"]
    row = next(r for r in rows if (r["weight_bits"], r["N"], r["T"]) == (8, 4096, 4))
    assert row["breakeven_spike_rate"] == pytest.approx((4425.26352 - 0.21792) / (892.81824 + 54231.04), rel=1e-6)
    curve = next(c for c in json.loads((tmp_path / "hops.json").read_text())["curves"] if c["reuse"] == 1)
    assert curve["breakeven_hops"] == pytest.approx((166.89808 + 1269.76 - 89.499744 - 507.904) / 1843.2, rel=1e-6)
    reuse = json.loads((tmp_path / "reuse.json").read_text())
    values = reuse["reuse_values"]
    assert reuse["ratio"][values.index(50)][values.index(10)] == pytest.approx(4287.080544 / 3365.87408)


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
