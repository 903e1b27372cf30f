"""A quantized MLP for an image set (`sim.datasets`: the digits, the MNIST subset), trained
with quantization-aware training in numpy, and its SNN twin (the first paper's Table I
method), layer by layer on the core twins. `python -m sim.network` trains one and writes
its network file (`sim.netfile`) with the twins' accuracy on the held-out images.

Integer semantics, per layer (exactly what a chain of generated cores computes):
  QNN  a_out = clamp(floor(sum_j w[o][j] * a[j] / theta), 0, L)        (sim.twin.qnn_forward)
  SNN  the same weights and threshold, inputs as S-bit levels over T steps (sim.twin.snn_forward),
       output levels of one layer straight into the next.
Inputs: a pixel p in 0..pixel_max (16 for the digits, 255 for MNIST) becomes the count
floor(p * L / pixel_max) in 0..L; the SNN gets it spread evenly over the T steps, level
k_t = floor((t+1)n/T) - floor(tn/T) <= K.
The class is the output neuron with the largest count (the lowest index on a tie).

Training (float, straight-through estimators): weights are fake-quantized to W bits with
a per-layer scale s = max|w| / w_max (mean|w| for W <= 2); activations to
clamp(floor(z / (theta * s)), 0, L) with the integer threshold theta = round(delta / s),
delta set once so the activations fill 0..L: the forward pass is the integer QNN itself.
The MNIST recipe adds shifted training images, a cosine decay and a calibrated output
threshold (`train`). Deterministic given the seed.
"""

import os
import sys
import time
from dataclasses import dataclass

import numpy as np

from .cli import DESCRIPTIONS, UsageParser, command
from .datasets import DATASETS, SPLIT_SEED, shifted
from .params import RANGES, CoreParams, ParamError, check_int, weight_range
from .twin import qnn_forward, snn_forward, twin_condition
from .validate import check_out_dir

PIXEL_MAX = DATASETS["digits"].pixel_max     # the default: the digits' pixels are 0..16
TEMPERATURE = 8.0     # softmax scale over the full output count range 0..L


def encode_counts(pixels, L, pixel_max=PIXEL_MAX):
    return (np.asarray(pixels, np.int64) * L) // pixel_max


def encode_spikes(counts, T):
    """Counts (..., n) in 0..T*K -> levels (..., T, n), spread evenly over the steps."""
    t = np.arange(T + 1).reshape((T + 1,) + (1,) * np.ndim(counts))
    cum = (t * np.asarray(counts, np.int64)) // T
    return np.moveaxis(np.diff(cum, axis=0), 0, -2)


@dataclass
class Network:
    """Integer weights (n_out, n_in) and thresholds per layer, for weight bits W. The last
    `bias_inputs` inputs of the first layer are always on (spike level 1 at every step, QNN
    count T: the bias construction of sim.quantize); `quantization` records how a float
    network became this one (None for a network trained here or read as integers)."""
    weights: list
    thresholds: list
    W: int
    bias_inputs: int = 0
    quantization: dict = None

    def params(self, S, T):
        return [CoreParams(self.W, S, T, w.shape[1], w.shape[0]) for w in self.weights]

    def qnn(self, counts, L):
        """Per-layer activations (the input counts first)."""
        acts = [np.asarray(counts, np.int64)]
        for w, theta in zip(self.weights, self.thresholds):
            acts.append(qnn_forward(w, acts[-1], theta, L))
        return acts

    def snn(self, spikes, S):
        """Per-layer spike levels (..., T, n) and whether each layer's twin condition held,
        per inference and neuron."""
        levels, held = [np.asarray(spikes)], []
        K = 2 ** S - 1
        for w, theta in zip(self.weights, self.thresholds):
            out, drive = snn_forward(w, levels[-1], theta, S, return_drive=True)
            levels.append(out)
            held.append(twin_condition(drive, theta, K))
        return levels, held


def predict(outputs):
    """Class = the first output with the largest count."""
    return np.argmax(outputs, axis=-1)


