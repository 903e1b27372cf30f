"""`python -m reports.network`: the papers' central experiment on our own cores. For each
bit-budget allocation (W, S, T): train the digits MLP with QAT (`sim.network`), convert it
to its SNN twin, run both as chains of generated cores (`gen.chain`), and report
accuracy, activity, S-ACE / NS-ACE, cycles, measured energy and the analytical model.

Per allocation:
* accuracy of the integer QNN and of its SNN twin on the whole test set (twin models);
* RTL: the emitted Verilog of the SNN chain and of the QNN chain under cocotb/Verilator,
  on the whole test set (or `--images N`), every output beat compared with the twin
  network; cycles per inference from that run;
* gate level: the chains synthesized for the target, simulated on the first
  `--energy-images` test images (again checked beat by beat), toggles x coefficients
  (`reports.power.energy`) = measured pJ per inference;
* the analytical model (`sim.energy`, minimum-movement hardware, 22 nm defaults or
  `--calibration`), per layer with that layer's fan-in, input spike rate and QNN input
  density, times its neurons. The model's B is the paper's ceil(log2(T+1)): for S > 1
  it prices the QNN with fewer bits than the twin's B.
Each allocation's trained network is written as JSON and NIR next to the report.
Results are cached per allocation under <out>/cache/network/ (`reports.jobs`).
"""

import json
import os
import sys

from gen.chain import Chain
from sim.cli import UsageParser, command
from sim.energy import HARDWARE, OpEnergy, Scenario, evaluate, load_calibration, s_ace
from sim.network import encode_counts, encode_spikes, load_digits_split, train
from sim.network import evaluate as accuracy
from sim.beats import KINDS, timeout_cycles
from sim.params import CoreParams, ParamError

from .activity import parse_saif, toggle_counts
from .cli import add_executor_options
from sim.files import write_files

from .figure import figure
from .flow import TARGETS
from .gatelevel import gate_netlist, run_checked
from .jobs import executor, run_jobs
from .measurement import MEASURE_SOURCES
from .pricing import energy, load_coefficients

ALLOCATIONS = [(8, 1, 4), (8, 2, 2), (8, 4, 1), (8, 1, 8), (8, 2, 4), (8, 4, 2), (8, 8, 1),
               (1, 1, 4), (2, 1, 4), (4, 1, 4)]
SOURCES = ["sim/network.py", "reports/network.py"]      # besides the measurement's own


def chain_io(kind, net, S, T, counts):
    """(beats, expected output beats, ports) of a chain on input counts."""
    k = KINDS[kind]
    if k.spiking:
        inputs = encode_spikes(counts, T)
        levels = net.snn(inputs, S)[0][-1]
    else:
        inputs, levels = counts, net.qnn(counts, T * (2 ** S - 1))[-1]
    return k.encode(inputs, S, T), k.output_beats(levels, S, T), (k.in_port, k.out_port)


def run_chain(kind, net, S, T, counts, family, args, module):
    """Run a chain (RTL if family is None, else its gate-level netlist); returns
    (cycles per inference, toggle counts or None)."""
    chain = Chain.for_network(kind, net, S, T, args["max_lanes"])
    params = [c.params for c in chain.cores]
    beats, expected, ports = chain_io(kind, net, S, T, counts)
    cache = args["cache"]
    if family is None:
        from gen.emit import verilog
        path = os.path.join(cache, "rtl", f"{module}.v")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(verilog(chain, name=module))
    else:
        netlist, path = gate_netlist(chain, module, TARGETS[args["target"]], cache)
    per_beat = sum(KINDS[kind].beat_cycles(p) for p in params)     # the layers in series
    report, saif = run_checked(path, module, family, beats, expected, ports, None,
                               timeout_cycles(len(beats), per_beat), cache)
    cycles = report["cycles"] / len(counts)
    return cycles, (toggle_counts(netlist, module, parse_saif(saif)) if family else None)


