"""The golden model: integer SNN (multi-bit IF, reset by subtraction) and its QNN twin.

Vectorized over a batch of inferences and over neurons; the only Python loop is
over timesteps, which the neuron dynamics make sequential. SPEC section 2.
"""

import numpy as np

# A float type adds integers exactly while every partial sum stays below 2**mantissa.
_EXACT_FLOATS = ((np.float32, 2 ** 24), (np.float64, 2 ** 53))


def exact_matmul(x, w):
    """x @ w.T for integer arrays, bit-exact, on BLAS when a bound proves floats exact.

    Every partial sum of a row of x times a row of w is bounded by
    n_in * max|x| * max|w|; below a float type's integer limit, BLAS in that type
    computes the integer result exactly whatever its summation order.
    """
    x, w = np.asarray(x), np.asarray(w)
    rows = x.reshape(-1, x.shape[-1])  # one 2-D GEMM, not a stack of small ones
    bound = x.shape[-1] * _absmax(rows) * _absmax(w)
    for dtype, limit in _EXACT_FLOATS:
        if bound < limit:
            y = rows.astype(dtype) @ w.T.astype(dtype)
            break
    else:
        y = rows.astype(np.int64) @ w.T.astype(np.int64)
    return y.astype(np.int64).reshape(x.shape[:-1] + w.shape[:1])


def _absmax(a):
    if a.size == 0:
        return 0
    return max(abs(int(a.max())), abs(int(a.min())))


def _check_theta(theta):
    theta = np.asarray(theta)
    if theta.dtype.kind not in "iu" or (theta <= 0).any():
        raise ValueError(f"threshold must be a positive integer, got {theta!r}")
    return theta.astype(np.int64)


def fire(v, theta, K):
    """Multi-bit IF firing: k = clamp(floor(v/theta), 0, K); returns (k, v - k*theta)."""
    k = np.clip(np.floor_divide(v, theta), 0, K)
    return k, v - k * theta


def snn_forward(weights, spikes, theta, S, *, return_drive=False, return_membranes=False):
    """Run the SNN core.

    weights: (n_out, n_in) ints; spikes: (..., T, n_in) levels in 0..2**S-1;
    theta: positive int (or broadcastable per neuron). Returns out (..., T, n_out);
    with return_drive also the per-step drive P (..., T, n_out); with return_membranes
    also the membranes as each step fires (..., T, n_out), before its reset.
    """
    theta = _check_theta(theta)
    K = 2 ** S - 1
    spikes = np.asarray(spikes)
    drive = exact_matmul(spikes, weights)
    out, membranes = np.empty_like(drive), np.empty_like(drive)
    v = np.zeros(drive.shape[:-2] + drive.shape[-1:], np.int64)  # reset at every inference
    for t in range(drive.shape[-2]):
        membranes[..., t, :] = v + drive[..., t, :]
        out[..., t, :], v = fire(membranes[..., t, :], theta, K)
    extra = [a for a, wanted in ((drive, return_drive), (membranes, return_membranes)) if wanted]
    return (out, *extra) if extra else out


def qnn_forward(weights, acts, theta, L):
    """Run the QNN twin: a_out = clamp(floor(sum_j w*a / theta), 0, L); acts (..., n_in)."""
    theta = _check_theta(theta)
    return fire(exact_matmul(acts, weights), theta, L)[0]


def twin_condition(drive, theta, K):
    """Per inference and neuron: does 0 <= P <= K*theta hold at every step? drive (..., T, n_out)."""
    return ((drive >= 0) & (drive <= K * np.asarray(theta))).all(axis=-2)
