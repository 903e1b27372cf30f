"""cocotb test module: replays a case file (JSON, path in `BB_CASE`) on a core's emitted
Verilog or a synthesized netlist of it, and writes what it saw to the case's `report` file.
The runner picks one test by name:

* `regression` (cases from tests/hdl_regression.py): phases run back to back on one DUT
  without a reset in between, under idle gaps and backpressure, every output beat scored
  against the twin here; a phase with `cycles` (no idle, no backpressure) also checks the
  cycles between consecutive output handshakes against the manifest formula. A phase with
  `abort` sends its beats, resets the DUT while its FSM is in that state and drops
  whatever came out of the half-done inference. Before each reset and at the end the sink
  drains `drain_cycles` more cycles, ready high, and the output beats must number the
  input beats exactly. Reports beats compared and the FSM states and transitions seen.
  A case with `load` (a core whose weights are in SPRAM, `gen.spram`) first writes those
  words through the core's `load` port, one per cycle from address 0, after the reset.
* `vectors` (the SPRAM cell's own test, tests/test_spram.py): a bare cell clocked on
  `clock`; each cycle's `inputs` (port -> value) are applied at the falling edge, and
  the `outputs` read after the next rising edge are reported (None where not 0/1).
* `activity` (cases from reports.gatelevel.run_checked): the beats at full rate, no idle, no
  backpressure; reports every output beat and the cycles from the first beat to the last
  output beat (the clock energy's count; the twin comparison is the caller's). A case
  with `load` writes those words first, as `regression` does; a case without `beats` only
  clocks the design for `cycles` cycles after reset (and the load).
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge
from cocotb.utils import get_sim_time

from .stream import TB, no_pauses, random_pauses


def load_case():
    with open(os.environ["BB_CASE"]) as f:
        return json.load(f)


def write_report(case, report):
    with open(case["report"], "w") as f:
        json.dump(report, f)


def mismatch(index, got, expected, case):
    """Name the first differing neuron (and the `last` bit) of one beat."""
    n, bits = case["n_out"], case["field_bits"]
    for o in range(n):
        g, e = (got >> (o * bits)) & ((1 << bits) - 1), (expected >> (o * bits)) & ((1 << bits) - 1)
        if g != e:
            return f"beat {index}: neuron {o} got {g}, twin {e}"
    return f"beat {index}: last got {got >> (n * bits)}, twin {expected >> (n * bits)}"


async def wait_for_state(tb, state, encoding, timeout=10_000):
    target = encoding.index(state)
    for _ in range(timeout):
        await RisingEdge(tb.dut.clk)
        await ReadOnly()
        if tb.dut.fsm_state.value.to_unsigned() == target:
            return      # the caller's reset starts at this cycle's falling edge
    raise AssertionError(f"FSM never reached {state} within {timeout} cycles")


async def load_weights(dut, words):
    """Write `words` (hex) at addresses 0.. through the `load` port, one per cycle; called
    at a falling edge, returns at one with `we` low."""
    for addr, word in enumerate(words):
        dut.load__addr.value, dut.load__data.value, dut.load__we.value = addr, int(word, 16), 1
        await FallingEdge(dut.clk)
    dut.load__we.value = 0


@cocotb.test()
async def regression(dut):
    case = load_case()
    states = case["fsm_states"]
    tb = TB(dut, case["in"], case["out"], fsm_encoding=dict(enumerate(states)))
    dut.threshold.value = case["phases"][0]["threshold"]
    if "load" in case:
        dut.load__we.value = 0
    await tb.reset()
    if "load" in case:
        await load_weights(dut, case["load"])
    compared = moved = 0

    async def drain_and_count():
        """No output beat may follow the last expected one."""
        tb.set_backpressure_generator(no_pauses())
        await tb.sink.drain(case["drain_cycles"])
        assert len(tb.sink.beats) == moved, (f"{len(tb.sink.beats)} output beats for {moved} input beats, "
                                             f"{case['drain_cycles']} cycles after the last expected one")
        await FallingEdge(dut.clk)          # out of the read-only phase: inputs may change

    for k, phase in enumerate(case["phases"]):
        await FallingEdge(dut.clk)          # inputs change at the falling edge
        dut.threshold.value = phase["threshold"]
        tb.set_idle_generator(random_pauses(phase["idle"], [case["seed"], k, 1]) if phase["idle"] else no_pauses())
        tb.set_backpressure_generator(random_pauses(phase["backpressure"], [case["seed"], k, 2])
                                      if phase["backpressure"] else no_pauses())
        beats = [int(b, 16) for b in phase["beats"]]
        start = len(tb.sink.beats)
        if phase["abort"]:
            await drain_and_count()
            # watched while they are sent: a core that holds its beat takes it only at the end
            # of INTEGRATE, so after `send` returned, its INTEGRATE may be over
            sending = cocotb.start_soon(tb.source.send(beats))
            await wait_for_state(tb, phase["abort"], states)
            await tb.reset()
            await sending
            tb.sink.clear()
            moved = 0
            continue
        await tb.source.send(beats)
        moved += len(beats)
        await tb.sink.wait_for(start + len(beats), timeout_cycles=case["timeout_cycles"])
        got = tb.sink.beats[start:start + len(beats)]
        if phase["expected"] is not None:        # None: threshold 0, only "no hang" is specified
            expected = [int(x, 16) for x in phase["expected"]]
            assert len(got) == len(expected), f"phase {phase['name']}: {len(got)} beats, twin {len(expected)}"
            for i, (g, e) in enumerate(zip(got, expected)):
                assert g == e, f"phase {phase['name']}: " + mismatch(i, g, e, case)
            compared += len(got)
        if phase.get("cycles") is not None:
            took = [b - a for a, b in zip(tb.sink.beat_cycles[start:], tb.sink.beat_cycles[start + 1:start + len(beats)])]
            for i, (c, f) in enumerate(zip(took, phase["cycles"])):
                assert c == f, f"phase {phase['name']}: beat {i + 1} took {c} cycles, the manifest formula {f}"
    await drain_and_count()
    write_report(case, {"beats_compared": compared, "states": dict(tb.fsm.states),
                        "transitions": dict(tb.fsm.transitions)})


@cocotb.test()
async def vectors(dut):
    case = load_case()
    clock = getattr(dut, case["clock"])
    cocotb.start_soon(Clock(clock, 10, unit="ns").start())
    seen = []
    for inputs in case["inputs"]:
        await FallingEdge(clock)
        for port, value in inputs.items():
            getattr(dut, port).value = value
        await RisingEdge(clock)
        await ReadOnly()
        values = [getattr(dut, port).value for port in case["outputs"]]
        seen.append([v.to_unsigned() if v.is_resolvable else None for v in values])
    write_report(case, {"outputs": seen})


@cocotb.test()
async def activity(dut):
    """A run for toggle counts: reset, the `load` words if any (a core with its weights in
    SPRAM), then `cycles` idle cycles, or the beats (the cycles counted from the first)."""
    case = load_case()
    tb = TB(dut) if "beats" not in case else TB(dut, case["in"], case["out"])
    if case.get("threshold") is not None:       # a chain has its thresholds built in
        dut.threshold.value = case["threshold"]
    if "load" in case:
        dut.load__we.value = 0
    await tb.reset()
    if "load" in case:
        await load_weights(dut, case["load"])
    if "beats" not in case:
        for _ in range(case["cycles"]):
            await FallingEdge(dut.clk)
        write_report(case, {"beats": [], "cycles": case["cycles"]})
        return
    start = get_sim_time("ns")
    beats = [int(b, 16) for b in case["beats"]]
    cocotb.start_soon(tb.source.send(beats))    # its first beat at this falling edge
    await tb.sink.wait_for(len(beats), case["timeout_cycles"])
    # the last output beat was valid after that many rising edges (it moves at the next)
    cycles = round((get_sim_time("ns") - start) / tb.period_ns)
    write_report(case, {"beats": [format(b, "x") for b in tb.sink.beats], "cycles": cycles})
