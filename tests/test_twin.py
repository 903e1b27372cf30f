import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from sim.stimulus import spike_train
from sim.twin import exact_matmul, fire, qnn_forward, snn_forward, twin_condition


def test_binary_if_neuron_by_hand():
    # v: 3 -> fire, 1 | 1+2=3 -> fire, 1 | 1-1=0 -> no spike
    w = np.array([[3, -1]])
    spikes = np.array([[1, 0], [1, 1], [0, 1]])
    assert snn_forward(w, spikes, 2, S=1)[:, 0].tolist() == [1, 1, 0]


def test_multibit_spikes_by_hand():
    # S=2, K=3: v=15 -> k=min(7,3)=3, v=9 | v=9 -> k=3, v=3 | v=3+5=8 -> k=3, v=2
    w = np.array([[5]])
    spikes = np.array([[3], [0], [1]])
    assert snn_forward(w, spikes, 2, S=2)[:, 0].tolist() == [3, 3, 3]
    # S=3, K=7, theta=4: v=5*3=15 -> k=3, v=3 | v=3+5=8 -> k=2, v=0
    assert snn_forward(w, np.array([[3], [1]]), 4, S=3)[:, 0].tolist() == [3, 2]


def test_negative_membrane_is_kept_and_floor_is_toward_minus_infinity():
    k, v = fire(np.array([-3, -1, 0, 1, 5, 6]), 2, 3)
    assert k.tolist() == [0, 0, 0, 0, 2, 3]
    assert v.tolist() == [-3, -1, 0, 1, 1, 0]
    # -3 kept, then +4 brings it to 1 < theta: nothing; then +4 -> 5 -> one spike
    w = np.array([[-3, 4]])
    spikes = np.array([[1, 0], [0, 1], [0, 1]])
    assert snn_forward(w, spikes, 2, S=1)[:, 0].tolist() == [0, 0, 1]


def test_binary_weights_by_hand():
    w = np.array([[1, -1, -1], [1, 1, 1]])
    out = snn_forward(w, np.array([[1, 1, 0]]), 1, S=1)
    assert out.tolist() == [[0, 1]]


def test_qnn_by_hand():
    w = np.array([[2, -1], [4, 0], [-1, -1]])
    a = np.array([[3, 1], [3, 0]])
    # [5//2, 12//2 -> clamp 3, -4 -> 0], [6//2, 12//2 -> 3, -3 -> 0]
    assert qnn_forward(w, a, 2, L=3).tolist() == [[2, 3, 0], [3, 3, 0]]


def test_threshold_zero_or_negative_is_refused():
    with pytest.raises(ValueError, match="threshold"):
        snn_forward(np.ones((1, 1), int), np.ones((1, 1), int), 0, S=1)
    with pytest.raises(ValueError, match="threshold"):
        qnn_forward(np.ones((1, 1), int), np.ones((1, 1), int), -2, L=1)


def test_batches_are_independent_inferences():
    rng = np.random.default_rng(3)
    w = rng.integers(-8, 8, (5, 9))
    spikes = spike_train(rng, (4, 3, 9), 2, 0.4)
    batched = snn_forward(w, spikes, 7, S=2)
    for b in range(4):
        assert (batched[b] == snn_forward(w, spikes[b], 7, S=2)).all()


def reference_if(w, spikes, theta, K):
    """Scalar loops, written independently of the vectorized twin."""
    T, n_in = spikes.shape
    out = np.zeros((T, w.shape[0]), int)
    for o in range(w.shape[0]):
        v = 0
        for t in range(T):
            v += sum(int(w[o, j]) * int(spikes[t, j]) for j in range(n_in))
            k = min(max(v // theta, 0), K)
            v -= k * theta
            out[t, o] = k
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.sampled_from([1, 2, 4, 8, 16]), st.integers(1, 4),
       st.integers(1, 6), st.integers(1, 200))
def test_vectorized_twin_equals_scalar_reference(seed, W, S, T, theta):
    rng = np.random.default_rng(seed)
    lo, hi = (-1, 1) if W == 1 else (-(2 ** (W - 1)), 2 ** (W - 1) - 1)
    w = rng.integers(lo, hi, (3, 5), endpoint=True)
    spikes = spike_train(rng, (T, 5), S, rng.random())
    assert (snn_forward(w, spikes, theta, S) == reference_if(w, spikes, theta, 2 ** S - 1)).all()


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2 ** 32 - 1), st.integers(1, 4), st.integers(1, 8), st.integers(1, 6),
       st.integers(1, 6), st.booleans())
