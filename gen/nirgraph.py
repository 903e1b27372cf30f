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
from sim.params import ParamError


def save_json(net, S, T, path):
    with open(path, "w") as f:
        json.dump({"W": net.W, "S": S, "T": T, "layers": [{"weights": w.tolist(), "threshold": int(t)}
                                                          for w, t in zip(net.weights, net.thresholds)]}, f)


def load_json(path):
    """(Network, S, T) from our JSON file."""
    try:
        with open(path) as f:
            data = json.load(f)
        net = Network([np.array(l["weights"], np.int64) for l in data["layers"]],
                      [int(l["threshold"]) for l in data["layers"]], int(data["W"]))
        return check(net), int(data["S"]), int(data["T"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ParamError(f"{path}: not a network file ({e})") from None


def check(net):
    lo, hi = (-1, 1) if net.W == 1 else (-(2 ** (net.W - 1)), 2 ** (net.W - 1) - 1)
    for i, (w, t) in enumerate(zip(net.weights, net.thresholds)):
        if w.ndim != 2 or w.min() < lo or w.max() > hi or (net.W == 1 and (w == 0).any()):
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
    W = int(W or meta.get("W", 0)) or None
    if W is None:
        raise ParamError("the NIR graph has no W in its metadata: pass the weight bits")
    succ = {}
    for a, b in graph.edges:
        if a in succ:
            raise ParamError(f"node {a!r} feeds more than one node: only a chain of layers maps onto cores")
        succ[a] = b
    starts = [k for k, v in graph.nodes.items() if isinstance(v, nir.Input)]
    if len(starts) != 1:
        raise ParamError(f"the NIR graph needs exactly one Input node, it has {len(starts)}")
    weights, thresholds, name = [], [], succ.get(starts[0])
    while name is not None and not isinstance(graph.nodes[name], nir.Output):
        node = graph.nodes[name]
        if not isinstance(node, (nir.Linear, nir.Affine)):
            raise ParamError(f"node {name!r} is a {type(node).__name__}: {why_unsupported(node)}")
        if isinstance(node, nir.Affine) and np.any(node.bias):
            raise ParamError(f"node {name!r} is an Affine with a non-zero bias: a core has no bias input")
        w = np.asarray(node.weight)
        if not np.array_equal(w, np.round(w)):
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
        if len(set(theta.tolist())) != 1 or theta[0] != round(theta[0]):
            raise ParamError(f"node {neuron_name!r}: one integer threshold per layer is needed, got {sorted(set(theta.tolist()))[:4]}")
        weights.append(w.astype(np.int64))
        thresholds.append(int(theta[0]))
        name = succ.get(neuron_name)
    if not weights:
        raise ParamError("the NIR graph has no Linear/Affine + IF layer")
    return check(Network(weights, thresholds, W)), int(meta.get("S", 1)), int(meta.get("T", 1))


def why_unsupported(node):
    kind = type(node).__name__
    if kind in ("LIF", "CubaLIF", "LI", "CubaLI", "I"):
        return "a core's neurons integrate and fire without leak or synaptic current"
    return "a core is one dense layer (Linear or Affine) of IF neurons"


def load_network(path):
    """(Network, S, T) from a .json or .nir file."""
    if str(path).endswith(".nir"):
        try:
            return import_nir(path)
        except OSError as e:
            raise ParamError(f"{path}: cannot read the NIR file ({e})") from None
    return load_json(path)