def model_energy(net, qnn_acts, snn_levels, T, ops):
    """The analytical model's pJ per inference, summed over layers: per neuron with the
    layer's fan-in, input spike rate and QNN input sparsity, times n_out."""
    snn = qnn = 0.0
    for w, a, lv in zip(net.weights, qnn_acts, snn_levels):
        s = Scenario(T=T, spike_rate=float((lv > 0).mean()), gamma=float((a == 0).mean()), N=w.shape[1],
                     hardware=HARDWARE["minimum"], ops=ops)
        r = evaluate(s)
        snn += w.shape[0] * r["snn_pj"]
        qnn += w.shape[0] * r["qnn_pj"]
    return snn, qnn


def run_allocation(job):
    """One allocation: train, run the chains, measure; returns its result. Runs in a worker."""
    W, S, T = job["W"], job["S"], job["T"]
    L = T * (2 ** S - 1)
    x_train, y_train, x_test, y_test = load_digits_split(job["seed"])
    net = train(x_train, y_train, W=W, L=L, hidden=job["hidden"], epochs=job["epochs"], seed=job["seed"])
    result = {"W": W, "S": S, "T": T, "BB": W * S * T, "L": L, "thresholds": net.thresholds,
              **accuracy(net, x_test, y_test, S, T)}
    counts = encode_counts(x_test, L)
    q = net.qnn(counts, L)
    levels, _ = net.snn(encode_spikes(counts, T), S)
    layers = [{"macs": int(w.size), "W": W, "S": S, "T": T, "rate": float((lv > 0).mean())}
              for w, lv in zip(net.weights, levels)]
    result["sace"] = s_ace(layers)
    ops = load_calibration(job["calibration"]) if job["calibration"] else OpEnergy()
    result["model_snn_pj"], result["model_qnn_pj"] = model_energy(net, q, levels, T, ops)
    images = counts[:job["images"]] if job["images"] else counts
    coeffs = load_coefficients(TARGETS[job["target"]].family, job["coefficients"])
    family = TARGETS[job["target"]].family
    for kind in ("snn", "qnn"):
        module = f"net_{kind}_w{W}s{S}t{T}"
        result[f"{kind}_rtl_images"] = len(images)
        result[f"{kind}_cycles"], _ = run_chain(kind, net, S, T, images, None, job, module)
        n = job["energy_images"]
        _, counts_gl = run_chain(kind, net, S, T, counts[:n], family, job, module)
        by_class, by_block = energy(counts_gl, coeffs)
        result[f"{kind}_pj"] = sum(by_class.values()) / n
        result[f"{kind}_pj_by_block"] = {k: v / n for k, v in by_block.items()}
    save_network(net, S, T, os.path.join(job["out"], f"w{W}s{S}t{T}"))
    return result


def save_network(net, S, T, stem):
    from gen.nirgraph import export_nir, save_json
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    save_json(net, S, T, stem + ".json")
    try:
        export_nir(net, stem + ".nir")
    except ImportError:
        pass        # nir is optional for the report


