"""Hostile and careless input to every entry point (issue 16): each bad input is refused
with exit status 2 and one line naming the option or file and what is wrong, no
traceback, and nothing written. The table runs each main in-process; every case is
refused before any synthesis, simulation or core generation starts, so it is cheap."""

import json
import os

import numpy as np
import pytest

from gen import core as gen_core
from boards import flash, host
from boards.fuzz import main as fuzz_main
from reports import budget, power, synth, twin
from reports.network import main as network_main
from sim.energy import __main__ as energy

nir = pytest.importorskip("nir")
h5py = pytest.importorskip("h5py")

CORE = ["--W", "4", "--S", "1", "--T", "2", "--n-in", "3", "--n-out", "2"]
HOST = ["--sim", "--W", "4", "--S", "1", "--T", "2", "--n-in", "3", "--n-out", "2"]


# --- bad files, each written by a maker into the test's folder ---------------------------

def npy(array, **kw):
    def make(path):
        np.save(path, array, **kw)
    return make


def raw(data):
    def make(path):
        with open(path, "wb") as f:
            f.write(data)
    return make


def truncated(path):
    np.save(path, np.zeros((2, 3), np.int64))
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) - 8)


def npz(path):
    with open(path, "wb") as f:
        np.savez(f, w=np.zeros((2, 3), np.int64))


def text(s):
    return raw(s.encode())


def network(W=4, S=1, T=2, weights=((1, -2, 3), (0, 1, -1)), threshold=5):
    """Our network JSON, written as text so that floats, 2**70 and Infinity reach the file."""
    rows = ", ".join("[" + ", ".join(str(v) for v in row) + "]" for row in weights)
    return text(f'{{"W": {W}, "S": {S}, "T": {T}, "layers": [{{"weights": [{rows}], "threshold": {threshold}}}]}}')


W2, IF2 = np.array([[1.0, -2.0, 3.0], [0.0, 1.0, -1.0]]), nir.IF(r=np.ones(2), v_threshold=np.full(2, 5.0), v_reset=np.zeros(2))


def nir_graph(edges=None, meta=None, weight=W2):
    nodes = {"input": nir.Input(input_type={"input": np.array([weight.shape[1]])}), "fc": nir.Linear(weight=weight), "if": IF2,
             "output": nir.Output(output_type={"output": np.array([2])})}
    return nodes, edges or [("input", "fc"), ("fc", "if"), ("if", "output")], {"W": 4, "S": 1, "T": 2} if meta is None else meta


def nir_file(**kw):
    def make(path):
        nodes, edges, meta = nir_graph(**kw)
        nir.write(path, nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta, type_check=False))
    return make


def float_nir(tau=np.inf, x=None, y=None):
    """A float graph as snnTorch writes it (Affine with bias, leak-free LIF: tau = r = inf, no
    metadata), at `path`; with `x` (`y`), the maker writes that array to `path` and the graph
    to f.nir beside it (a calibration file is the bad one)."""
    def make(path):
        graph = nir.NIRGraph(nodes={
            "input": nir.Input(input_type={"input": np.array([3])}),
            "fc": nir.Affine(weight=W2 * 0.3, bias=np.array([0.1, -0.2])),
            "if": nir.LIF(tau=np.full(2, tau), r=np.full(2, tau), v_leak=np.zeros(2), v_threshold=np.ones(2)),
            "output": nir.Output(output_type={"output": np.array([2])})},
            edges=[("input", "fc"), ("fc", "if"), ("if", "output")])
        if x is None:
            nir.write(path, graph)
            return
        nir.write(path.parent / "f.nir", graph)
        np.save(path.parent / "x.npy", x)
        if y is not None:
            np.save(path, y)
    return make


def nir_edited(edges=None, n_in=None):
    """A NIR file whose edges or input size were changed after writing (nir itself refuses
    to build such a graph, but a file from elsewhere can hold one)."""
    def make(path):
        nir_file()(path)
        with h5py.File(path, "r+") as f:
            if edges is not None:
                del f["node/edges"]
                f["node/edges"] = np.array(edges, dtype="S")
            if n_in is not None:
                f["node/nodes/input/shape"][...] = [n_in]
    return make


