"""A trained network in and out of the generator: our JSON file, and NIR graphs.

JSON: {"W", "S", "T", "layers": [{"weights": [[..]], "threshold": int}, ..]}.

NIR (the `nir` package): export writes Input -> (Linear -> IF) per layer -> Output, with
the integer weights as a Linear's weight, the threshold as the IF's v_threshold (r = 1,
v_reset = 0) and W, S, T in the graph's metadata. Import accepts such chains of
Linear or Affine nodes each followed by an IF node, e.g. saved by snnTorch or
spikingjelly after quantization, and refuses, naming the node, what a core cannot do:
  - any other node type (LIF, CubaLIF, LI: a core has no leak; Conv, pooling, Flatten,
    Delay, Scale: a core is one dense layer of IF neurons);
  - an Affine bias that is not zero (a core has no bias input);
  - an IF with r != 1 (a core integrates with unit gain) or v_reset != 0;
  - weights that are not integers in the W-bit range, thresholds that differ across a
    layer's neurons or are not positive integers.
The cores reset by subtraction, so an imported IF node runs with that reset (NIR's IF
resets to v_reset; the note is in the README).
"""

import json

import numpy as np

from sim.network import Network
from sim.params import RANGES, ParamError
from sim.validate import integer, integer_array
from sim.validate import load_json as load_json_file


def save_json(net, S, T, path):
    with open(path, "w") as f:
        json.dump({"W": net.W, "S": S, "T": T, "layers": [{"weights": w.tolist(), "threshold": int(t)}
                                                          for w, t in zip(net.weights, net.thresholds)]}, f)


def load_json(path):
    """(Network, S, T) from our JSON file. Every value must be a JSON integer: a float
    (0.7, 4.9, even 5.0), NaN, Infinity or an integer beyond int64 is refused, not truncated."""
    data = load_json_file("network", path)
    try:
        if not isinstance(data, dict) or not isinstance(data.get("layers"), list) or not data["layers"]:
            raise ValueError('the top level must be an object with "W", "S", "T" and a non-empty "layers" list')
        W, S, T = (integer(k, data[k], *RANGES[k]) for k in ("W", "S", "T"))
        weights, thresholds = [], []
        for i, layer in enumerate(data["layers"]):
            if not isinstance(layer, dict):
                raise ValueError(f"layer {i} is not an object")
            weights.append(integer_array(f"layer {i} weights", layer["weights"]))
            thresholds.append(integer(f"layer {i} threshold", layer["threshold"], 1))
    except KeyError as e:
        raise ParamError("network", path, text="{name} {value}: not a network file (no key {key})", key=e) from None
    except (ValueError, TypeError) as e:
        raise ParamError("network", path, text="{name} {value}: not a network file ({why})", why=e) from None
    return check(Network(weights, thresholds, W)), S, T


def check(net):
    lo, hi = (-1, 1) if net.W == 1 else (-(2 ** (net.W - 1)), 2 ** (net.W - 1) - 1)
    for i, (w, t) in enumerate(zip(net.weights, net.thresholds)):
        if w.ndim != 2 or not w.size or w.min() < lo or w.max() > hi or (net.W == 1 and (w == 0).any()):
            raise ParamError(f"layer {i}: weights must be a 2-d array of W={net.W}-bit values ({lo}..{hi})")
        if t < 1:
            raise ParamError(f"layer {i}: threshold {t} is out of range: legal is a positive integer")
        if i and w.shape[1] != net.weights[i - 1].shape[0]:
            raise ParamError(f"layer {i}: fan-in {w.shape[1]} does not match layer {i - 1}'s {net.weights[i - 1].shape[0]} neurons")
    return net


def export_nir(net, path, S=1, T=1):
    import nir
    nodes = {"input": nir.Input(input_type={"input": np.array([net.weights[0].shape[1]])})}
    edges, prev = [], "input"
    for i, (w, t) in enumerate(zip(net.weights, net.thresholds)):
        n = w.shape[0]
        nodes[f"fc{i}"] = nir.Linear(weight=w.astype(np.float64))
        nodes[f"if{i}"] = nir.IF(r=np.ones(n), v_threshold=np.full(n, float(t)), v_reset=np.zeros(n))
        edges += [(prev, f"fc{i}"), (f"fc{i}", f"if{i}")]
        prev = f"if{i}"
    nodes["output"] = nir.Output(output_type={"output": np.array([net.weights[-1].shape[0]])})
    edges.append((prev, "output"))
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, metadata={"W": net.W, "S": S, "T": T}))


