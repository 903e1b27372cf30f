"""Float NIR graphs from real producers (issue 17): small IF networks built or trained in
snnTorch, spikingjelly and Norse, exported to NIR, imported and quantized by
`python -m gen.core --network`, and the generated chains checked bit-exact against the twin
of the imported integer network in the Amaranth simulator (tests/test_chain.py's method).
What a core cannot do is refused by name; our own export round-trips through the
producers' NIR importers.

The networks are 16-8-4 (the digits, 2x2-pooled to 16 inputs in 0..1, classes 0..3):
small enough that a chain simulates in seconds."""

import json
import os
import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
snn = pytest.importorskip("snntorch")
snn_utils = pytest.importorskip("snntorch.utils")
norse = pytest.importorskip("norse.torch")
sj_neuron = pytest.importorskip("spikingjelly.activation_based.neuron")
nir = pytest.importorskip("nir")

from snntorch.export_nir import export_to_nir as snntorch_export          # noqa: E402
from snntorch.import_nir import import_from_nir as snntorch_import        # noqa: E402
from spikingjelly.activation_based import functional, layer                # noqa: E402
from spikingjelly.activation_based.nir_exchange import export_to_nir as sj_export, import_from_nir as sj_import  # noqa: E402

from gen import core as gen_core                                             # noqa: E402
from gen.chain import Chain                                                  # noqa: E402
from gen.manifest import chain_id                                            # noqa: E402
from gen.nirgraph import export_nir, import_nir, load_network, read_layers   # noqa: E402
from gen.simulate import run_stream                                          # noqa: E402
from sim.beats import KINDS                                                  # noqa: E402
from sim.evidence import require_evidence                                    # noqa: E402
from sim.datasets import load_digits_split                                  # noqa: E402
from sim.network import Network, encode_spikes                              # noqa: E402
from sim.params import ParamError                                            # noqa: E402
from sim.quantize import float_counts, input_counts                          # noqa: E402

T_TRAIN, CLASSES = 4, 4


def digits():
    """(x, y) train and test: 4x4 mean-pooled digits in 0..1, classes 0..3 only."""
    out = []
    for x, y in zip(*[iter(load_digits_split(0))] * 2):
        keep = y < CLASSES
        pooled = x[keep].reshape(-1, 4, 2, 4, 2).mean(axis=(2, 4)).reshape(-1, 16) / 16
        out += [pooled.astype(np.float32), y[keep]]
    return out


def train(net, step, x, y, epochs=20):
    """Surrogate-gradient training of `net` (step(x) -> output spike counts over T_TRAIN steps)."""
    torch.manual_seed(0)
    opt = torch.optim.Adam(net.parameters(), 5e-3)
    X, Y = torch.tensor(x), torch.tensor(y)
    for _ in range(epochs):
        for idx in torch.randperm(len(X)).split(32):
            loss = torch.nn.functional.cross_entropy(2.0 * step(X[idx]), Y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


def leaky(n, beta=1.0, threshold=None, **kw):
    """snnTorch's Leaky with per-neuron beta and threshold (its exporter's shape inference
    needs arrays); beta = 1 is an IF, exported as a LIF with tau = r = inf."""
    return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n) if threshold is None else threshold,
                     init_hidden=True, reset_mechanism="subtract", **kw)


def snntorch_net(**kw):
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 8), leaky(8, **kw), torch.nn.Linear(8, CLASSES),
                               leaky(CLASSES, output=True, **kw))


def snntorch_counts(net, x):
    snn_utils.reset(net)
    return sum(net(x)[0] for _ in range(T_TRAIN))


def norse_if(n):
    """Norse's IF cell with a per-neuron threshold: with its scalar default the exported graph
    holds 0-d tensors, which nir 1.0.8 cannot write ("Scalar datasets don't support chunk/filter options")."""
    return norse.IAFCell(norse.IAFParameters(v_th=torch.ones(n)))


def sj_net():
    torch.manual_seed(0)
    net = torch.nn.Sequential(layer.Linear(16, 8), sj_neuron.IFNode(v_reset=0.0), layer.Linear(8, CLASSES),
                              sj_neuron.IFNode(v_reset=0.0))
    functional.set_step_mode(net, "m")
    return net


def sj_counts(net, x):
    functional.reset_net(net)
    return net(x.unsqueeze(0).repeat(T_TRAIN, 1, 1)).sum(0)


@pytest.fixture(scope="module")
def data():
    return digits()


