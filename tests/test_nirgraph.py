"""gen.nirgraph: network files and NIR graphs in and out, with clear refusals."""

import re

import numpy as np
import pytest

nir = pytest.importorskip("nir")

from gen.nirgraph import export_nir, import_nir, load_json, load_network, save_json
from sim.network import Network
from sim.params import ParamError


def net():
    rng = np.random.default_rng(0)
    return Network([rng.integers(-128, 128, (5, 7)), rng.integers(-128, 128, (3, 5))], [300, 77], 8)


def same(a, b):
    return a.W == b.W and a.thresholds == b.thresholds and all(
        np.array_equal(u, v) and v.dtype == np.int64 for u, v in zip(a.weights, b.weights))


def test_nir_round_trip_is_exact(tmp_path):
    n = net()
    export_nir(n, tmp_path / "n.nir", S=2, T=3)
    back, S, T = load_network(str(tmp_path / "n.nir"))
    assert same(n, back) and (S, T) == (2, 3)


def test_json_round_trip_is_exact(tmp_path):
    n = net()
    save_json(n, 1, 4, tmp_path / "n.json")
    back, S, T = load_json(tmp_path / "n.json")
    assert same(n, back) and (S, T) == (1, 4)


def graph(*layers, meta=None, type_check=True):
    nodes, edges, prev = {"in": nir.Input(input_type={"input": np.array([2])})}, [], "in"
    for i, node in enumerate(layers):
        nodes[f"n{i}"] = node
        edges.append((prev, f"n{i}"))
        prev = f"n{i}"
    nodes["out"] = nir.Output(output_type={"output": np.array([2])})
    edges.append((prev, "out"))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta or {"W": 4}, type_check=type_check)


W2 = np.array([[1.0, -2.0], [3.0, 0.0]])
IF2 = nir.IF(r=np.ones(2), v_threshold=np.full(2, 5.0))


def test_affine_with_zero_bias_imports():
    n, S, T = import_nir(graph(nir.Affine(weight=W2, bias=np.zeros(2)), IF2))
    assert n.thresholds == [5] and np.array_equal(n.weights[0], W2.astype(int)) and (S, T) == (1, 1)


LIF_LEAKY = nir.LIF(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2))


@pytest.mark.parametrize("layers, message", [
    ((nir.Linear(weight=W2), LIF_LEAKY),
     "'n0' must be followed by an IF node (or a LIF without leak), but 'n1' is a LIF with leak tau=[1.0], v_leak=[0.0]: "
     "a core's neurons integrate and fire without leak"),
    ((LIF_LEAKY,), "node 'n0' is a LIF: a core's neurons integrate and fire without leak"),
    ((nir.Linear(weight=W2), nir.IF(r=np.array([1.0, 2.0]), v_threshold=np.full(2, 5.0))),
     "node 'n1' has r [1.0, 2.0]: one positive r per layer"),
    ((nir.Linear(weight=W2), nir.IF(r=np.ones(2), v_threshold=np.array([5.0, 6.0]))),
     "node 'n1': one positive threshold per layer is needed, got [5.0, 6.0]"),
    ((nir.Linear(weight=W2), nir.IF(r=np.ones(2), v_threshold=np.zeros(2))), "one positive threshold per layer"),
    ((nir.Linear(weight=W2 * np.nan), IF2), "node 'n0': weights and bias must be finite"),
    ((nir.Linear(weight=W2),), "'n0' must be followed by an IF node, not by the output"),
])
def test_unsupported_graphs_are_refused_by_name(layers, message):
    with pytest.raises(ParamError, match=re.escape(message)):
        import_nir(graph(*layers))


LEAK = "a core's neurons integrate and fire without leak or synaptic current"
DENSE = "a core is one dense layer \\(Linear or Affine\\) of IF neurons"


@pytest.mark.parametrize("node, message", [
    (nir.IF(r=np.ones(2), v_threshold=np.full(2, 5.0), v_reset=np.ones(2)),
     "node 'n1' has v_reset != 0: a core resets by subtracting the threshold"),
    (nir.CubaLIF(tau_syn=np.ones(2), tau_mem=np.ones(2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
     f"'n1' is a CubaLIF: {LEAK}"),
    (nir.LI(tau=np.ones(2), r=np.ones(2), v_leak=np.zeros(2)), f"'n1' is a LI: {LEAK}"),
])
def test_neurons_a_core_cannot_be_are_refused(node, message):
    with pytest.raises(ParamError, match=message):
        import_nir(graph(nir.Linear(weight=W2), node))


@pytest.mark.parametrize("node", [
    nir.Conv2d(input_shape=(2, 2), weight=np.ones((1, 1, 1, 1)), stride=1, padding=0, dilation=1, groups=1,
               bias=np.zeros(1)),
    nir.AvgPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]), padding=np.array([0, 0])),
    nir.Delay(delay=np.ones(2)),
    nir.Scale(scale=np.ones(2)),
], ids=lambda n: type(n).__name__)
def test_layers_a_core_cannot_be_are_refused(node):
    with pytest.raises(ParamError, match=f"node 'n0' is a {type(node).__name__}: {DENSE}"):
        import_nir(graph(node, nir.Linear(weight=W2), IF2, type_check=False))      # shapes aside


def test_missing_weight_bits_and_bad_files(tmp_path):
    with pytest.raises(ParamError, match="no W in its metadata"):
        import_nir(graph(nir.Linear(weight=W2), IF2, meta={"x": 1}))
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ParamError, match="not a network file"):
        load_network(str(tmp_path / "bad.json"))
