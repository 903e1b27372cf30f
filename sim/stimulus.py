"""Seeded stimulus: weights, rate-coded spike trains, sparse QNN activations, bit packing.

Every generator takes a numpy Generator or a seed, so a failure reproduces from
the seed that the test or report prints.
"""

import numpy as np


def rng_of(seed_or_rng):
    return seed_or_rng if isinstance(seed_or_rng, np.random.Generator) else np.random.default_rng(seed_or_rng)


def random_weights(params, rng):
    """Uniform weights over the legal W-bit range (exactly -1/+1 for W = 1)."""
    rng = rng_of(rng)
    shape = (params.n_out, params.n_in)
    if params.W == 1:
        return rng.choice(np.array([-1, 1]), size=shape)
    return rng.integers(params.w_min, params.w_max, size=shape, endpoint=True)


def firing_weights(params, rng):
    """`random_weights`, with the even neurons' rows negated (clipped to the range) where
    their sum is negative, and given a largest first weight where they have no positive
    one: at least half the neurons have a positive drive and fire, even on a few inputs,
    where an all-negative row is likely. For tests whose evidence needs firing."""
    w = random_weights(params, rng)
    even = np.arange(params.n_out) % 2 == 0
    flip = even & (w.sum(axis=1) < 0)
    w[flip] = np.clip(-w[flip], params.w_min, params.w_max)
    w[even & (w <= 0).all(axis=1), 0] = params.w_max
    return w


def spike_train(rng, shape, S, rate):
    """Rate-coded S-bit spikes of shape (..., T, n_in).

    Each (step, input) carries a non-zero level with probability `rate` (Bernoulli);
    a non-zero level is uniform in 1..2**S-1. For S = 1 this is a Bernoulli spike train.
    Levels come as uint8, as compact as the hardware's S-bit fields.
    """
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"spike rate {rate} is out of range 0..1")
    rng = rng_of(rng)
    fires = rng.random(shape) < rate
    return np.where(fires, rng.integers(1, 2 ** S, size=shape, dtype=np.uint8), np.uint8(0))


def activations(rng, shape, L, sparsity):
    """QNN activations in 0..L: zero with probability `sparsity`, else uniform in 1..L (uint16)."""
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity {sparsity} is out of range 0..1")
    rng = rng_of(rng)
    zero = rng.random(shape) < sparsity
    return np.where(zero, np.uint16(0), rng.integers(1, L + 1, size=shape, dtype=np.uint16))


def pack(fields, bits):
    """Pack the last axis of non-negative ints into one integer per row, field j at [j*bits +: bits]."""
    fields = np.asarray(fields)
    flat = fields.reshape(-1, fields.shape[-1])
    words = [sum(int(f) << (j * bits) for j, f in enumerate(row)) for row in flat]
    return np.array(words, dtype=object).reshape(fields.shape[:-1])


def unpack(words, count, bits):
    """Inverse of pack: (...) integers -> (..., count) fields."""
    words = np.asarray(words, dtype=object)
    mask = (1 << bits) - 1
    out = [[(int(w) >> (j * bits)) & mask for j in range(count)] for w in words.reshape(-1)]
    return np.array(out, dtype=np.int64).reshape(words.shape + (count,))