@pytest.fixture(scope="module")
def graphs(data, tmp_path_factory):
    """{producer: (NIR file, the producer's own model's test accuracy)}: snnTorch and
    spikingjelly trained, Norse built with the snnTorch weights (it exports Linear as Affine)."""
    x, y, xt, yt = data
    folder, out = tmp_path_factory.mktemp("nir"), {}
    s = snntorch_net()
    train(s, lambda v: snntorch_counts(s, v), x, y)
    j = sj_net()
    train(j, lambda v: sj_counts(j, v), x, y)
    m = norse.SequentialState(torch.nn.Linear(16, 8), norse_if(8), torch.nn.Linear(8, CLASSES), norse_if(CLASSES))
    with torch.no_grad():
        for a, b in ((m[0], s[0]), (m[2], s[2])):
            a.weight.copy_(b.weight)
            a.bias.copy_(b.bias)
        for name, g, acc in (
                ("snntorch", snntorch_export(s, torch.zeros(1, 16), ignore_dims=[0]), snntorch_counts(s, torch.tensor(xt))),
                ("spikingjelly", sj_export(j, torch.zeros(T_TRAIN, 1, 16)), sj_counts(j, torch.tensor(xt))),
                ("norse", norse.to_nir(m, torch.zeros(1, 16)), None)):
            nir.write(folder / f"{name}.nir", g)
            out[name] = (str(folder / f"{name}.nir"),
                         None if acc is None else float((acc.argmax(1).numpy() == yt).mean()))
    np.save(folder / "x.npy", xt)
    np.save(folder / "y.npy", yt)
    return out, str(folder / "x.npy"), str(folder / "y.npy")


def test_producers_learned(graphs):
    """The trained float models classify well (else the comparisons below are weak evidence)."""
    assert graphs[0]["snntorch"][1] >= 0.85 and graphs[0]["spikingjelly"][1] >= 0.85, graphs[0]


def test_our_float_network_is_snntorch_s(graphs, data):
    """sim.quantize's float network (S = 1, reset by subtraction) is snnTorch's own IF
    network: the same output spike counts on the test set as snnTorch computes in torch."""
    path = graphs[0]["snntorch"][0]
    s = snntorch_net()
    # the graph holds the trained weights: load them back into a fresh snnTorch model to run it
    layers = read_layers(nir.read(path))
    with torch.no_grad():
        for mod, l in ((s[0], layers[0]), (s[2], layers[1])):
            mod.weight.copy_(torch.tensor(l.weight))
            mod.bias.copy_(torch.tensor(l.bias))
        theirs = snntorch_counts(s, torch.tensor(data[2])).numpy()
    ours = float_counts(layers, data[2].astype(np.float64), 1, T_TRAIN)[-1]
    assert (ours == theirs).mean() >= 0.995      # float32 in torch, float64 here: rare ties at the threshold


def check_chains(net, S, T, x, manifest):
    """The SNN and QNN chains of `net` (the ones the manifest names) bit-exact with the twin
    network on the first inputs of x, every layer's expected outputs firing mid-range."""
    L = T * (2 ** S - 1)
    counts = input_counts(x[:12], net.quantization["x_max"], L, net.bias_inputs, T)
    spikes = encode_spikes(counts, T)
    for kind, inputs, expected in (("snn", spikes, net.snn(spikes, S)[0]), ("qnn", counts, net.qnn(counts, L))):
        top = 2 ** S - 1 if kind == "snn" else L
        for i, (layer_out, info) in enumerate(zip(expected[1:], net.quantization["layers"])):
            real = layer_out[..., :layer_out.shape[-1] - info["relays"]]       # relays fire always: no evidence
            require_evidence(real, top, f"{kind} layer {i}")
        chain = Chain.for_network(kind, net, S, T)
        assert f"{chain_id(chain):016x}" == manifest["modules"][kind]["id"]     # the generated chain
        k = KINDS[kind]
        outs, _, _ = run_stream(chain, k.encode(inputs, S, T), None, idle=0.1, backpressure=0.2)
        got, _ = k.decode(outs, net.weights[-1].shape[0], S, T)
        assert np.array_equal(got, expected[-1].reshape(got.shape)), f"{kind} chain differs from the twin"


@pytest.mark.parametrize("producer", ["snntorch", "spikingjelly", "norse"])
def test_float_graph_to_cores_bit_exact(producer, graphs, tmp_path, capsys):
    files, x, y = graphs
    path = files[producer][0]
    W, S, T = 6, 2, 2
    argv = ["--network", path, "--W", str(W), "--S", str(S), "--T", str(T), "--calibration-data", x,
            "--calibration-labels", y, "--out", str(tmp_path), "--name", "net"]
    assert gen_core.main(argv) == 0
    printed = capsys.readouterr().out
    assert "accuracy  float" in printed and "quantized float inputs" in printed
    manifest = json.loads((tmp_path / "net.json").read_text())
    report = manifest["quantization"]["report"]
    acc = report["accuracy"]
    assert acc["qnn"] >= acc["float"] - 0.1 and acc["snn"] >= acc["float"] - 0.1, report
    assert manifest["bias_inputs"] >= 1 and os.path.exists(tmp_path / "net.v") and os.path.exists(tmp_path / "net_qnn.v")
    net, S2, T2 = load_network(path, W=W, S=S, T=T, calibration=x, labels=y)
    assert (S2, T2) == (S, T) and net.quantization["report"] == report
    check_chains(net, S, T, np.load(x), manifest)


