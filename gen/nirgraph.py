"""A trained network in and out of the generator: our JSON file, and NIR graphs.

JSON: `sim.netfile` (save_json, load_json and check are that module's, used here).

NIR (the `nir` package): export writes Input -> (Linear -> IF) per layer -> Output, with
the integer weights as a Linear's weight, the threshold as the IF's v_threshold (r = 1,
v_reset = 0) and W, S, T in the graph's metadata. Import takes a chain
Input -> (Flatten ->) (Linear | Affine -> IF | LIF without leak) per layer -> Output, as ours
or as snnTorch, spikingjelly and Norse export it; W, S, T come from the metadata or the
caller (both: they must agree). A graph that is already integer at W bits (integer weights
in range, integer thresholds, no bias) is taken as it is; any other (float weights from
training, biases) is quantized by `sim.quantize`. Refused, naming the node:
  - other node types (LIF with a leak, i.e. finite tau; CubaLIF, LI: a core has no leak or
    synaptic current; Conv, pooling, Delay, Scale, a Flatten after the first layer: a core
    is one dense layer of IF neurons); a node feeding two (recurrence) or a cycle;
  - an IF/LIF whose r differs across its neurons (one r per layer is taken as the
    producer's 1/dt: each step adds the input once; spikingjelly writes r = 1/dt, snnTorch
    r = tau/dt = inf for an IF, Norse and we r = 1), or v_reset != 0;
  - thresholds that differ across a layer's neurons (scalars, [1] or equal arrays are one),
    or are not positive; non-finite weights.
The cores reset by subtraction, so an imported IF node runs with that reset (NIR's IF
resets to v_reset; the note is in the README).
"""

import numpy as np

from sim.netfile import check, load_json, save_json  # noqa: F401 (save_json: this module's writer)
from sim.network import Network
from sim.quantize import FloatLayer, compare, quantize
from sim.params import RANGES, ParamError, weight_range
from sim.validate import integer, load_float_array, load_int_array


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
    nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, metadata={"W": net.W, "S": S, "T": T}
                                | ({"bias_inputs": net.bias_inputs} if net.bias_inputs else {})))


def resolve_bits(meta, given, source):
    """W, S, T from a file's values `meta` and the options `given` ({k: value or None}): an
    option fills in what the file lacks; both present and different is refused, naming both
    (W is required, S and T default to 1)."""
    out = {}
    for k in ("W", "S", "T"):
        m, g = meta.get(k), given.get(k)
        if isinstance(m, np.ndarray) and m.shape == ():
            m = m.item()
        if m is not None:
            try:
                m = integer(f"metadata {k}", m, *RANGES[k])
            except ValueError as e:
                raise ParamError(f"the NIR graph's {e}") from None
        if m is not None and g is not None and m != g:
            raise ParamError(k, g, text="{name} {value} disagrees with {source}, which has {k}={m}",
                             source=source, k=k, m=m)
        if m is None and g is None and k == "W":
            raise ParamError(k, None, text="{source} has no W in its metadata: pass the weight bits ({name})",
                             source=source)
        out[k] = m if m is not None else g if g is not None else 1
        if not RANGES[k][0] <= out[k] <= RANGES[k][1]:
            raise ParamError(k, out[k], "{}..{}".format(*RANGES[k]))
    return out["W"], out["S"], out["T"]


