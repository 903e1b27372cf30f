"""Weights for a core: loaded from .npy or drawn from a seed, range-checked, packed for block RAM."""

import hashlib

import numpy as np

from sim.params import ParamError
from sim.stimulus import random_weights


def load_weights(path, params):
    """Read an (n_out, n_in) integer .npy file; ParamError names what is wrong with it."""
    try:
        w = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise ParamError("weights", path, text="{name} {value}: no such file") from None
    except (OSError, ValueError) as e:
        raise ParamError("weights", path, text="{name} {value}: not a readable .npy array ({why})", why=e) from None
    try:
        return params.check_weights(w)
    except ParamError as e:
        raise ParamError("weights", path, text="{name} {value}: {why}", why=e) from None


def make_weights(params, path=None, seed=0):
    """(weights, source description) from a file, else from a seeded RNG."""
    if path is not None:
        return load_weights(path, params), f"file {path}"
    return params.check_weights(random_weights(params, seed)), f"uniform random, numpy seed {seed}"


def weights_digest(weights):
    """sha256 of the weights as little-endian int64 in row-major (n_out, n_in) order."""
    return hashlib.sha256(np.ascontiguousarray(weights, dtype="<i8").tobytes()).hexdigest()


def weight_words(params, weights):
    """Memory image: word j*G + g holds the weights of neurons g*lanes .. g*lanes+lanes-1
    for input j, lane l at bits [l*W +: W]. W = 1 stores bit 0 for +1 and bit 1 for -1."""
    W, G, lanes = params.W, params.groups, params.lanes
    codes = (weights < 0).astype(np.int64) if W == 1 else weights & ((1 << W) - 1)
    return [sum(int(codes[g * lanes + l, j]) << (l * W) for l in range(lanes))
            for j in range(params.n_in) for g in range(G)]
