"""Formal proofs by SymbiYosys (reports.formal, gen.formal, boards.formal): every property
proven on one small configuration per core, the frame receiver proven, and mutants (the
cocotb regression's and one per property class) that must make a proof fail.

The configurations are the smallest that still exercise each property (a negative weight,
firing, a membrane carried across T = 2 steps; the QNN's L = 2 < 2**B - 1 = 3 shows the
clamp): the whole file takes about a minute on one core."""

import json
import subprocess
import sys
from functools import partial

import numpy as np
import pytest
from amaranth.hdl import ResetSignal, Signal

from boards.formal import ReceiverHarness
from boards.link import FrameReceiver
from gen.formal import PROPERTIES, Harness
from gen.priority import HeldChunkQueue
from gen.qnn import QNNCore
from gen.snn import SNNCore
from reports.formal import chain_of, run
from sim.beats import KINDS
from sim.params import CoreParams
from test_verilog import (DividerStepOrder, LastOffByOne, QnnClampOffByOne, QnnGroupOffByOne, QnnZeroNotSkipped,
                          ResetToZero, UnsignedWeights)

SMALL = CoreParams(2, 1, 2, 3, 1)           # W=2 S=1 T=2, 3 inputs, 1 neuron
WEIGHTS = np.array([[1, 1, -2]])            # fires above the threshold (a residual is kept), and goes negative
CORES = {"snn": SNNCore, "qnn": QNNCore}


def depth(kind, p, prop="twin"):
    """reports.formal's depths: one worst-case beat (+2 for the latency timer)."""
    return KINDS[kind].beat_cycles(p) + (3 if prop == "latency" else 1)


def prove(core, prop, mode="prove", k=None):
    status, _, vcd = run(Harness(core, prop), mode, k or depth(core.kind, core.params, prop))
    return status, vcd


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_every_property_proven(kind):
    for prop in PROPERTIES:
        assert prove(CORES[kind](SMALL, WEIGHTS), prop)[0] == "pass", prop
    assert prove(CORES[kind](SMALL, WEIGHTS), "latency", "cover")[0] == "pass", "latency bound never attained"


@pytest.mark.parametrize("kind", ["snn", "qnn"])
def test_every_property_proven_with_the_large_beat_queue(kind):
    """The event queue of large beats (gen.priority.LARGE_BEAT), in chunks of 2: SMALL's 3
    slots are 2 chunks. It reads the beat in place and the core takes the beat late
    (`holds_beat`); k-induction takes the queue's invariants (`HeldChunkQueue.invariants`)."""
    core = type("LargeBeat", (CORES[kind],), {"event_queue": staticmethod(partial(HeldChunkQueue, chunk=2))})
    for prop in PROPERTIES:
        dut = core(SMALL, WEIGHTS)
        assert dut.holds_beat
        assert prove(dut, prop)[0] == "pass", prop
    assert prove(core(SMALL, WEIGHTS), "latency", "cover")[0] == "pass", "latency bound never attained"


def test_chain_twin_bounded():
    """A chain of two W=1 cores, 1 -> 1 -> 1, from reset through a whole inference (bmc, as the CLI)."""
    p = CoreParams(1, 1, 2, 1, 1)
    beat = KINDS["snn"].beat_cycles(p)
    assert run(Harness(chain_of("snn", p, 2), "twin"), "bmc", p.T * beat + beat + 2)[0] == "pass"   # weights +1, +1


def test_receiver_proven():
    assert run(ReceiverHarness(), "prove", 16)[0] == "pass"