def import_nir(path, W=None):
    """(Network, S, T) from a NIR file (or a NIRGraph); W, S, T from the metadata unless given."""
    import nir
    graph = path if isinstance(path, nir.NIRGraph) else nir.read(path)
    meta = graph.metadata or {}
    if W is None and "W" not in meta:
        raise ParamError("the NIR graph has no W in its metadata: pass the weight bits")
    try:
        W, S, T = (integer(f"metadata {k}", v.item() if isinstance(v, np.ndarray) and v.shape == () else v, *RANGES[k])
                   for k, v in (("W", meta["W"] if W is None else W), ("S", meta.get("S", 1)), ("T", meta.get("T", 1))))
    except ValueError as e:
        raise ParamError(f"the NIR graph's {e}") from None
    succ = {}
    for a, b in graph.edges:
        if a in succ:
            raise ParamError(f"node {a!r} feeds more than one node: only a chain of layers maps onto cores")
        succ[a] = b
    for n in succ:
        if _on_cycle(succ, n):
            raise ParamError(f"the NIR graph has a cycle through node {n!r}: only a chain of layers maps onto cores")
    starts = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(starts) != 1:
        raise ParamError(f"the NIR graph needs exactly one Input node, it has {len(starts)}")
    weights, thresholds, name = [], [], succ.get(starts[0])
    while name is not None and not isinstance(graph.nodes.get(name), nir.Output):
        node = graph.nodes.get(name)
        if node is None:
            raise ParamError(f"an edge of the NIR graph leads to {name!r}, which is not a node")
        if not isinstance(node, (nir.Linear, nir.Affine)):
            raise ParamError(f"node {name!r} is a {type(node).__name__}: {why_unsupported(node)}")
        if isinstance(node, nir.Affine) and np.any(node.bias):
            raise ParamError(f"node {name!r} is an Affine with a non-zero bias: a core has no bias input")
        w = np.asarray(node.weight)
        if w.dtype.kind not in "iuf" or not np.all(np.isfinite(w)) or not np.array_equal(w, np.round(w)):
            raise ParamError(f"node {name!r} has non-integer weights: quantize to W={W} bits before export")
        neuron_name = succ.get(name)
        neuron = graph.nodes.get(neuron_name)
        if neuron is None or isinstance(neuron, nir.Output):
            raise ParamError(f"node {name!r} must be followed by an IF node, not by the output")
        if not isinstance(neuron, nir.IF):
            raise ParamError(f"node {name!r} must be followed by an IF node, but {neuron_name!r} is a "
                             f"{type(neuron).__name__}: {why_unsupported(neuron)}")
        theta = np.asarray(neuron.v_threshold).ravel()
        if np.any(np.asarray(neuron.r) != 1):
            raise ParamError(f"node {neuron_name!r} has r != 1: a core integrates with unit gain")
        if neuron.v_reset is not None and np.any(np.asarray(neuron.v_reset) != 0):
            raise ParamError(f"node {neuron_name!r} has v_reset != 0: a core resets by subtracting the threshold")
        if theta.dtype.kind not in "iuf" or len(set(theta.tolist())) != 1 or not np.isfinite(theta[0]) \
                or theta[0] != round(theta[0]):
            raise ParamError(f"node {neuron_name!r}: one integer threshold per layer is needed, got {sorted(set(theta.tolist()))[:4]}")
        weights.append(np.clip(w, -2 ** 16, 2 ** 16).astype(np.int64))   # clipped: out of range stays out of range
        thresholds.append(int(theta[0]))
        name = succ.get(neuron_name)
    if not weights:
        raise ParamError("the NIR graph has no Linear/Affine + IF layer")
    return check(Network(weights, thresholds, W)), S, T


def _on_cycle(succ, node):
    """Whether following the (single) successors from `node` comes back to it."""
    n = succ.get(node)
    for _ in range(len(succ)):
        if n == node:
            return True
        n = succ.get(n)
    return False


def why_unsupported(node):
    kind = type(node).__name__
    if kind in ("LIF", "CubaLIF", "LI", "CubaLI", "I"):
        return "a core's neurons integrate and fire without leak or synaptic current"
    return "a core is one dense layer (Linear or Affine) of IF neurons"


HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def load_network(path):
    """(Network, S, T) from a NIR file (recognised by its HDF5 signature, whatever its name:
    .nir, .h5, ...) or else our JSON file."""
    try:
        with open(path, "rb") as f:
            is_hdf5 = f.read(8) == HDF5_SIGNATURE
    except OSError as e:
        raise ParamError("network", path, text="{name} {value}: cannot read ({why})", why=e.strerror) from None
    if not is_hdf5 and str(path).endswith(".nir"):
        raise ParamError("network", path, text="{name} {value}: not a NIR file (NIR is HDF5, and it has no HDF5 signature)")
    if not is_hdf5:
        return load_json(path)
    import nir
    try:
        graph = nir.read(path)
    except Exception as e:      # nir raises KeyError, ValueError, ... for an HDF5 file it cannot take
        raise ParamError("network", path, text="{name} {value}: not a NIR graph nir can read ({why})",
                         why=f"{type(e).__name__}: {e}") from None
    try:
        return import_nir(graph)
    except ParamError as e:
        raise ParamError("network", path, text="{name} {value}: {why}", why=e) from None