def test_twin_theorem(seed, S, T, n_in, W, positive_drive):
    """SPEC section 2: where 0 <= P <= K*theta at every step, the SNN's spike count equals
    the QNN output on the spike counts. Half the cases are built to meet the condition."""
    rng = np.random.default_rng(seed)
    K, L = 2 ** S - 1, T * (2 ** S - 1)
    lo = 0 if positive_drive else -(2 ** (W - 1))
    w = rng.integers(lo, 2 ** (W - 1), (4, n_in), endpoint=True)
    spikes = spike_train(rng, (16, T, n_in), S, rng.random())
    drive = exact_matmul(spikes, w)
    theta = int(rng.integers(1, 2 ** (W + 2)))
    if positive_drive:  # make every step's drive fit under K*theta
        theta = max(theta, -(-int(drive.max(initial=0)) // K))
    out, d = snn_forward(w, spikes, theta, S, return_drive=True)
    assert (d == drive).all()
    holds = twin_condition(drive, theta, K)
    assert holds.all() or not positive_drive
    snn_count = out.sum(axis=-2)
    qnn = qnn_forward(w, spikes.sum(axis=-2), theta, L)
    assert (snn_count[holds] == qnn[holds]).all()
    # the residual argument behind the proof: membrane stays in [0, theta)
    v = drive.cumsum(axis=-2)[..., -1, :] - theta * snn_count
    assert ((0 <= v[holds]) & (v[holds] < theta)).all()


def test_twin_theorem_needs_its_condition():
    # P = +1 then -1 (negative drive breaks the condition): SNN fires once, QNN sees 0.
    w = np.array([[1, -1]])
    spikes = np.array([[1, 0], [0, 1]])
    out, drive = snn_forward(w, spikes, 1, S=1, return_drive=True)
    assert not twin_condition(drive, 1, 1).all()
    assert out.sum() == 1 and qnn_forward(w, spikes.sum(axis=0), 1, L=2).item() == 0


@pytest.mark.parametrize("scale", [1, 2 ** 20, 2 ** 40])
def test_exact_matmul_is_exact_on_every_path(scale):
    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, (6, 300))
    w = rng.integers(-scale, scale, (7, 300))
    ref = np.array([[sum(int(a) * int(b) for a, b in zip(row, col)) for col in w] for row in x])
    assert (exact_matmul(x, w) == ref).all()


def test_s1_twin_matches_spikingjelly_ifnode():
    torch = pytest.importorskip("torch")
    neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
    rng = np.random.default_rng(11)
    for case in range(20):
        T, n_in, n_out = rng.integers(1, 9), rng.integers(1, 40), rng.integers(1, 10)
        w = rng.integers(-128, 128, (n_out, n_in))
        spikes = spike_train(rng, (T, 4, n_in), 1, rng.random())  # (T, batch, n_in) for SJ
        theta = int(rng.integers(1, 300))
        node = neuron.IFNode(v_threshold=float(theta), v_reset=None, step_mode="m")
        drive = torch.from_numpy(spikes.astype(np.float32)) @ torch.from_numpy(w.T.astype(np.float32))
        ours = snn_forward(w, spikes.transpose(1, 0, 2), theta, S=1).transpose(1, 0, 2)
        assert (node(drive).numpy().astype(int) == ours).all(), f"case {case}"
