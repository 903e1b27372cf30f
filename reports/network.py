"""`python -m reports.network`: the papers' central experiment on our own cores. For each
bit-budget allocation (W, S, T): train the MLP on an image set with QAT (`sim.network`: the
8x8 digits by default, or `--dataset mnist`, the 784-128-10 network), convert it to its SNN twin, run both as chains of generated cores (`gen.chain`), and report
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

`--network FILE` measures a given network in place of the digits MLP: our JSON, an integer
NIR graph, or a float one (snnTorch, spikingjelly, Norse) quantized to W bits (`gen.nirgraph`,
`sim.quantize`), once per allocation (`--alloc`, or `--W/--S/--T` where the file has none;
disagreeing values are refused, naming both, as in `gen.core`). It is measured the same way on
the `--calibration-data` inputs (accuracies with `--calibration-labels`; the float network's
comparison with its twins, per layer, is printed and recorded) or on seeded random inputs.
Results are cached per allocation under <out>/cache/network/ (`reports.jobs`).
"""

import json
import os
import sys

import numpy as np

from gen.build import add_max_lanes_option, add_weight_memory_option
from gen.chain import Chain
from gen.weights import weight_words
from sim.cli import UsageParser, add_network_options, command, message, network_bits, option
from sim.energy import HARDWARE, OpEnergy, Scenario, evaluate, load_calibration, s_ace
from sim.datasets import DATASETS, SPLIT_SEED
from sim.network import Network, encode_spikes, evaluate_counts, held_out, train_on
from sim.beats import KINDS, timeout_cycles
from sim.files import write_files
from sim.params import ParamError
from sim.quantize import describe, input_counts
from sim.validate import load_float_array, load_int_array

from .activity import minus, parse_saif, toggle_counts
from .cli import add_executor_options
from .figure import figure
from .flow import TARGETS
from .gatelevel import gate_netlist, run_checked, run_load
from .jobs import executor, run_jobs
from .measurement import MEASURE_SOURCES
from .pricing import energy, load_coefficients

ALLOCATIONS = {     # per data set, the default allocations
    "digits": [(8, 1, 4), (8, 2, 2), (8, 4, 1), (8, 1, 8), (8, 2, 4), (8, 4, 2), (8, 8, 1), (1, 1, 4), (2, 1, 4), (4, 1, 4)],
    "mnist": [(8, 1, 4)],       # the allocation of the MNIST board (issue 18): 1,000 images through 784-128-10 chains
}
TITLES = {"digits": "Digits", "mnist": "MNIST"}
SOURCES = ["sim/network.py", "sim/datasets.py", "reports/network.py"]      # besides the measurement's own
RANDOM_INPUTS = 100     # --network without --calibration-data: this many random inputs by default


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
    (cycles per inference, toggle counts or None). With `weight_memory` "spram" the
    gate-level chain keeps its largest layer's weights in SPRAM, as the board does: the
    run writes them first, and the toggles of a run that only writes them are subtracted.
    The RTL chain keeps them in block RAM (the same cycles; RTL has no cell models)."""
    params, memories = Chain.plan(net, S, T, args["max_lanes"], args["weight_memory"])
    chain = Chain(kind, params, net.weights, net.thresholds, memories if family else None)
    load = weight_words(chain.loaded.params, chain.loaded.weights) if chain.loaded else None
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
                               timeout_cycles(len(beats), per_beat), cache, load)
    cycles = report["cycles"] / len(counts)
    if family is None:
        return cycles, None
    toggles = toggle_counts(netlist, module, parse_saif(saif))
    if load is not None:
        toggles = minus(toggles, toggle_counts(netlist, module, parse_saif(run_load(path, module, family, load, cache))))
    return cycles, toggles


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
    """One allocation: train the MLP on the job's data set, or take its imported network; measure it."""
    W, S, T = job["W"], job["S"], job["T"]
    if "network" in job:
        n = job["network"]
        net = Network([np.array(w, np.int64) for w in n["weights"]], n["thresholds"], W, n["bias_inputs"])
        counts, labels = np.array(job["counts"], np.int64), None if job["labels"] is None else np.array(job["labels"])
        extra, record = {"network": n["file"], "inputs": job["inputs"], "quantization": n["quantization"]}, None
    else:       # the data set's fixed split and recipe, as `sim.network` trains it (its file records them)
        net, counts, record = train_on(job["dataset"], W, S, T, job["seed"], **job["training"])
        labels, extra = held_out(job["dataset"], T * (2 ** S - 1))[1], {"dataset": record["dataset"]}
    result = measure(net, S, T, counts, labels, job) | extra
    save_network(net, S, T, os.path.join(job["out"], f"w{W}s{S}t{T}"), record)
    return result


