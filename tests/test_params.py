import numpy as np
import pytest

from sim.cli import message
from sim.params import CoreParams, ParamError, signed_bits


def test_derived_values_for_the_default_core():
    p = CoreParams(8, 2, 2)
    assert (p.BB, p.K, p.L, p.B, p.lanes, p.groups) == (32, 3, 6, 3, 16, 1)


@pytest.mark.parametrize("T, S, B", [(1, 1, 1), (2, 1, 2), (3, 1, 2), (4, 1, 3), (7, 1, 3), (8, 1, 4),
                                     (2, 2, 3), (64, 8, 14)])
def test_twin_precision_is_ceil_log2_L_plus_1(T, S, B):
    p = CoreParams(4, S, T)
    assert p.B == B == int(np.ceil(np.log2(p.L + 1)))


@pytest.mark.parametrize("kwargs, words", [
    (dict(W=0, S=1, T=1), ["--W 0", "1..16"]),
    (dict(W=17, S=1, T=1), ["--W 17", "1..16"]),
    (dict(W=8, S=9, T=1), ["--S 9", "1..8"]),
    (dict(W=8, S=1, T=0), ["--T 0", "1..64"]),
    (dict(W=8, S=1, T=65), ["--T 65", "1..64"]),
    (dict(W=8, S=1, T=1, n_in=0), ["--n-in 0", "1..4096"]),
    (dict(W=8, S=1, T=1, n_out=-3), ["--n-out -3", "1..1024"]),
    (dict(W=8, S=1, T=1, n_out=8, lanes=9), ["--lanes 9", "1..8"]),
    (dict(W=8, S=1, T=1, n_out=8, lanes=3), ["--lanes 3", "[1, 2, 4, 8]"]),
    (dict(W=8.0, S=1, T=1), ["--W 8.0"]),
])
def test_illegal_parameters_name_option_value_and_range(kwargs, words):
    with pytest.raises(ParamError) as e:
        CoreParams(**kwargs)
    for word in words:
        assert word in message(e.value)


def test_signed_bits():
    assert signed_bits(-128, 127) == 8
    assert signed_bits(-129, 0) == 9
    assert signed_bits(0, 128) == 9
    assert signed_bits(0, 0) == 1


@pytest.mark.parametrize("W", [1, 2, 8, 16])
def test_widths_hold_the_extreme_membranes(W):
    # Independent check: the extreme membranes are T steps of all-max spikes on all
    # max / all min weights, with a threshold so large nothing is ever subtracted.
    p = CoreParams(W, 3, 5, n_in=7, n_out=2)
    top, bottom = 5 * 7 * p.K * p.w_max, 5 * 7 * p.K * p.w_min
    assert -(2 ** (p.acc_width - 1)) <= bottom and top <= 2 ** (p.acc_width - 1) - 1
    assert top < 2 ** p.theta_width and p.theta_width >= W + 3


def test_weight_checks():
    p = CoreParams(4, 1, 1, n_in=3, n_out=2)
    assert p.check_weights(np.array([[-8, 7, 0], [1, 2, 3]])).dtype == np.int64
    with pytest.raises(ParamError, match=r"shape \(3, 2\).*\(2, 3\)"):
        p.check_weights(np.zeros((3, 2), int))
    with pytest.raises(ParamError, match="dtype float64"):
        p.check_weights(np.zeros((2, 3)))
    with pytest.raises(ParamError, match=r"weight \[1\]\[2\] = 8.*-8..7"):
        p.check_weights(np.array([[0, 0, 0], [0, 0, 8]]))
    b = CoreParams(1, 1, 1, n_in=3, n_out=2)
    with pytest.raises(ParamError, match=r"weight \[0\]\[1\] = 0.*-1 or \+1"):
        b.check_weights(np.array([[1, 0, 1], [1, 1, 1]]))


def test_cycle_formulas_match_the_methods():
    p = CoreParams(8, 2, 4, n_in=10, n_out=6, lanes=2)
    assert p.snn_cycles(5) == eval(p.cycle_formulas()["snn_beat"].replace("e", "5"))
    assert p.snn_cycles(11, steps=4) == eval(p.cycle_formulas()["snn_inference"].replace("E", "11"))
    assert p.qnn_cycles(7) == eval(p.cycle_formulas()["qnn_beat"].replace("n", "7"))


def test_early_fire_formulas_match_the_methods():
    """With early fire a group below threshold takes 1 of its S (B) firing cycles; all groups
    firing (fired=None, the most) gives the default engine's cycles."""
    p = CoreParams(8, 2, 4, n_in=10, n_out=6, lanes=2, early_fire=True)      # G = 3
    plain = CoreParams(8, 2, 4, n_in=10, n_out=6, lanes=2)
    f = p.cycle_formulas()
    assert p.snn_cycles(5, fired=1) == eval(f["snn_beat"].replace("e", "5").replace("f", "1"))
    assert p.snn_cycles(5, fired=1) == plain.snn_cycles(5) - (3 - 1) * (p.S - 1)
    assert p.snn_cycles(11, steps=4, fired=7) == eval(f["snn_inference"].replace("E", "11").replace("F", "7"))
    assert p.qnn_cycles(7, fired=0) == eval(f["qnn_beat"].replace("n", "7").replace("f", "0"))
    assert p.qnn_cycles(7, fired=0) == plain.qnn_cycles(7) - 3 * (p.B - 1)
    assert p.snn_cycles(5) == plain.snn_cycles(5) and p.qnn_cycles(7) == plain.qnn_cycles(7)
    assert plain.snn_cycles(5, fired=0) == plain.snn_cycles(5)          # without the option, every step is taken
    assert p.fired_groups([[0, 5, 4, 3, 9, 1]], 5).tolist() == [2]      # groups (0, 5), (4, 3), (9, 1) at theta 5
    assert "early_fire" not in plain.as_dict() and p.as_dict()["early_fire"] is True
    with pytest.raises(ParamError, match="early_fire 1 is not a flag"):
        CoreParams(8, 2, 4, early_fire=1)
