"""Post-training quantization of a float IF network (e.g. read from a NIR graph that
snnTorch, spikingjelly or Norse exported) onto the integer cores, and how closely the
integer QNN and SNN twins follow the float network.

The float network: layers `v += w @ s + b` per timestep, `k = clamp(floor(v / theta), 0, K)`
spikes of value k (a binary spike is 1.0 for S = 1), `v -= k * theta` (reset by
subtraction, as the cores), one float threshold per layer. Its input `x` (the graph's own
scale, e.g. pixels in 0..1) is a current applied at every one of the T steps.

The integer network, per layer i with weight step `step_i` (float per weight unit) and
input unit `u_i` (float per input level: `u_0 = x_max / K` for the first layer, 1 for the
spikes of the others):
  weights    w_q = clamp(round(w / step), W-bit range),  step = clip / w_max, where the
             clip is max|w| (mean|w| for W <= 2, as sim.network), or, with calibration
             data, the quantile of |w| that makes the layer's QNN counts closest to the float
             layer's spike counts on that data;
  threshold  theta_q = max(1, round(theta / (step * u)))   (one drive unit = step * u float);
  inputs     a float input x becomes the count n = clamp(round(x * L / x_max), 0, L)
             (x_max: the largest calibration input, 1.0 without data), which the SNN
             gets spread evenly over the T steps (sim.network.encode_spikes), i.e. on
             average n / T = x / u_0 levels per step;
  bias       b adds round(b / (step * u)) drive units per step. A core has no bias port,
             so the bias is built exactly from always-on inputs: `c_i` extra inputs of
             layer i carry spike level 1 at every step (QNN activation T), and the bias
             becomes their weights (the rounded bias split over the c_i inputs, each at most
             w_max). The first layer's c_0 always-on inputs are the last inputs of the
             chain: the user holds them at level 1 (`Network.bias_inputs`). For a deeper
             layer they are c_i extra neurons of the layer before ("relays"), each with
             weights summing to exactly that layer's theta_q from its own always-on
             inputs and 0 elsewhere: drive theta_q every step, so level 1 every step and
             residual 0 (QNN: floor(T*theta_q/theta_q) = T). c_i is the most inputs a
             bias or the next layer's relays need. W = 1 has no zero weight: no bias then.
"""

import math

import numpy as np

from .network import Network, encode_spikes, predict
from .params import ParamError, weight_range

QUANTILES = (1.0, 0.999, 0.995, 0.99, 0.98, 0.95, 0.9)


class FloatLayer:
    """A dense float layer and its IF neurons: weight (n_out, n_in), bias (n_out,) or None,
    one threshold; `name` is the graph's node (for messages)."""

    def __init__(self, weight, bias, threshold, name="layer"):
        self.weight, self.threshold, self.name = np.asarray(weight, np.float64), float(threshold), name
        self.bias = None if bias is None or not np.any(bias) else np.asarray(bias, np.float64)


def float_counts(layers, x, S, T):
    """Per layer, the float network's output spike counts (N, n_out) for inputs x (N, n_in)."""
    K = 2 ** S - 1
    x = np.asarray(x, np.float64)
    vs = [np.zeros((len(x), l.weight.shape[0])) for l in layers]
    counts = [np.zeros_like(v) for v in vs]
    for _ in range(T):
        s = x
        for i, l in enumerate(layers):
            vs[i] += s @ l.weight.T + (0 if l.bias is None else l.bias)
            s = np.clip(np.floor(vs[i] / l.threshold), 0, K)
            vs[i] -= s * l.threshold
            counts[i] += s
    return [c.astype(np.int64) for c in counts]


def input_counts(x, x_max, L, bias_inputs=0, T=1):
    """The integer network's input counts for float inputs x: n = clamp(round(x*L/x_max), 0, L),
    then `bias_inputs` always-on inputs at count T (spike level 1 every step)."""
    n = np.clip(np.round(np.asarray(x, np.float64) * L / x_max), 0, L).astype(np.int64)
    return np.concatenate([n, np.full((len(n), bias_inputs), T, np.int64)], axis=1)


def _layer(l, W, unit, quantile=1.0):
    """(integer weights, integer threshold, rounded bias per step or None, step) of one layer."""
    w_max, a = weight_range(W)[1], np.abs(l.weight)
    clip = float(np.quantile(a, quantile)) if W > 2 else float(a.mean())
    step = max(clip, 1e-12) / w_max
    q = np.where(l.weight >= 0, 1, -1) if W == 1 else np.clip(np.round(l.weight / step), -w_max - 1, w_max)
    theta = max(1, int(round(l.threshold / (step * unit))))
    bias = None if l.bias is None else np.round(l.bias / (step * unit)).astype(np.int64)
    return q.astype(np.int64), theta, (bias if bias is not None and bias.any() else None), step


def _qnn_layer(a, q, theta, bias, L, T):
    drive = a @ q.T + (0 if bias is None else bias * T)
    return np.clip(np.floor_divide(drive, theta), 0, L)


def _split(total, parts):
    """`parts` integers summing to `total`, as equal as can be."""
    q, r = divmod(int(total), parts)
    return [q + (j < r) for j in range(parts)]