def _quantize_weights(w, W):
    """Integer weights and their scale: max|w| over the W-bit range for W >= 4; for 1 and
    2 bits, mean|w| (max-scaling would round most weights of a 2-bit layer to zero)."""
    w_max = weight_range(W)[1]
    spread = float(np.abs(w).max()) if W > 2 else float(np.abs(w).mean())
    scale = max(spread, 1e-8) / w_max
    if W == 1:
        return np.where(w >= 0, 1, -1), scale
    return np.clip(np.round(w / scale), -w_max - 1, w_max).astype(np.int64), scale


def export_layer(w, W, delta):
    """A trained layer as the cores run it: W-bit integer weights and the integer threshold
    round(delta / scale)."""
    q, s = _quantize_weights(w, W)
    return q, max(1, int(round(delta / s)))


def qat_layer(a, w, W, delta, L):
    """One layer of the training forward pass on activations `a`: returns the quantized
    weights (q * scale, straight through), the divisor theta * scale with the integer
    threshold the export uses, the pre-activation and the activation clamp(floor(.), 0, L),
    which is the integer QNN's output (tests/test_network.py checks it)."""
    q, s = _quantize_weights(w, W)
    theta = export_layer(w, W, delta)[1]
    # (a @ (q*s).T) / (theta*s) in the integer domain: a and q are integers, so the sum is
    # exact and floor() sees the QNN's quotient; the float form missed ~1 % of the
    # activations, at exact multiples of theta (300 random layers, 1591 of 147750)
    pre = (a @ q.T) / theta
    return q * s, theta * s, pre, np.clip(np.floor(pre), 0, L)