def hdf5_not_nir(path):
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def make_file(maker, tmp_path, name):
    path = tmp_path / name
    maker(path)
    return str(path)


# --- the table: (main, argv with {f} for the bad file, the file's name and maker, words) -----

CASES = [
    # gen.core: network JSON values that used to be truncated, or raised
    (gen_core.main, ["--network", "{f}"], "n.json", network(weights=((-0.3, 0.7, 4.7), (7.7, 0, 0))),
     "layer 0 weights[0, 0] is -0.3: legal is an integer"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(threshold=5.9), "layer 0 threshold is 5.9"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(W=4.9), "W is 4.9: legal is an integer in 1..16"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(T=2.5), "T is 2.5"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(weights=((2 ** 70, 0, 0), (0, 0, 0))),
     f"is {2 ** 70}: legal is an integer"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(threshold="Infinity"), "Infinity is not a number JSON allows"),
    (gen_core.main, ["--network", "{f}"], "n.json", network(W="NaN"), "NaN is not a number JSON allows"),
    (gen_core.main, ["--network", "{f}"], "n.json", text("[1, 2]"), "not a network file"),
    (gen_core.main, ["--network", "{f}", "--n-in", "3"], "n.json", network(), "drop --n-in"),
    (gen_core.main, ["--network", "{f}", "--seed=4", "--lanes", "1"], "n.json", network(), "drop --lanes/--seed"),
    # gen.core: NIR files
    (gen_core.main, ["--network", "{f}"], "n.nir", nir_edited(n_in=5),
     "the Input node 'input' has shape [5], but the first layer 'fc' takes 3 inputs"),
    (gen_core.main, ["--network", "{f}"], "n.nir", nir_edited(edges=[("input", "fc"), ("fc", "ghost"), ("if", "output")]),
     "an edge of the NIR graph leads to 'ghost', which is not a node"),
    (gen_core.main, ["--network", "{f}"], "n.nir",
     nir_file(edges=[("input", "fc"), ("fc", "if"), ("if", "fc")], weight=np.eye(2)),
     "a cycle through node 'fc'"),
    (gen_core.main, ["--network", "{f}"], "n.nir", hdf5_not_nir, "not a NIR graph nir can read"),
    (gen_core.main, ["--network", "{f}"], "n.nir", nir_file(meta={"W": "abc"}), "metadata W is 'abc'"),
    (gen_core.main, ["--network", "{f}"], "n.nir", text("not hdf5"), "not a NIR file"),
    # gen.core: float NIR graphs (issue 17): W/S/T against the file, leaks, calibration files
    (gen_core.main, ["--network", "{f}", "--W", "8"], "n.nir", nir_file(), "--W 8 disagrees with {f}, which has W=4"),
    (gen_core.main, ["--network", "{f}", "--T", "3"], "n.nir", nir_file(), "--T 3 disagrees with {f}, which has T=2"),
    (gen_core.main, ["--network", "{f}", "--W", "17"], "f.nir", float_nir(), "--W 17 is out of range: legal is 1..16"),
    (gen_core.main, ["--network", "{f}", "--W", "8"], "f.nir", float_nir(tau=0.01),
     "'if' is a LIF with leak tau=[0.01], v_leak=[0.0]: a core's neurons integrate and fire without leak"),
    (gen_core.main, ["--network", "{f}", "--W", "1"], "f.nir", float_nir(), "node 'fc' has a bias: W=1 weights"),
    (gen_core.main, ["--network", "f.nir", "--W", "8", "--calibration-data", "{f}"], "x.npy",
     float_nir(x=np.full((4, 3), np.nan)), "--calibration-data {f}: holds NaN or infinite values"),
    (gen_core.main, ["--network", "f.nir", "--W", "8", "--calibration-data", "{f}"], "x.npy",
     float_nir(x=np.ones(4)), "--calibration-data {f}: has dtype float64 and shape (4,)"),
    (gen_core.main, ["--network", "f.nir", "--W", "8", "--calibration-data", "{f}"], "x.npy",
     float_nir(x=np.ones((4, 5))), "calibration data has 5 values per input, the first layer 'fc' takes 3"),
    (gen_core.main, ["--network", "f.nir", "--W", "8", "--calibration-data", "x.npy", "--calibration-labels", "{f}"],
     "y.npy", float_nir(x=np.ones((4, 3)), y=np.zeros(3, np.int64)), "needs --calibration-data and one label per input"),
    (gen_core.main, ["--network", "{f}", "--W", "8", "--calibration-data", "x.npy"], "n.json", network(),
     "--calibration-data x.npy: only for a float NIR graph"),
    # gen.core: --weights files
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", raw(b""), "the file is empty"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", truncated, "not a readable .npy array"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", npz, "an .npz archive"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", npy(np.array([["a", "b", "c"]] * 2)), "dtype <U1"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", npy(np.full((2, 3), np.nan)), "dtype float64"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", npy(np.array([[1, 2, 3], [4, 5, None]], object)),
     "not a readable .npy array"),
    (gen_core.main, CORE + ["--weights", "{f}"], "w.npy", npy(np.full((2, 3), 2 ** 64 - 1, np.uint64)),
     f"value {2 ** 64 - 1} does not fit a signed 64-bit integer"),
    # sim.energy
    (energy.main, ["--hops", "nan"], None, None, "--hops nan is out of range"),
    (energy.main, ["--reuse-qnn", "inf"], None, None, "--reuse-qnn inf is out of range"),
    (energy.main, ["--calibration", "{f}"], "c.json", text("[1]"), "the top level is a list"),
    (energy.main, ["--calibration", "{f}"], "c.json", text("3"), "the top level is a int"),
    (energy.main, ["--calibration", "{f}"], "c.json", text("null"), "the top level is a NoneType"),
    (energy.main, ["--calibration", "{f}"], "c.json", text('{"E_ACC": "abc"}'), "E_ACC is 'abc': legal is a finite number"),
    (energy.main, ["--calibration", "{f}"], "c.json", text('{"E_ACC": NaN}'), "NaN is not a number JSON allows"),
    (energy.main, ["--calibration", "{f}"], "c.json", text('{"E_MAC": {"1": null}}'), "E_MAC[1] is None"),
    (energy.main, ["sace", "--layers", "{f}"], "l.json", text('[{"macs": -5, "W": 8, "S": 1, "T": 2, "rate": 0.1}]'),
     "layer 0: macs is -5: legal is a finite number >= 0"),
    (energy.main, ["sace", "--layers", "{f}"], "l.json", text('[{"macs": 5, "W": 8, "S": 0, "T": 2, "rate": 0.1}]'),
     "layer 0: S is 0: legal is an integer >= 1"),
    (energy.main, ["sace", "--layers", "{f}"], "l.json", text('[{"macs": 5, "W": 8, "S": 1, "T": 4.5, "rate": 0.1}]'),
     "layer 0: T is 4.5"),
    (energy.main, ["sace", "--layers", "{f}"], "l.json", text('{"macs": 5}'), "layers are a dict"),
    # reports.synth and reports.power
    (synth.main, CORE + ["--freq", "0"], None, None, "--freq 0.0 is out of range: legal is a finite clock in MHz > 0"),
    (synth.main, CORE + ["--freq", "nan"], None, None, "--freq nan is out of range"),
    (synth.main, CORE + ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    (synth.main, CORE + ["--out", "{f}"], "afile", text(""), "not a directory"),
    (power.main, CORE + ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    # every parser checks its --seed (sim.cli.UsageParser), also where no core option is
    (budget.main, ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    (twin.main, ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    (network_main, ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    # reports.network --network (issue 17): W/S/T as gen.core, calibration files, training options
    (network_main, ["--network", "{f}", "--T", "3"], "n.nir", nir_file(), "--T 3 disagrees with {f}, which has T=2"),
    (network_main, ["--network", "{f}", "--alloc", "4/1/2", "8/1/2"], "n.nir", nir_file(),
     "--alloc 8/1/2: W 8 disagrees with {f}, which has W=4"),
    (network_main, ["--network", "{f}", "--alloc", "4/1/2", "--W", "4"], "n.nir", nir_file(),
     "give the allocations as --alloc or as --W, not both"),
    (network_main, ["--network", "{f}", "--S", "1"], "f.nir", float_nir(), "no W in its metadata"),
    (network_main, ["--network", "{f}", "--W", "8", "--hidden", "8"], "f.nir", float_nir(), "drop --hidden"),
    (network_main, ["--calibration-data", "{f}"], "x.npy", npy(np.ones((4, 3))), "--calibration-data only with --network"),
    (network_main, ["--W", "8", "--calibration-labels", "y.npy"], None, None, "--W/--calibration-labels only with --network"),
    (network_main, ["--network", "f.nir", "--W", "8", "--calibration-data", "{f}"], "x.npy",
     float_nir(x=np.full((4, 3), np.nan)), "--calibration-data {f}: holds NaN or infinite values"),
    (network_main, ["--network", "f.nir", "--W", "8", "--calibration-data", "x.npy", "--calibration-labels", "{f}"],
     "y.npy", float_nir(x=np.ones((4, 3)), y=np.zeros(3, np.int64)), "needs --calibration-data and one label per input"),
    (network_main, ["--network", "{f}", "--calibration-data", "x.npy"], "n.json", network(),
     "--calibration-data x.npy: only for a float NIR graph"),
    (network_main, ["--network", "{f}"], "n.json", network(W=4.9), "W is 4.9"),
    (power.main, CORE + ["--out", "{f}"], "afile", text(""), "not a directory"),
    (power.main, CORE + ["--coefficients", "{f}"], "c.json", text('{"per_toggle": {}}'), 'per_toggle has no "other" entry'),
    (power.main, CORE + ["--coefficients", "{f}"], "c.json",
     text('{"per_toggle": {"other": {"value": NaN}}, "clock_per_cycle": {"value": 1}, "bram_per_read": {"value": 1}}'),
     "NaN is not a number JSON allows"),
    (power.main, CORE + ["--coefficients", "{f}"], "c.json",
     text('{"per_toggle": {"other": {"value": "x"}}, "clock_per_cycle": {"value": 1}, "bram_per_read": {"value": 1}}'),
     "per_toggle.other.value is 'x'"),
    (power.main, CORE + ["--coefficients", "{f}"], "c.json", text("[]"), "not a coefficient file"),
    # boards.flash
    (flash.main, ["--build-only", "--seed", "-1"], None, None, "--seed -1 is out of range"),
    (flash.main, ["--build-only", "--baud", "10000000"], None, None, "--baud 10000000 is out of range: legal is 1200..3000000"),
    (flash.main, ["--build-only", "--board", "sys:exit"], None, None, "--board 'sys:exit': legal is"),
    (flash.main, ["--build-only", "--board", "amaranth_boards.arty_a7:ArtyA7_35Platform"], None, None,
     "its Vivado toolchain is not available here"),
    (flash.main, ["--build-only", "--out", "{f}"], "afile", text(""), "--out {f}: not a directory"),
    (flash.main, ["--build-only", "--network", "{f}"], "n.json", network(W=4.9), "W is 4.9"),
    (flash.main, ["--build-only", "--network", "{f}", "--W", "8"], "n.json", network(),
     "--W 8 disagrees with {f}, which has W=4"),
    (flash.main, ["--build-only", "--network", "{f}", "--n-in", "8"], "n.json", network(), "sets n_in=3; drop --n-in 8"),
    (flash.main, ["--build-only", "--network", "{f}", "--S", "1", "--T", "2"], "f.nir", float_nir(), "no W in its metadata"),
    # boards.host
    (host.main, HOST + ["--seed", "-1"], None, None, "--seed -1 is out of range"),
    (host.main, HOST + ["--sim-divisor", "3"], None, None, "--sim-divisor 3 is out of range: legal is an integer >= 4"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", raw(b""), "--inputs {f}: not a readable .npy array (the file is empty)"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", truncated, "not a readable .npy array"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", npz, "an .npz archive"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", npy(np.array(["x"])), "dtype <U1"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", npy(np.full((1, 2, 3), np.nan)), "dtype float64"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", npy(np.array([None]), allow_pickle=True), "not a readable .npy array"),
    (host.main, HOST + ["--inputs", "{f}"], "i.npy", npy(np.full((1, 2, 3), 2 ** 64 - 1, np.uint64)), "does not fit"),
]


def tree(root):
    return {os.path.join(d, f): os.path.getmtime(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs} | \
        {d: None for d, _, _ in os.walk(root)}


def exit_status(main, argv):
    try:
        return main(argv)
    except SystemExit as e:
        return e.code


@pytest.mark.parametrize("main, argv, name, maker, words", CASES,
                         ids=[f"{c[0].__module__.split('.')[-1] if c[0].__module__ != 'sim.energy.__main__' else 'energy'}"
                              f"-{i}-{c[4][:40]}" for i, c in enumerate(CASES)])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(main, argv, name, maker, words, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)     # default output folders (rtl/, reports/out, build/boards) land here
    f = make_file(maker, tmp_path, name) if maker else None
    argv = [a.replace("{f}", f) if f else a for a in argv]
    if main not in (energy.main, host.main) and "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    before = tree(tmp_path)
    assert exit_status(main, argv) == 2
    err = capsys.readouterr().err
    words = words.replace("{f}", f or "")
    assert words in err and err.count("\n") == 1 and "Traceback" not in err, err
    assert tree(tmp_path) == before


# --- the same classes at the library level, and what must still work --------------------

def test_a_valid_nir_file_is_read_whatever_its_name(tmp_path, capsys):
    from gen.nirgraph import load_network
    nir_file()(tmp_path / "n.h5")
    net, S, T = load_network(str(tmp_path / "n.h5"))
    assert net.W == 4 and (S, T) == (1, 2) and net.weights[0].tolist() == W2.astype(int).tolist()
    assert net.thresholds == [5]


def test_integer_json_networks_still_load(tmp_path):
    from gen.nirgraph import load_json
    network()(tmp_path / "n.json")
    net, S, T = load_json(str(tmp_path / "n.json"))
    assert (net.W, S, T) == (4, 1, 2) and net.weights[0].tolist() == [[1, -2, 3], [0, 1, -1]] and net.thresholds == [5]


def test_uint64_weights_in_range_are_accepted(tmp_path):
    from sim.validate import load_int_array
    np.save(tmp_path / "w.npy", np.array([[0, 7]], np.uint64))
    assert load_int_array("weights", str(tmp_path / "w.npy")).tolist() == [[0, 7]]


def test_calibration_keeps_what_is_legal(tmp_path):
    from sim.energy import load_calibration
    (tmp_path / "c.json").write_text(json.dumps({"E_ACC": 0, "E_MAC": {"2": 1}, "source": "bench"}))
    ops = load_calibration(str(tmp_path / "c.json"))
    assert ops.E_ACC == 0 and ops.mac(2) == 1 and ops.source == "bench"


def test_the_fuzz_refuses_a_negative_seed(capsys):
    """boards.fuzz has no --out (the table above passes one): its --seed alone."""
    with pytest.raises(SystemExit) as exit:
        fuzz_main(["--seed", "-1"])
    assert exit.value.code == 2
    assert capsys.readouterr().err == "python -m boards.fuzz: error: --seed -1 is out of range: legal is an integer >= 0\n"
