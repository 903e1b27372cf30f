"""Twin throughput, measured side by side in one run: `python -m sim.bench`.

One layer (default 4096 inputs, 256 neurons, T=8, batch 256, 10 % spike rate, W=8,
S=1). Synaptic events = non-zero input spikes x neurons. Compared with the same
shapes as (a) a plain numpy int64 matmul, (b) a float64 BLAS matmul, and (c)
spikingjelly's multi-step IFNode (soft reset, float32 torch) behind a float32
linear layer, when the `bench` extra is installed.
"""

import json
import time

import numpy as np

from .cli import UsageParser, command
from .params import CoreParams
from .stimulus import random_weights, spike_train
from .twin import snn_forward


def best_time(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def spikingjelly_runner(w, spikes, theta):
    try:
        import torch
        from spikingjelly.activation_based import neuron
    except ImportError:
        return None
    x = torch.from_numpy(np.ascontiguousarray(spikes.transpose(1, 0, 2)))  # its (T, batch, n_in) layout
    wt = torch.from_numpy(w.T.astype(np.float32))
    node = neuron.IFNode(v_threshold=float(theta), v_reset=None, step_mode="m")

    def run():  # from the same integer spikes the twin gets, as the twin converts them too
        with torch.no_grad():
            node.reset()
            return node(x.to(torch.float32) @ wt)
    return run


@command("python -m sim.bench")
def main(argv=None):
    ap = UsageParser(prog="python -m sim.bench", description=__doc__)
    ap.add_argument("--n-in", type=int, default=4096)
    ap.add_argument("--n-out", type=int, default=256)
    ap.add_argument("--T", type=int, default=8)
    ap.add_argument("--W", type=int, default=8)
    ap.add_argument("--S", type=int, default=1)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    a = ap.parse_args(argv)

    p = CoreParams(a.W, a.S, a.T, a.n_in, a.n_out)
    rng = np.random.default_rng(0)
    w = random_weights(p, rng)
    spikes = spike_train(rng, (a.batch, a.T, a.n_in), a.S, a.rate)
    theta = max(1, a.n_in * p.w_max * p.K // 64)
    events = int((spikes != 0).sum()) * a.n_out
    flat = spikes.reshape(-1, a.n_in)

    runners = {
        "twin (sim.twin.snn_forward, integer-exact)": lambda: snn_forward(w, spikes, theta, a.S),
        "numpy int64 matmul only": lambda: flat.astype(np.int64) @ w.T.astype(np.int64),
        "numpy float64 BLAS matmul only": lambda: flat.astype(np.float64) @ w.T.astype(np.float64),
    }
    sj = spikingjelly_runner(w, spikes, theta)
    if sj is not None:
        ours = snn_forward(w, spikes, theta, a.S)
        assert a.S > 1 or (sj().numpy().transpose(1, 0, 2) == ours).all(), "spikingjelly disagrees with the twin"
        runners["spikingjelly IFNode, float32 torch (linear + neuron)"] = sj

    results = {}
    for name, fn in runners.items():
        seconds = best_time(fn, a.repeats)
        results[name] = {"seconds": seconds, "events_per_s": events / seconds}
    twin = results["twin (sim.twin.snn_forward, integer-exact)"]["events_per_s"]
    for r in results.values():
        r["twin_speedup"] = twin / r["events_per_s"]
    shape = dict(vars(a), synaptic_events=events)
    if a.json:
        print(json.dumps({"shape": shape, "results": results}, indent=2))
        return 0
    print(f"layer {a.n_in}x{a.n_out}, T={a.T}, batch {a.batch}, W={a.W} S={a.S}, spike rate {a.rate}: "
          f"{events:.3e} synaptic events; best of {a.repeats}")
    print(f"{'implementation':56s} {'seconds':>9s} {'events/s':>11s} {'twin x':>7s}")
    for name, r in results.items():
        print(f"{name:56s} {r['seconds']:9.4f} {r['events_per_s']:11.3e} {r['twin_speedup']:7.2f}")
    if sj is None:
        print("spikingjelly not installed: pip install -e .[bench] to compare against it")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
