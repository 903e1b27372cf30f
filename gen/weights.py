"""Weights for a core: loaded from .npy or drawn from a seed, range-checked, packed for block RAM."""

import hashlib

import numpy as np

from sim.params import ParamError
from sim.stimulus import random_weights
from sim.validate import load_int_array


def load_weights(path, params):
    """Read an (n_out, n_in) integer .npy file; ParamError names what is wrong with it."""
    w = load_int_array("weights", path)
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
    for input j, lane l at bits [l*W +: W]. W = 1 stores bit 0 for +1 and bit 1 for -1.

    Vectorized: the (n_in, G, lanes, W) bit array is packed into bytes, one row per word
    (the 4096 x 1024, W=16 core: 64 M bits; a Python shift per weight took minutes)."""
    W, G, lanes = params.W, params.groups, params.lanes
    w = np.asarray(weights, dtype=np.int64)
    codes = (w < 0).astype(np.uint16) if W == 1 else (w & ((1 << W) - 1)).astype(np.uint16)
    lane_major = codes.T.reshape(params.n_in, G, lanes)        # [j, g, l] = codes[g*lanes + l, j]
    bits = np.empty(lane_major.shape + (W,), dtype=np.uint8)
    for b in range(W):
        bits[..., b] = (lane_major >> b) & 1
    rows = np.packbits(bits.reshape(params.n_in * G, lanes * W), axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in rows]