def measure(net, S, T, counts, labels, job):
    """An integer network at (S, T) on input counts (labels or None): the twins' accuracy and
    activity, S-ACE, the analytical model, the RTL chains (checked against the twin; cycles)
    and the gate-level chains (measured energy)."""
    W, L = net.W, T * (2 ** S - 1)
    result = {"W": W, "S": S, "T": T, "BB": W * S * T, "L": L, "thresholds": net.thresholds,
              **evaluate_counts(net, counts, labels, S, T)}
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
        say(f"{W}/{S}/{T}: the {kind.upper()} chain's RTL on {len(images)} images")
        result[f"{kind}_cycles"], _ = run_chain(kind, net, S, T, images, None, job, module)
        n = len(counts[:job["energy_images"]])
        say(f"{W}/{S}/{T}: the {kind.upper()} chain's gate-level netlist on {n} images")
        _, counts_gl = run_chain(kind, net, S, T, counts[:n], family, job, module)
        by_class, by_block = energy(counts_gl, coeffs)
        result[f"{kind}_pj"] = sum(by_class.values()) / n
        result[f"{kind}_pj_by_block"] = {k: v / n for k, v in by_block.items()}
    return result


def say(text):
    """A stage of a long allocation (a 784-input chain's synthesis takes minutes), on stderr."""
    print(f"  {text} ...", file=sys.stderr, flush=True)


def save_network(net, S, T, stem, record=None):
    """The network as JSON (with `sim.network`'s record of a trained one: accuracy, data set,
    training; `boards.host --network` finds the held-out images by it) and as NIR."""
    from gen.nirgraph import export_nir, save_json
    os.makedirs(os.path.dirname(stem), exist_ok=True)
    save_json(net, S, T, stem + ".json", record)
    try:
        export_nir(net, stem + ".nir")
    except ImportError:
        pass        # nir is optional for the report


def pct(v):
    return "-" if v is None else f"{100 * v:.1f} %"


def float_report(r):
    """An imported float network's comparison with its QNN and SNN twins (sim.quantize.compare), or None."""
    return (r.get("quantization") or {}).get("report")


def markdown(results):
    floats = any(float_report(r) for r in results)
    head = ("| W/S/T | BB | " + ("float acc | class agreement with float QNN / SNN | " if floats else "") +
            "QNN acc | SNN acc | SNN-QNN pp | QNN density | SNN rate | twin cond. | S-ACE | NS-ACE | "
            "cycles SNN / QNN | measured pJ SNN / QNN (ratio) | model pJ SNN / QNN (ratio) |")
    rows = [head, "|" + "---|" * (head.count("|") - 1)]
    fmt = lambda v: "/".join(f"{x:.2f}" for x in v)
    for r in results:
        f = float_report(r)
        fcols = "" if not floats else "- | - | " if not f else (
            f"{pct(f.get('accuracy', {}).get('float'))} | {pct(f['agreement']['qnn'])} / {pct(f['agreement']['snn'])} | ")
        pp = "-" if r["qnn_accuracy"] is None else f"{100 * (r['snn_accuracy'] - r['qnn_accuracy']):+.1f}"
        rows.append(
            f"| {r['W']}/{r['S']}/{r['T']} | {r['BB']} | {fcols}{pct(r['qnn_accuracy'])} | {pct(r['snn_accuracy'])} | "
            f"{pp} | {fmt(r['qnn_density'])} | {fmt(r['snn_spike_rate'])} | "
            f"{fmt(r['twin_condition'])} | {r['sace']['S_ACE']:.3g} | {r['sace']['NS_ACE']:.3g} | "
            f"{r['snn_cycles']:.0f} / {r['qnn_cycles']:.0f} | {r['snn_pj']:.0f} / {r['qnn_pj']:.0f} "
            f"({r['snn_pj'] / r['qnn_pj']:.2f}) | {r['model_snn_pj']:.0f} / {r['model_qnn_pj']:.0f} "
            f"({r['model_snn_pj'] / r['model_qnn_pj']:.2f}) |")
    return "\n".join(rows)