def test_bias_is_built_exactly(graphs):
    """The always-on inputs and relays add exactly the rounded bias per step: the integer
    network's first-layer drive equals q @ n + T * round(b / (step * u)) from the weights and
    bias of the graph, computed here without sim.quantize's construction."""
    path, x = graphs[0]["snntorch"][0], np.load(graphs[1])
    W, S, T = 8, 1, 4
    net, _, _ = load_network(path, W=W, S=S, T=T, calibration=graphs[1])
    l0, l1 = read_layers(nir.read(path))
    info = net.quantization["layers"]
    counts = input_counts(x, net.quantization["x_max"], T, net.bias_inputs, T)
    for l, inputs, theta, q, i in ((l0, counts, net.thresholds[0], net.weights[0], 0),
                                   (l1, net.qnn(counts, T)[1], net.thresholds[1], net.weights[1], 1)):
        step, unit = info[i]["weight_step"], info[i]["input_unit"]
        n_in = l.weight.shape[1]
        wq = np.clip(np.round(l.weight / step), -128, 127)
        assert np.array_equal(q[:l.weight.shape[0], :n_in], wq)
        expected = np.clip((inputs[:, :n_in] @ wq.T + T * np.round(l.bias / (step * unit))) // theta, 0, T)
        assert np.array_equal(net.qnn(counts, T)[i + 1][:, :l.weight.shape[0]], expected)
    relays = net.qnn(counts, T)[1][:, l0.weight.shape[0]:]        # layer 1's always-on inputs
    assert relays.shape[1] >= 1 and (relays == T).all()
    assert (net.snn(encode_spikes(counts, T), S)[0][1][..., l0.weight.shape[0]:] == 1).all()


LEAK = "a core's neurons integrate and fire without leak"


@pytest.mark.parametrize("make, message", [
    (lambda: snntorch_export(snntorch_net(beta=0.9), torch.zeros(1, 16), ignore_dims=[0]),
     "'0' must be followed by an IF node (or a LIF without leak), but '1' is a LIF with leak tau=[0.0009999"),
    (lambda: snntorch_export(torch.nn.Sequential(torch.nn.Linear(16, 3), leaky(3, threshold=torch.tensor([1.0, 2.0, 1.0]))),
                             torch.zeros(1, 16), ignore_dims=[0]),
     "node '1': one positive threshold per layer is needed, got [1.0, 2.0]"),
    (lambda: sj_export(_sj_conv(), torch.zeros(1, 1, 1, 4, 4)), "is a Conv2d: a core is one dense layer"),
    (lambda: norse.to_nir(norse.SequentialState(torch.nn.Linear(16, 3), norse.LIFBoxCell()), torch.zeros(1, 16)),
     "'1' is a LIF with leak tau=[1.0000000656873453e-05]"),
    (lambda: snntorch_export(torch.nn.Sequential(torch.nn.Linear(16, 3), snn.RLeaky(beta=torch.ones(3), linear_features=3,
                                                                                     init_hidden=True)),
                             torch.zeros(1, 16), ignore_dims=[0]),
     "node '1.lif' feeds more than one node: only a chain of layers maps onto cores"),
], ids=["snntorch-leak", "snntorch-thresholds", "spikingjelly-conv", "norse-leak", "snntorch-recurrent"])
def test_what_a_core_cannot_do_is_refused_by_name(make, message):
    with pytest.raises(ParamError, match=re.escape(message)):
        import_nir(make(), W=8)


def _sj_conv():
    net = torch.nn.Sequential(layer.Conv2d(1, 2, 3), sj_neuron.IFNode(v_reset=0.0))
    functional.set_step_mode(net, "m")
    return net


def our_network():
    rng = np.random.default_rng(3)
    return Network([rng.integers(-7, 8, (5, 6)), rng.integers(-7, 8, (3, 5))], [9, 6], 4)


def same(a, b):
    return a.thresholds == b.thresholds and all(np.array_equal(u, v) for u, v in zip(a.weights, b.weights))


def imported(module, kinds):
    return [m for m in module.modules() if isinstance(m, kinds)]


def test_our_export_imports_into_each_producer(tmp_path):
    """spikingjelly's, Norse's and snnTorch's NIR importers take our exported graph with its
    weights and thresholds. (None of their imported models re-exports: each wraps the nodes
    in modules that torch.fx cannot trace.) spikingjelly makes our IF an IFNode (r = 1/dt:
    imported with dt = 1), Norse an IAFCell; snnTorch 1.0.0 makes it a Leaky with beta = 0.9,
    i.e. with a leak, which such a model re-exported would be refused for (test above)."""
    net = our_network()
    export_nir(net, tmp_path / "ours.nir", S=1, T=4)
    graph = nir.read(tmp_path / "ours.nir")
    for module, neuron, threshold in ((sj_import(graph, dt=1.0), sj_neuron.IFNode, lambda m: m.v_threshold),
                                      (norse.from_nir(graph), norse.IAFCell, lambda m: m.p.v_th),
                                      (snntorch_import(graph), snn.Leaky, lambda m: m.threshold)):
        linears = imported(module, torch.nn.Linear)
        assert [l.weight.detach().numpy().tolist() for l in linears] == [w.tolist() for w in net.weights]
        assert [float(torch.as_tensor(threshold(m)).flatten()[0]) for m in imported(module, neuron)] == net.thresholds
    assert [float(m.beta) for m in imported(snntorch_import(graph), snn.Leaky)] == pytest.approx([0.9, 0.9])
