"""Our network file, JSON: {"W", "S", "T", "bias_inputs", "layers": [{"weights": [[..]],
"threshold": int}, ..]}, plus whatever a writer records beside them (`python -m sim.network`
adds "accuracy", "dataset" and "training"); a reader takes the network and ignores the rest.
Here in `sim`, which imports no generator code, so the trainer can write it; `gen.nirgraph`
reads and writes it through these functions."""

import json
import os

from .files import write_files
from .network import Network
from .params import RANGES, ParamError, weight_range
from .validate import integer, integer_array
from .validate import load_json as load_json_file


def dumps(net, S, T, extra=None):
    """The file's text; `extra` ({key: JSON value}) goes before the layers."""
    return json.dumps({"W": net.W, "S": S, "T": T, "bias_inputs": net.bias_inputs, **(extra or {}),
                       "layers": [{"weights": w.tolist(), "threshold": int(t)}
                                  for w, t in zip(net.weights, net.thresholds)]})


def save_json(net, S, T, path, extra=None):
    """Write the file at `path` (all or nothing: `sim.files.write_files`, named as `--out`)."""
    write_files("out", os.path.dirname(path) or ".", {os.path.basename(path): dumps(net, S, T, extra)})


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
        bias_inputs = integer("bias_inputs", data.get("bias_inputs", 0), 0)
    except KeyError as e:
        raise ParamError("network", path, text="{name} {value}: not a network file (no key {key})", key=e) from None
    except (ValueError, TypeError) as e:
        raise ParamError("network", path, text="{name} {value}: not a network file ({why})", why=e) from None
    return check(Network(weights, thresholds, W, bias_inputs)), S, T


def check(net):
    """The network itself, or a ParamError naming the first layer whose weights, threshold
    or fan-in cannot run on the cores."""
    lo, hi = weight_range(net.W)
    for i, (w, t) in enumerate(zip(net.weights, net.thresholds)):
        if w.ndim != 2 or not w.size or w.min() < lo or w.max() > hi or (net.W == 1 and (w == 0).any()):
            raise ParamError(f"layer {i}: weights must be a 2-d array of W={net.W}-bit values ({lo}..{hi})")
        if t < 1:
            raise ParamError(f"layer {i}: threshold {t} is out of range: legal is a positive integer")
        if i and w.shape[1] != net.weights[i - 1].shape[0]:
            raise ParamError(f"layer {i}: fan-in {w.shape[1]} does not match layer {i - 1}'s {net.weights[i - 1].shape[0]} neurons")
    return net
