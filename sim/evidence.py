"""Evidence that a bit-exact comparison compares something: a threshold near the spread of
the drive the stimulus makes, and the share of expected outputs that fire and that sit
strictly inside the level range (0 < k < top), where the divider's middle results show.

A comparison of all-zero or all-clamped outputs passes for a core that does not add, does
not divide or drops the residual; test case builders call `require_evidence` so that a
change of stimulus or threshold cannot quietly make the evidence vacuous.
"""

import numpy as np

from .twin import exact_matmul

# The least evidence a run at a typical threshold must carry. Measured minima: the cocotb
# grid's typical phases (88 points) 9.8 % firing, 13 % mid-range; the Amaranth grids'
# random-weight runs (120 points, 1..7 inputs) 4.8 % firing (2 inputs x 3 neurons, S = 1)
# and 8.3 % mid-range.
MIN_FIRING = 0.04
MIN_MID = 0.05


def spread_threshold(weights, inputs, top):
    """A threshold near the spread of the drive `inputs @ weights.T` (one timestep's P for
    spike levels, the QNN's sum for activations): the root-mean-square of its positive
    values reaches the middle of the levels 0..top, so neurons with a positive drive
    fire, at several levels, and few are clamped (the idea of
    `reports.measurement.default_threshold`, measured on the actual drive)."""
    drive = exact_matmul(np.asarray(inputs).reshape(-1, np.shape(inputs)[-1]), weights).astype(np.float64)
    positive = drive[drive > 0]
    if positive.size == 0:
        return 1
    return max(1, int(round(float(np.sqrt(np.mean(np.square(positive)))) / ((top + 1) / 2))))


def coverage(levels, top):
    """(share of output fields that fire (k > 0), share strictly mid-range (0 < k < top))."""
    levels = np.asarray(levels)
    if levels.size == 0:
        return 0.0, 0.0
    return float(np.mean(levels > 0)), float(np.mean((levels > 0) & (levels < top)))


def require_evidence(levels, top, what, *, min_firing=MIN_FIRING, min_mid=MIN_MID):
    """Raise AssertionError naming `what` unless enough of `levels` fire and, when there
    are levels between 0 and `top` (top > 1), enough lie strictly between. Returns the
    coverage pair."""
    firing, mid = coverage(levels, top)
    assert firing >= min_firing, (f"{what}: only {firing:.1%} of the expected outputs fire "
                                  f"(need {min_firing:.0%}): the comparison would check zeros")
    if top > 1:
        assert mid >= min_mid, (f"{what}: only {mid:.1%} of the expected outputs lie in 1..{top - 1} "
                                f"(need {min_mid:.0%}): the divider's middle results go unchecked")
    return firing, mid