def train(x, y, *, W=8, L=3, hidden=64, epochs=100, lr=0.005, batch=64, seed=0, pixel_max=PIXEL_MAX,
          shift=0, cosine=False, calibrate=False, progress=None):
    """QAT of an MLP n_in - hidden - 10 on pixels x (0..pixel_max); returns the integer
    Network (thresholds for L). Options (all off for the digits): `shift`, each epoch every
    square training image moved by a random offset in -shift..shift pixels per axis
    (`sim.datasets.shifted`); `cosine`, the learning rate decays to 0 along a half cosine;
    `calibrate`, the output layer's threshold chosen on the training set (`calibrate_output`).
    `progress(epoch)` is called after each epoch (1..epochs)."""
    rng = np.random.default_rng(seed)
    sizes = [x.shape[1], hidden, 10]
    ws = [rng.normal(0, np.sqrt(2 / a), (b, a)) for a, b in zip(sizes, sizes[1:])]
    deltas = [1.0] * len(ws)
    m = [np.zeros_like(w) for w in ws]
    v = [np.zeros_like(w) for w in ws]
    counts = encode_counts(x, L, pixel_max).astype(float)
    onehot = np.eye(10)[y]
    step, batches = 0, max(1, len(x) // batch)
    for epoch in range(epochs):
        inputs = encode_counts(shifted(x, shift, rng), L, pixel_max).astype(float) if shift else counts
        for idx in np.array_split(rng.permutation(len(x)), batches):
            acts, pre, qws, scales = [inputs[idx]], [], [], []
            for i, w in enumerate(ws):
                if epoch == 0 and step == 0:        # delta: the activations fill 0..L
                    q, s = _quantize_weights(w, W)
                    deltas[i] = max(np.percentile(acts[-1] @ (q * s).T, 99) / L, 1e-6)
                qw, scale, z, a = qat_layer(acts[-1], w, W, deltas[i], L)
                qws.append(qw)
                scales.append(scale)
                pre.append(z)
                acts.append(a)
            # softmax on the clamped output counts the hardware gives (straight through)
            logits = np.clip(pre[-1], 0, L) * (TEMPERATURE / L)
            p = np.exp(logits - logits.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
            grad = (p - onehot[idx]) / len(idx) * (TEMPERATURE / L)
            rate = lr * (0.5 + 0.5 * np.cos(np.pi * step / (epochs * batches))) if cosine else lr
            step += 1
            for i in reversed(range(len(ws))):
                g_z = grad / scales[i]
                g_w = g_z.T @ acts[i]
                if i:
                    inside = (pre[i - 1] > 0) & (pre[i - 1] < L)       # straight through the clamp
                    grad = (g_z @ qws[i]) * inside
                m[i] = 0.9 * m[i] + 0.1 * g_w
                v[i] = 0.999 * v[i] + 0.001 * g_w ** 2
                ws[i] -= rate * (m[i] / (1 - 0.9 ** step)) / (np.sqrt(v[i] / (1 - 0.999 ** step)) + 1e-8)
        if progress:
            progress(epoch + 1)
    weights, thresholds = zip(*[export_layer(w, W, delta) for w, delta in zip(ws, deltas)])
    net = Network(list(weights), list(thresholds), W)
    if calibrate:
        net.thresholds[-1] = calibrate_output(net, counts, y, L)
    return net


def calibrate_output(net, counts, y, L):
    """The output layer's threshold that classifies (counts, y) best among the network's own
    times 2**(k/4), k = -4..12 (the smallest on a tie). QAT's own is fitted to the training
    images, where the right class alone reaches L; on unseen ones several often do, and a tie
    goes to the lowest index."""
    hidden = net.qnn(counts, L)[-2]
    candidates = sorted({max(1, round(net.thresholds[-1] * 2 ** (k / 4))) for k in range(-4, 13)})
    return max(candidates, key=lambda theta: (predict(qnn_forward(net.weights[-1], hidden, theta, L)) == y).mean())


def evaluate(net, x, y, S, T, pixel_max=PIXEL_MAX):
    """QNN and SNN accuracy, activation density and spike rate per layer, twin condition
    rate per layer, for one allocation (S, T), on pixels x (0..pixel_max)."""
    return evaluate_counts(net, encode_counts(x, T * (2 ** S - 1), pixel_max), y, S, T)


def evaluate_counts(net, counts, y, S, T):
    """`evaluate` on input counts (N, n_in); without labels y the accuracies are None."""
    L = T * (2 ** S - 1)
    q = net.qnn(counts, L)
    levels, held = net.snn(encode_spikes(counts, T), S)
    classes = predict(q[-1]), predict(levels[-1].sum(axis=-2))
    return {
        "S": S, "T": T, "L": L,
        "qnn_accuracy": None if y is None else float((classes[0] == y).mean()),
        "snn_accuracy": None if y is None else float((classes[1] == y).mean()),
        "qnn_density": [float((a > 0).mean()) for a in q[1:]],
        "snn_spike_rate": [float((lv > 0).mean()) for lv in levels[1:]],
        "twin_condition": [float(h.mean()) for h in held],
        "agreement": float((classes[0] == classes[1]).mean()),
    }


def held_out(dataset, L):
    """A `sim.datasets` set's held-out images (its fixed split) as input counts in 0..L, and
    their labels."""
    data = DATASETS[dataset]
    *_, x, y = data.load(SPLIT_SEED)
    return encode_counts(x, L, data.pixel_max), y


def train_on(dataset, W, S, T, seed=0, progress=None, **options):
    """Train on a `sim.datasets` set, on its fixed split with its recipe (`options` override
    it), at (W, S, T). Returns the Network, the held-out images' input counts and what the
    network file records: accuracy (QNN and SNN twins on those images, and how often the two
    classify alike), the dataset and the training."""
    data = DATASETS[dataset]
    recipe = data.recipe | options
    x, y, *_ = data.load(SPLIT_SEED)
    L = T * (2 ** S - 1)
    net = train(x, y, W=W, L=L, seed=seed, pixel_max=data.pixel_max, progress=progress, **recipe)
    counts, y_test = held_out(data.name, L)
    r = evaluate_counts(net, counts, y_test, S, T)
    return net, counts, {
        "accuracy": {"qnn": r["qnn_accuracy"], "snn": r["snn_accuracy"], "images": len(y_test),
                     "agreement": r["agreement"]},
        "dataset": {"name": data.name, "split_seed": SPLIT_SEED, "train": len(y), "test": len(y_test)},
        "training": recipe | {"seed": seed}}


def snn_cycles(net, counts, S, T, lanes):
    """Each layer's SNN core cycles per inference on input counts (N, n_in), per image:
    `CoreParams.snn_cycles` with `lanes[i]` lanes in layer i and the set spike bits of the
    layer's input beats."""
    levels, _ = net.snn(encode_spikes(counts, T), S)
    return [CoreParams(net.W, S, T, w.shape[1], w.shape[0], n).snn_cycles(np.bitwise_count(lv).sum(axis=(-2, -1)), T)
            for w, n, lv in zip(net.weights, lanes, levels)]


@command("python -m sim.network", usage=(ImportError,))
def main(argv=None):
    ap = UsageParser(prog="python -m sim.network", description="Train the MLP on a bundled image set with "
                     "QAT, measure its QNN and SNN twins on the held-out images, write the network file.")
    ap.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="image set (default digits)")
    for name, default in (("W", 8), ("S", 1), ("T", 4)):
        ap.add_argument(f"--{name}", type=int, default=default,
                        help=DESCRIPTIONS[name].format("{}..{}".format(*RANGES[name])) + f" (default {default})")
    ap.add_argument("--hidden", type=int, help="hidden neurons (default: the set's recipe, digits 64, mnist 128)")
    ap.add_argument("--epochs", type=int, help="training epochs (default: the set's recipe, digits 100, mnist 30)")
    ap.add_argument("--lanes", type=int, nargs=2, metavar=("HIDDEN", "OUTPUT"), help="neurons updated per "
                    "cycle in each layer's core, for the cycle estimate (default: all of them)")
    ap.add_argument("--seed", type=int, default=0, help=f"training seed (default 0; the split's is {SPLIT_SEED})")
    ap.add_argument("--out", required=True, metavar="FILE.json", help="the network file to write")
    args = ap.parse_args(argv)
    data = DATASETS[args.dataset]
    recipe = data.recipe | {k: getattr(args, k) for k in ("hidden", "epochs") if k in args.given}
    check_int("hidden", recipe["hidden"], *RANGES["n_out"])
    check_int("epochs", recipe["epochs"], 1, 10000)
    CoreParams(args.W, args.S, args.T)        # W, S, T in range
    sizes = [recipe["hidden"], 10]
    lanes = args.lanes or sizes
    if any(n < 1 or size % n for size, n in zip(sizes, lanes)):
        raise ParamError("lanes", " ".join(map(str, lanes)), text="{name} {value}: each must divide its layer's "
                         "neurons, {sizes}", sizes=" and ".join(map(str, sizes)))
    if os.path.isdir(args.out):      # before a training that takes a while
        raise ParamError("out", args.out, text="{name} {value}: a directory: legal is a file name")
    check_out_dir("out", os.path.dirname(args.out) or ".")
    start = time.monotonic()
    said = [start]

    def progress(epoch):
        if time.monotonic() - said[-1] >= 5 or epoch == recipe["epochs"]:
            said.append(time.monotonic())
            print(f"  epoch {epoch}/{recipe['epochs']} [{said[-1] - start:.0f} s]", file=sys.stderr, flush=True)

    net, counts, record = train_on(data.name, args.W, args.S, args.T, args.seed, progress, **recipe)
    seconds = time.monotonic() - start
    from .netfile import save_json     # sim.netfile imports this module
    save_json(net, args.S, args.T, args.out, record)
    shape = "-".join(str(n) for n in [counts.shape[1]] + [w.shape[0] for w in net.weights])
    cycles, acc = snn_cycles(net, counts, args.S, args.T, lanes), record["accuracy"]
    print(f"{data.name} {shape}, W={args.W} S={args.S} T={args.T}: trained on {record['dataset']['train']} images "
          f"in {seconds:.0f} s ({recipe['epochs']} epochs, seed {args.seed})")
    print(f"  accuracy  QNN {100 * acc['qnn']:.1f} %, SNN {100 * acc['snn']:.1f} % on the {acc['images']} held-out "
          f"images (agreement {100 * acc['agreement']:.1f} %)")
    print("  cycles    SNN per image, mean (max): " + ", ".join(
        f"layer {i} {c.mean():.0f} ({c.max()}) with {n} lanes" for i, (c, n) in enumerate(zip(cycles, lanes))))
    print(f"  network   {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