def quantize(layers, W, S, T, x=None):
    """The integer Network (with relays and `bias_inputs`) for float `layers` at W, S, T;
    the scales from the weights alone, or fitted to calibration inputs x (N, n_in)."""
    K, L, w_max = 2 ** S - 1, T * (2 ** S - 1), weight_range(W)[1]
    x_max = 1.0 if x is None else max(float(np.max(x)), 1e-12)
    float_c = float_counts(layers, x, S, T) if x is not None else None
    a = None if x is None else input_counts(x, x_max, L)
    chosen = []
    for i, l in enumerate(layers):
        unit = x_max / K if i == 0 else 1.0
        best = None
        for quant in (QUANTILES if x is not None and W > 2 else (1.0,)):
            q, theta, bias, step = _layer(l, W, unit, quant)
            if x is None:
                best = (0, quant, q, theta, bias, step)
                break
            out = _qnn_layer(a, q, theta, bias, L, T)
            err = float(np.abs(out - float_c[i]).mean())
            if best is None or err < best[0]:
                best = (err, quant, q, theta, bias, step, out)
        chosen.append(best[1:6])
        if x is not None:
            a = best[6]
    for (_, q, _, bias, _), l in zip(chosen, layers):
        if bias is not None and W == 1:
            raise ParamError(f"node {l.name!r} has a bias: W=1 weights are +1/-1 with no zero, so the "
                             "always-on bias inputs cannot be built (use W >= 2)")
    # always-on inputs per layer: what its bias needs, and what its relays for the next layer need
    c = [0] * len(layers)
    for i in reversed(range(len(layers))):
        bias, theta = chosen[i][3], chosen[i][2]
        need_bias = 0 if bias is None else math.ceil(np.abs(bias).max() / w_max)
        need_relay = math.ceil(theta / w_max) if i + 1 < len(layers) and c[i + 1] else 0
        c[i] = max(need_bias, need_relay)
    weights = []
    for i, (quant, q, theta, bias, step) in enumerate(chosen):
        n_out = q.shape[0]
        cols = np.zeros((n_out, c[i]), np.int64)
        if bias is not None:
            cols[:] = [_split(b, c[i]) for b in bias]
        w = np.concatenate([q, cols], axis=1)
        relays = c[i + 1] if i + 1 < len(layers) else 0
        if relays:
            relay = np.zeros((relays, w.shape[1]), np.int64)
            relay[:, q.shape[1]:] = _split(theta, c[i])
            w = np.concatenate([w, relay], axis=0)
        weights.append(w)
    net = Network(weights, [ch[2] for ch in chosen], W, bias_inputs=c[0])
    net.quantization = {
        "x_max": x_max, "input_count": f"clamp(round(x * {L} / {x_max:g}), 0, {L})",
        "calibrated": x is not None,
        "layers": [{"node": l.name, "threshold_float": l.threshold, "weight_step": step, "clip_quantile": quant,
                    "input_unit": x_max / K if i == 0 else 1.0, "threshold": theta,
                    "always_on_inputs": c[i], "relays": c[i + 1] if i + 1 < len(layers) else 0,
                    "bias": None if bias is None else {"min": int(bias.min()), "max": int(bias.max())}}
                   for i, ((quant, q, theta, bias, step), l) in enumerate(zip(chosen, layers))],
    }
    return net


def compare(layers, net, x, S, T, labels=None):
    """How the integer QNN and SNN follow the float network on inputs x: per layer the share
    of output counts equal to the float layer's and the mean absolute difference; overall
    the share of inputs whose class (largest count) agrees, and the accuracies with labels."""
    L = T * (2 ** S - 1)
    x_max = net.quantization["x_max"] if net.quantization else 1.0
    counts = input_counts(x, x_max, L, net.bias_inputs, T)
    fl = float_counts(layers, x, S, T)
    q = [a[:, :l.weight.shape[0]] for a, l in zip(net.qnn(counts, L)[1:], layers)]
    s = [lv.sum(axis=-2)[:, :l.weight.shape[0]] for lv, l in zip(net.snn(encode_spikes(counts, T), S)[0][1:], layers)]
    classes = {"float": predict(fl[-1]), "qnn": predict(q[-1]), "snn": predict(s[-1])}
    report = {
        "inputs": len(x), "W": net.W, "S": S, "T": T,
        "layers": [{"node": l.name, "qnn_equal": float((a == f).mean()), "snn_equal": float((b == f).mean()),
                    "qnn_mae": float(np.abs(a - f).mean()), "snn_mae": float(np.abs(b - f).mean()),
                    "float_rate": float(f.mean() / L)}
                   for l, f, a, b in zip(layers, fl, q, s)],
        "agreement": {"qnn": float((classes["qnn"] == classes["float"]).mean()),
                      "snn": float((classes["snn"] == classes["float"]).mean()),
                      "qnn_snn": float((classes["qnn"] == classes["snn"]).mean())},
    }
    if labels is not None:
        report["accuracy"] = {k: float((v == np.asarray(labels)).mean()) for k, v in classes.items()}
    return report


def describe(report):
    """The report as a few lines of text."""
    lines = [f"  quantized on {report['inputs']} inputs: class agreement with the float network "
             f"QNN {100 * report['agreement']['qnn']:.1f} %, SNN {100 * report['agreement']['snn']:.1f} %"]
    if "accuracy" in report:
        a = report["accuracy"]
        lines.append(f"  accuracy  float {100 * a['float']:.1f} %, QNN {100 * a['qnn']:.1f} %, SNN {100 * a['snn']:.1f} %")
    for l in report["layers"]:
        lines.append(f"  layer {l['node']}: counts equal to the float layer's QNN {100 * l['qnn_equal']:.1f} %, "
                     f"SNN {100 * l['snn_equal']:.1f} % (mean |diff| {l['qnn_mae']:.2f} / {l['snn_mae']:.2f})")
    return "\n".join(lines)