def read_layers(graph):
    """The float layers of a chain Input -> (Flatten ->) (Linear | Affine -> IF | LIF without
    leak) per layer -> Output, refusing by name what a core cannot do."""
    import nir
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
    layers, name = [], succ.get(starts[0])
    while name is not None and not isinstance(graph.nodes.get(name), nir.Output):
        node = graph.nodes.get(name)
        if node is None:
            raise ParamError(f"an edge of the NIR graph leads to {name!r}, which is not a node")
        if isinstance(node, nir.Flatten) and not layers:        # a reshape of the input: harmless
            name = succ.get(name)
            continue
        if not isinstance(node, (nir.Linear, nir.Affine)):
            raise ParamError(f"node {name!r} is a {type(node).__name__}: {why_unsupported(node)}")
        w = np.asarray(node.weight)
        bias = np.asarray(node.bias).ravel() if isinstance(node, nir.Affine) else None
        if w.dtype.kind not in "iuf" or w.ndim != 2 or not np.all(np.isfinite(w)) \
                or (bias is not None and (bias.dtype.kind not in "iuf" or not np.all(np.isfinite(bias)))):
            raise ParamError(f"node {name!r}: weights and bias must be finite numbers in a 2-d weight matrix")
        neuron_name = succ.get(name)
        neuron = graph.nodes.get(neuron_name)
        if neuron_name is not None and neuron is None:
            raise ParamError(f"an edge of the NIR graph leads to {neuron_name!r}, which is not a node")
        if neuron is None or isinstance(neuron, nir.Output):
            raise ParamError(f"node {name!r} must be followed by an IF node, not by the output")
        leak = _leak(neuron)
        if not isinstance(neuron, (nir.IF, nir.LIF)) or leak:
            raise ParamError(f"node {name!r} must be followed by an IF node (or a LIF without leak), but "
                             f"{neuron_name!r} is a {type(neuron).__name__}{leak}: {why_unsupported(neuron)}")
        r = np.asarray(neuron.r, np.float64).ravel()
        if len(set(r.tolist())) != 1 or not r[0] > 0:
            raise ParamError(f"node {neuron_name!r} has r {sorted(set(r.tolist()))[:4]}: one positive r per layer is "
                             "needed (its value is the producer's 1/dt: each step adds the input once)")
        if neuron.v_reset is not None and np.any(np.asarray(neuron.v_reset) != 0):
            raise ParamError(f"node {neuron_name!r} has v_reset != 0: a core resets by subtracting the threshold")
        theta = np.asarray(neuron.v_threshold).ravel()
        if theta.dtype.kind not in "iuf" or len(set(theta.tolist())) != 1 or not np.isfinite(theta[0]) \
                or not theta[0] > 0:
            raise ParamError(f"node {neuron_name!r}: one positive threshold per layer is needed, "
                             f"got {sorted(set(theta.tolist()))[:4]}")
        layers.append(FloatLayer(w, bias, theta[0], name))
        name = succ.get(neuron_name)
    if not layers:
        raise ParamError("the NIR graph has no Linear/Affine + IF layer")
    shape = [int(v) for v in np.ravel(next(iter(graph.nodes[starts[0]].input_type.values()), []))]
    if shape and int(np.prod(shape)) != layers[0].weight.shape[1]:     # [1, n] (a batch of one) is n inputs
        raise ParamError(f"the Input node {starts[0]!r} has shape {shape}, but the first layer "
                         f"{layers[0].name!r} takes {layers[0].weight.shape[1]} inputs")
    return layers


def _leak(node):
    """'' for a node without leak, else ' with leak tau=...' (a LIF whose tau is finite)."""
    import nir
    if not isinstance(node, nir.LIF):
        return ""
    tau = np.asarray(node.tau, np.float64).ravel()
    if np.all(np.isinf(tau)) and np.all(tau > 0):
        return ""
    return f" with leak tau={sorted(set(tau.tolist()))[:3]}, v_leak={sorted(set(np.ravel(node.v_leak).tolist()))[:3]}"


def is_integer(layers, W):
    """Whether float layers are already a core network at W bits: integer weights in range,
    integer thresholds, no bias."""
    lo, hi = weight_range(W)
    return all(l.bias is None and np.array_equal(l.weight, np.round(l.weight)) and l.weight.min() >= lo
               and l.weight.max() <= hi and (W > 1 or np.all(l.weight != 0)) and l.threshold == round(l.threshold)
               for l in layers)


