import numpy as np
import pytest

from sim.params import CoreParams
from sim.stimulus import activations, pack, random_weights, spike_train, unpack


def test_spike_train_hits_rate_and_levels():
    s = spike_train(0, (200, 8, 50), 3, 0.1)
    assert s.min() == 0 and s.max() == 7
    assert abs((s != 0).mean() - 0.1) < 0.005
    assert (spike_train(0, (10, 5), 2, 0.0) == 0).all()
    assert (spike_train(0, (10, 5), 1, 1.0) == 1).all()


def test_seeded_stimulus_reproduces():
    assert (spike_train(42, (4, 9), 2, 0.3) == spike_train(42, (4, 9), 2, 0.3)).all()
    assert (activations(42, (4, 9), 6, 0.3) == activations(42, (4, 9), 6, 0.3)).all()


def test_activation_sparsity_and_range():
    a = activations(1, (500, 40), 6, 0.8)
    assert a.max() == 6 and a.min() == 0
    assert abs((a == 0).mean() - 0.8) < 0.01


@pytest.mark.parametrize("W", [1, 2, 8])
def test_random_weights_cover_the_legal_range(W):
    p = CoreParams(W, 1, 1, n_in=200, n_out=50)
    w = p.check_weights(random_weights(p, 0))
    assert w.min() == p.w_min and w.max() == p.w_max
    if W == 1:
        assert set(np.unique(w)) == {-1, 1}


def test_rates_out_of_range_are_refused():
    with pytest.raises(ValueError, match="spike rate"):
        spike_train(0, (2, 2), 1, 1.5)
    with pytest.raises(ValueError, match="sparsity"):
        activations(0, (2, 2), 3, -0.1)


def test_pack_layout_and_round_trip():
    assert pack(np.array([1, 2, 3]), 2) == 0b11_10_01
    fields = np.random.default_rng(0).integers(0, 16, (3, 5, 7))
    assert (unpack(pack(fields, 4), 7, 4) == fields).all()