def markdown(results):
    head = ("| W/S/T | BB | QNN acc | SNN acc | SNN-QNN pp | QNN density | SNN rate | twin cond. | S-ACE | NS-ACE | "
            "cycles SNN / QNN | measured pJ SNN / QNN (ratio) | model pJ SNN / QNN (ratio) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    fmt = lambda v: "/".join(f"{x:.2f}" for x in v)
    for r in results:
        rows.append(
            f"| {r['W']}/{r['S']}/{r['T']} | {r['BB']} | {100 * r['qnn_accuracy']:.1f} % | {100 * r['snn_accuracy']:.1f} % | "
            f"{100 * (r['snn_accuracy'] - r['qnn_accuracy']):+.1f} | {fmt(r['qnn_density'])} | {fmt(r['snn_spike_rate'])} | "
            f"{fmt(r['twin_condition'])} | {r['sace']['S_ACE']:.3g} | {r['sace']['NS_ACE']:.3g} | "
            f"{r['snn_cycles']:.0f} / {r['qnn_cycles']:.0f} | {r['snn_pj']:.0f} / {r['qnn_pj']:.0f} "
            f"({r['snn_pj'] / r['qnn_pj']:.2f}) | {r['model_snn_pj']:.0f} / {r['model_qnn_pj']:.0f} "
            f"({r['model_snn_pj'] / r['model_qnn_pj']:.2f}) |")
    return "\n".join(rows)


def plot(results, files):
    labels = [f"{r['W']}/{r['S']}/{r['T']}" for r in results]
    with figure(files, "network.png", size=(10, 4.5)) as ax:
        ax.plot(labels, [r["snn_pj"] / 1e3 for r in results], marker="o", label="SNN chain, measured nJ")
        ax.plot(labels, [r["qnn_pj"] / 1e3 for r in results], marker="s", label="QNN chain, measured nJ")
        acc = ax.twinx()
        acc.plot(labels, [100 * r["snn_accuracy"] for r in results], "o--", color="C2", label="SNN accuracy %")
        acc.plot(labels, [100 * r["qnn_accuracy"] for r in results], "s--", color="C3", label="QNN accuracy %")
        acc.set_ylabel("test accuracy (%)")
        acc.legend(loc="lower right")
        ax.set(xlabel="allocation W/S/T", ylabel="energy per inference (nJ)", title="digits MLP on generated cores")


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.network", description=__doc__.split("\n\n")[0])
    ap.add_argument("--alloc", nargs="+", metavar="W/S/T", help="allocations (default: W=8 at S*T in {4,8}, "
                    "and W in {1,2,4} at 1/4)")
    ap.add_argument("--hidden", type=int, default=64, help="hidden neurons (default 64)")
    ap.add_argument("--epochs", type=int, default=100, help="training epochs (default 100)")
    ap.add_argument("--images", type=int, default=0, help="test images through the RTL chains (default 0: all)")
    ap.add_argument("--energy-images", type=int, default=16, help="test images through the gate-level chains (default 16)")
    ap.add_argument("--max-lanes", type=int, default=16, help="lanes per core at most (default 16)")
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k")
    ap.add_argument("--coefficients", metavar="FILE.json", help="energy coefficients (default: the family's file)")
    ap.add_argument("--calibration", metavar="FILE.json", help="per-op energies for the analytical model")
    ap.add_argument("--seed", type=int, default=0)
    add_executor_options(ap, "allocations")
    ap.add_argument("--out", default=os.path.join("reports", "out", "network"))
    return ap.parse_args(argv)


def parse_alloc(text):
    try:
        W, S, T = (int(v) for v in text.split("/"))
    except ValueError:
        raise ParamError("alloc", text, "W/S/T, e.g. 8/1/4", "{name} {value!r}: legal is {legal}") from None
    return W, S, T


@command("python -m reports.network", usage=(ValueError,))
def main(argv=None):
    args = parse_args(argv)
    allocs = [parse_alloc(a) for a in args.alloc] if args.alloc else ALLOCATIONS
    for W, S, T in allocs:
        CoreParams(W, S, T, 64, args.hidden)
    for name in ("hidden", "epochs", "energy_images", "max_lanes"):
        if getattr(args, name) < 1:
            raise ParamError(name, getattr(args, name), ">= 1")
    if args.images < 0:
        raise ParamError("images", args.images, "0 (all) or more")
    load_coefficients(TARGETS[args.target].family, args.coefficients)
    cache = os.path.join(args.out, "cache")
    jobs = [dict(W=W, S=S, T=T, hidden=args.hidden, epochs=args.epochs, images=args.images,
                 energy_images=args.energy_images, max_lanes=args.max_lanes, target=args.target,
                 coefficients=args.coefficients, calibration=args.calibration, seed=args.seed,
                 cache=cache, out=args.out) for W, S, T in allocs]
    with executor(args.dask, args.workers) as pool:
        print(f"{len(jobs)} allocations: train, RTL chains, gate-level chains", file=sys.stderr, flush=True)
        results = run_jobs(run_allocation, jobs, pool, os.path.join(cache, "network"), MEASURE_SOURCES + SOURCES,
                           lambda j, r: (f"{r['W']}/{r['S']}/{r['T']}: QNN {100 * r['qnn_accuracy']:.1f} %, "
                                         f"SNN {100 * r['snn_accuracy']:.1f} %, {r['snn_pj']:.0f} / {r['qnn_pj']:.0f} pJ"))
    text = markdown(results)
    files = {"network.json": json.dumps(results, indent=1),
             "network.md": "# Digits MLP (64-{h}-10) on generated cores\n\n{t}\n".format(h=args.hidden, t=text)}
    plot(results, files)
    write_files("out", args.out, files)
    print(text)
    print(f"written: {args.out}/network.json / .md / .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