def plot(results, files, title):
    labels = [f"{r['W']}/{r['S']}/{r['T']}" for r in results]
    with figure(files, "network.png", size=(10, 4.5)) as ax:
        ax.plot(labels, [r["snn_pj"] / 1e3 for r in results], marker="o", label="SNN chain, measured nJ")
        ax.plot(labels, [r["qnn_pj"] / 1e3 for r in results], marker="s", label="QNN chain, measured nJ")
        acc = ax.twinx()
        series = [("SNN accuracy", "o--", "C2", [r["snn_accuracy"] for r in results]),
                  ("QNN accuracy", "s--", "C3", [r["qnn_accuracy"] for r in results]),
                  ("float accuracy", "^:", "C4", [(float_report(r) or {}).get("accuracy", {}).get("float") for r in results])]
        series = [s for s in series if None not in s[3]] or [      # no labels: how often the twins agree
            ("QNN/SNN class agreement", "o--", "C2", [r["agreement"] for r in results])]
        for name, style, color, values in series:
            acc.plot(labels, [100 * v for v in values], style, color=color, label=f"{name} %")
        acc.set_ylabel("%")
        acc.legend(loc="lower right")
        ax.set(xlabel="allocation W/S/T", ylabel="energy per inference (nJ)", title=f"{title} on generated cores")


def parse_args(argv):
    ap = UsageParser(prog="python -m reports.network", description=__doc__.split("\n\n")[0])
    ap.add_argument("--alloc", nargs="+", metavar="W/S/T", help="allocations (default: digits, W=8 at S*T in "
                    "{4,8}, and W in {1,2,4} at 1/4; mnist, 8/1/4; with --network: the file's, or --W/--S/--T)")
    ap.add_argument("--network", metavar="FILE", help="measure this network (.json from reports.network, or .nir, "
                    "a float graph quantized to W bits) in place of training the digits MLP; on the "
                    "--calibration-data inputs, else on --images seeded random inputs (default 100)")
    for k in ("W", "S", "T"):
        ap.add_argument(f"--{k}", type=int, help=f"with --network: {k} where the file has none (one allocation)")
    add_network_options(ap)
    ap.add_argument("--dataset", choices=sorted(DATASETS), default="digits", help="the image set to train the MLP "
                    "on and measure it on, its 8x8 digits or `sim.datasets`' MNIST subset (default digits)")
    ap.add_argument("--hidden", type=int, help="hidden neurons (default: the set's recipe, digits 64, mnist 128)")
    ap.add_argument("--epochs", type=int, help="training epochs (default: the set's recipe, digits 100, mnist 30)")
    ap.add_argument("--images", type=int, default=0, help="test images through the RTL chains (default 0: all)")
    ap.add_argument("--energy-images", type=int, default=16, help="test images through the gate-level chains (default 16)")
    add_max_lanes_option(ap, "")
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k")
    add_weight_memory_option(ap, "spram (ice40-up5k): the gate-level chains keep their largest layer's weights in "
                             "SPRAM, as the board does, loaded before the images (the load's toggles subtracted); "
                             "default bram")
    ap.add_argument("--coefficients", metavar="FILE.json", help="energy coefficients (default: the family's file)")
    ap.add_argument("--calibration", metavar="FILE.json", help="per-op energies for the analytical model")
    ap.add_argument("--seed", type=int, default=0)
    add_executor_options(ap, "allocations")
    ap.add_argument("--out", default=os.path.join("reports", "out", "network"))
    args = ap.parse_args(argv)
    bits = [option(k) for k in ("W", "S", "T") if k in args.given]
    alone = [option(k) for k in ("W", "S", "T", "calibration_data", "calibration_labels") if k in args.given]
    if args.network is None and alone:
        ap.error(f"{'/'.join(alone)} only with --network (the trained MLP's allocations are --alloc)")
    training = [option(k) for k in ("hidden", "epochs", "dataset") if k in args.given]
    if args.network is not None and training:
        ap.error(f"--network takes the network from the file: drop {'/'.join(training)}")
    if args.alloc and bits:
        ap.error(f"give the allocations as --alloc or as {'/'.join(bits)}, not both")
    return args


def check_chains(net, S, T, args):
    """Before any job: each layer of `net` a legal core at (S, T), with lanes and memories as
    the chains will have them (`Chain.plan`); with --weight-memory spram the largest layer's
    weights must fit the SPRAM."""
    params, memories = Chain.plan(net, S, T, args.max_lanes, args.weight_memory)
    for p, memory in zip(params, memories):
        try:
            if memory is not None:
                memory.check(p)
        except ParamError as e:
            raise ParamError("max_lanes", " ".join(map(str, args.max_lanes)), text="{name} {value} with "
                             "--weight-memory spram: the largest layer, in SPRAM, {why}", why=message(e)) from None


def parse_alloc(text):
    try:
        W, S, T = (int(v) for v in text.split("/"))
    except ValueError:
        raise ParamError("alloc", text, "W/S/T, e.g. 8/1/4", "{name} {value!r}: legal is {legal}") from None
    return W, S, T


