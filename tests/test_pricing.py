"""reports.pricing: toggles x coefficients, per inference, per synapse and per event op,
against a record priced by hand."""

import pytest

from reports.pricing import price


def test_energy_per_inference_synapse_and_event_by_hand():
    record = {"params": {"n_in": 4, "n_out": 2}, "inferences": 2, "events": 5,
              "counts": {"toggles": {"lut4": 100, "ff": 50}, "clock_cycles": 200, "bram_read_fraction": 0.5,
                         "by_block": {"accumulate/MAC|lut4": 100, "FSM/control|ff": 50}}}
    coeffs = {"per_toggle": {"lut4": 0.01, "ff": 0.02}, "clock": 0.005, "bram": 0.1, "path": "hand.json"}
    r = price(record, coeffs)
    # 100 x 0.01 + 50 x 0.02 + 0.5 x 200 reads x 0.1 + 200 cycles x 0.005 = 1 + 1 + 10 + 1 = 13 pJ
    assert r["pj_per_inference"] == pytest.approx(13 / 2)
    assert r["pj_per_synapse"] == pytest.approx(6.5 / (4 * 2))          # per inference over n_in x n_out
    assert r["pj_per_event_op"] == pytest.approx(13 / (5 * 2))          # over non-zero inputs x n_out
    assert r["pj_by_block"] == pytest.approx({"weight memory": 5.0, "accumulate/MAC": 0.5,
                                              "membrane/threshold": 0.0, "FSM/control": 0.5, "clock": 0.5})
    assert r["pj_by_class"] == pytest.approx({"lut4": 0.5, "ff": 0.5, "bram reads": 5.0, "clock": 0.5})
    assert price(dict(record, events=0), coeffs)["pj_per_event_op"] is None
