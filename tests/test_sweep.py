"""reports.sweep: allocations, measured cycles, and a tiny sweep through a Dask cluster."""

import json

import numpy as np
import pytest

from gen.weights import make_weights
from reports import sweep
from sim.params import CoreParams
from sim.stimulus import spike_train


def test_allocations_enumerate_every_split():
    assert sweep.allocations([32], []) == [(8, 1, 4), (8, 2, 2), (8, 4, 1)]
    assert sweep.allocations([64], [4]) == [(8, 1, 8), (8, 2, 4), (8, 4, 2), (8, 8, 1), (4, 2, 2)]


def test_measured_cycles_follow_the_manifest_formula():
    p = CoreParams(4, 2, 3, 10, 4, 2)
    w, _ = make_weights(p, None, 0)
    rate = 0.2
    spikes = spike_train(np.random.default_rng([0, 200]), (3, p.T, p.n_in), p.S, rate)
    set_bits = [sum(bin(int(x)).count("1") for x in inference.ravel()) for inference in spikes]
    expected = np.mean([p.snn_cycles(e, p.T) for e in set_bits])
    assert sweep.measured_cycles("snn", p, w, rate) == pytest.approx(expected)


def test_sweep_through_a_dask_cluster_and_its_cache(tmp_path, capsys):
    distributed = pytest.importorskip("distributed")
    argv = ["--bb", "8", "--w-sweep", "--kind", "snn", "--n-in", "4", "--n-out", "2", "--out", str(tmp_path)]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None) as cluster:
        assert sweep.main(argv + ["--dask", cluster.scheduler_address]) == 0
    first = capsys.readouterr()
    summary = json.loads((tmp_path / "sweep.json").read_text())
    assert [(r["params"]["S"], r["params"]["T"]) for r in summary["results"]] == [(1, 1)]
    r = summary["results"][0]
    assert r["inferences_per_s"]["0.2"] == pytest.approx(r["fmax_mhz"] * 1e6 / r["cycles"]["0.2"])
    assert (tmp_path / "sweep.png").stat().st_size > 0 and "| snn | 8 | 1 | 1 |" in first.out
    assert sweep.main(argv) == 0                 # local pool now; every point comes from the cache
    assert "(cached)" in capsys.readouterr().err


def test_bad_dask_address_is_a_usage_error(tmp_path, capsys):
    pytest.importorskip("distributed")
    assert sweep.main(["--bb", "8", "--w-sweep", "--n-in", "4", "--n-out", "2", "--out", str(tmp_path),
                       "--dask", "tcp://127.0.0.1:9"]) == 2
    assert "--dask tcp://127.0.0.1:9: cannot connect" in capsys.readouterr().err