def network_jobs(args, base):
    """--network: the file read (a float graph quantized) once per allocation, and the inputs
    to measure on (the calibration data, else seeded random ones), as jobs."""
    from gen.nirgraph import load_network
    jobs = []
    for alloc in [parse_alloc(a) for a in args.alloc] if args.alloc else [(args.W, args.S, args.T)]:
        try:
            net, S, T = load_network(args.network, **(network_bits(args) | dict(zip("WST", alloc))))
        except ParamError as e:
            if args.alloc and e.name in ("W", "S", "T"):
                raise ParamError("alloc", "/".join(map(str, alloc)), text="{name} {value}: {why}", why=e) from None
            raise
        check_chains(net, S, T, args)
        L, n_in = T * (2 ** S - 1), net.weights[0].shape[1] - net.bias_inputs
        if args.calibration_data:
            x = load_float_array("calibration_data", args.calibration_data)
            x_max, inputs = net.quantization["x_max"], f"{len(x)} calibration inputs ({args.calibration_data})"
        else:
            x = np.random.default_rng(args.seed).random((args.images or RANDOM_INPUTS, n_in))
            x_max, inputs = 1.0, f"{len(x)} random inputs (seed {args.seed})"
        labels = args.calibration_labels and load_int_array("calibration_labels", args.calibration_labels).tolist()
        counts = input_counts(x.reshape(len(x), -1), x_max, L, net.bias_inputs, T)
        jobs.append(dict(base, W=net.W, S=S, T=T, counts=counts.tolist(), labels=labels, inputs=inputs, network={
            "file": args.network, "weights": [w.tolist() for w in net.weights], "thresholds": [int(t) for t in net.thresholds],
            "bias_inputs": net.bias_inputs, "quantization": net.quantization}))
    return jobs, f"{os.path.basename(args.network)}, {jobs[0]['inputs']}"


@command("python -m reports.network", usage=(ValueError,))
def main(argv=None):
    args = parse_args(argv)
    for name in ("hidden", "epochs", "energy_images"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            raise ParamError(name, getattr(args, name), ">= 1")
    if args.images < 0:
        raise ParamError("images", args.images, "0 (all) or more")
    load_coefficients(TARGETS[args.target].family, args.coefficients)
    if args.weight_memory == "spram" and args.target != "ice40-up5k":
        raise ParamError("weight_memory", "spram", text="{name} {value} needs --target ice40-up5k")
    cache = os.path.join(args.out, "cache")
    base = dict(images=args.images, energy_images=args.energy_images, max_lanes=args.max_lanes, target=args.target,
                weight_memory=args.weight_memory,
                coefficients=args.coefficients, calibration=args.calibration, seed=args.seed, cache=cache, out=args.out)
    if args.network:
        jobs, title = network_jobs(args, base)
    else:
        data = DATASETS[args.dataset]
        training = {k: getattr(args, k) for k in ("hidden", "epochs") if k in args.given}
        hidden = training.get("hidden", data.recipe["hidden"])
        n_in = data.load(SPLIT_SEED)[0].shape[1]
        allocs = [parse_alloc(a) for a in args.alloc] if args.alloc else ALLOCATIONS[data.name]
        for W, S, T in allocs:       # the MLP's layers, before it is trained
            check_chains(Network([np.zeros((hidden, n_in), np.int64), np.zeros((10, hidden), np.int64)], [1, 1], W),
                         S, T, args)
        jobs = [dict(base, W=W, S=S, T=T, dataset=data.name, training=training) for W, S, T in allocs]
        title = f"{TITLES[data.name]} MLP ({n_in}-{hidden}-10)"
    with executor(args.dask, args.workers) as pool:
        print(f"{len(jobs)} allocations: {'import' if args.network else 'train'}, RTL chains, gate-level chains",
              file=sys.stderr, flush=True)
        results = run_jobs(run_allocation, jobs, pool, os.path.join(cache, "network"), MEASURE_SOURCES + SOURCES,
                           lambda j, r: (f"{r['W']}/{r['S']}/{r['T']}: QNN {pct(r['qnn_accuracy'])}, "
                                         f"SNN {pct(r['snn_accuracy'])}, {r['snn_pj']:.0f} / {r['qnn_pj']:.0f} pJ"))
    text = markdown(results)
    files = {"network.json": json.dumps(results, indent=1), "network.md": f"# {title} on generated cores\n\n{text}\n"}
    plot(results, files, title)
    write_files("out", args.out, files)
    print(text)
    for r in results:
        if float_report(r):
            print(f"{r['W']}/{r['S']}/{r['T']}: the float network against its twins\n{describe(float_report(r))}")
    print(f"written: {args.out}/network.json / .md / .png", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