def import_nir(path, W=None, S=None, T=None, calibration=None, labels=None, source="the NIR graph"):
    """(Network, S, T) from a NIR file (or a NIRGraph). W, S, T from the metadata or the
    arguments (both given and different: refused). A graph that is already integer at W bits
    (weights, thresholds, no bias: ours) is taken as it is, inputs being spike levels; any
    other is quantized (sim.quantize), fitted to the `calibration` inputs if given, and its
    Network carries the quantization (and, with calibration, a comparison on that data)."""
    import nir
    graph = path if isinstance(path, nir.NIRGraph) else nir.read(path)
    W, S, T = resolve_bits(graph.metadata or {}, {"W": W, "S": S, "T": T}, source)
    layers = read_layers(graph)
    if calibration is None and is_integer(layers, W):
        bias_inputs = int(np.asarray((graph.metadata or {}).get("bias_inputs", 0)))
        return check(Network([l.weight.astype(np.int64) for l in layers], [int(l.threshold) for l in layers], W,
                             bias_inputs)), S, T
    x = None
    if calibration is not None:
        x = np.asarray(calibration, np.float64).reshape(len(calibration), -1)
        if x.shape[1] != layers[0].weight.shape[1]:
            raise ParamError(f"calibration data has {x.shape[1]} values per input, the first layer "
                             f"{layers[0].name!r} takes {layers[0].weight.shape[1]}")
    net = check(quantize(layers, W, S, T, x))
    if x is not None:
        net.quantization["report"] = compare(layers, net, x, S, T, labels)
    return net, S, T


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


def load_network(path, W=None, S=None, T=None, calibration=None, labels=None):
    """(Network, S, T) from a NIR file (recognised by its HDF5 signature, whatever its name:
    .nir, .h5, ...) or else our JSON file. W, S, T given fill in what the file lacks and must
    agree with what it has; `calibration` (and `labels`) are .npy paths of float inputs (and
    their classes) for quantizing a float NIR graph (`import_nir`)."""
    try:
        with open(path, "rb") as f:
            is_hdf5 = f.read(8) == HDF5_SIGNATURE
    except OSError as e:
        raise ParamError("network", path, text="{name} {value}: cannot read ({why})", why=e.strerror) from None
    if not is_hdf5 and str(path).endswith(".nir"):
        raise ParamError("network", path, text="{name} {value}: not a NIR file (NIR is HDF5, and it has no HDF5 signature)")
    if not is_hdf5 and calibration is not None:
        raise ParamError("calibration_data", calibration, text="{name} {value}: only for a float NIR graph, "
                         "and {network} is an integer network file", network=path)
    x = None if calibration is None else load_float_array("calibration_data", calibration)
    y = None if labels is None else load_int_array("calibration_labels", labels)
    if y is not None and (x is None or y.shape != (len(x),)):
        raise ParamError("calibration_labels", labels, text="{name} {value}: needs --calibration-data and one "
                         "label per input, shape ({n},), not {shape}", n="N" if x is None else len(x), shape=y.shape)
    if not is_hdf5:
        net, *bits = load_json(path)
        resolve_bits(dict(zip(("W", "S", "T"), [net.W] + bits)), {"W": W, "S": S, "T": T}, path)
        return (net, *bits)
    import nir
    try:
        graph = nir.read(path, type_check=False)     # nir's check refuses a leading batch dimension
    except Exception as e:      # nir raises KeyError, ValueError, ... for an HDF5 file it cannot take
        raise ParamError("network", path, text="{name} {value}: not a NIR graph nir can read ({why})",
                         why=f"{type(e).__name__}: {e}") from None
    try:
        return import_nir(graph, W, S, T, x, y, source=path)
    except ParamError as e:
        if e.name is not None:      # an option's value (W, S, T): its own line, spelled as the option
            raise
        raise ParamError("network", path, text="{name} {value}: {why}", why=e) from None