# ---- mutants of the property classes the cocotb regression's mutants do not cover ----
class DroppingOutput(SNNCore):
    """Mutant (stream): an output beat not taken at once is withdrawn."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        with m.If(self.stream_out.valid & ~self.stream_out.ready):
            m.d.sync += self.observe.out_valid.eq(0)
        return m


class ResetKeepsOutput(QNNCore):
    """Mutant (reset): a beat firing when the reset came is still offered after it."""

    def elaborate(self, platform):
        m = super().elaborate(platform)
        firing = Signal(reset_less=True)
        m.d.sync += firing.eq(ResetSignal() & self.observe.fire)
        with m.If(firing):
            m.d.comb += self.stream_out.valid.eq(1)
        return m


class NarrowParams(CoreParams):
    @property
    def acc_width(self):
        return super().acc_width - 1


class NarrowMembrane(SNNCore):
    """Mutant (overflow): the membrane is one bit narrower than the legal inputs need."""

    def __init__(self, params, weights):
        super().__init__(NarrowParams(**params.as_dict()), weights)


class TakenEarly(SNNCore):
    """Mutant (twin): the large beats' queue reads the beat in place, but the core takes it
    at once, so the source may change it while its events are handed out."""

    class Queue(HeldChunkQueue):
        holds_beat = False

        def __init__(self, slots, data_bits=0):
            super().__init__(slots, data_bits, chunk=2)

    event_queue = Queue


class LateTimeout(FrameReceiver):
    """Mutant (receiver): the inter-byte timeout is two cycles longer than the protocol's."""

    def __init__(self, lengths, timeout, **kwargs):
        super().__init__(lengths, timeout + 2, **kwargs)


# (mutant, parameters, weights, the property it must fail, bmc depth in beats); the regression's
# mutants need S = 2 (the divider's bit order), two neuron groups (group off by one); the
# narrow membrane overflows on the second beat of an inference, so its base case needs two
S2 = CoreParams(2, 2, 2, 2, 1)
GROUPS = CoreParams(2, 1, 1, 2, 2, 1)
MIN = lambda p: np.full((p.n_out, p.n_in), p.w_min)
MUTANTS = [
    (ResetToZero, SMALL, WEIGHTS, "twin"),
    (LastOffByOne, SMALL, WEIGHTS, "beats"),
    (DividerStepOrder, S2, np.array([[1, 1]]), "twin"),
    (UnsignedWeights, SMALL, WEIGHTS, "twin"),
    (QnnClampOffByOne, SMALL, np.array([[1, 1, 1]]), "twin"),
    (QnnZeroNotSkipped, SMALL, WEIGHTS, "latency"),
    (QnnGroupOffByOne, GROUPS, np.array([[1, -2], [-1, 1]]), "twin"),
    (DroppingOutput, SMALL, WEIGHTS, "stream"),
    (ResetKeepsOutput, SMALL, WEIGHTS, "reset"),
    (NarrowMembrane, SMALL, MIN(SMALL), "overflow", 2),
    (TakenEarly, SMALL, WEIGHTS, "twin"),
]


@pytest.mark.parametrize("mutant, params, weights, prop, beats", [m + (1,) * (5 - len(m)) for m in MUTANTS],
                         ids=[m[0].__name__ for m in MUTANTS])
def test_mutant_fails_its_proof(mutant, params, weights, prop, beats):
    core = mutant(params, weights)
    status, vcd = prove(core, prop, k=beats * depth(core.kind, params, prop))
    assert status == "fail", f"{mutant.__name__} was not caught by {prop}: {status}"
    assert vcd and vcd.startswith(b"$"), "no counterexample trace"


def test_receiver_mutant_fails():
    status, _, vcd = run(ReceiverHarness(receiver=LateTimeout), "prove", 16)
    assert status == "fail" and vcd


def test_cli_report_and_counterexample(tmp_path, capsys, monkeypatch):
    from reports import formal
    argv = ["--W", "1", "--S", "1", "--T", "1", "--n-in", "1", "--n-out", "1", "--kind", "snn", "--targets", "core",
            "--props", "stream", "--out", str(tmp_path)]
    assert formal.main(argv) == 0
    report = json.loads((tmp_path / "formal" / "bb_w1s1t1_1x1.json").read_text())
    assert [(r["property"], r["method"], r["status"]) for r in report["results"]] == [("stream", "prove", "pass")]
    monkeypatch.setitem(formal.CORES, "snn", DroppingOutput)
    assert formal.main(argv) == 1
    out = capsys.readouterr().out
    vcd = tmp_path / "formal" / "bb_w1s1t1_1x1_snn_stream.vcd"
    assert "fail" in out and str(vcd) in out and vcd.read_bytes().startswith(b"$")


def test_cli_usage_error_is_one_line():
    done = subprocess.run([sys.executable, "-m", "reports.formal", "--W", "0"], capture_output=True, text=True)
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
