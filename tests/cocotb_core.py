"""cocotb test module: replays a case file (written by `hdl_regression.make_case`) on the
emitted Verilog of an SNN or QNN core and scores every output beat against the twin.

A case is a list of phases run back to back on one DUT without a reset in between,
except where a phase says `abort`: then its beats are sent, the DUT is reset while its
FSM is in that state, and whatever came out of the half-done inference is dropped.
The result (beats compared, FSM states and transitions seen) goes to the case's
`report` file for the pytest side to check and aggregate.
"""

import json
import os

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

from cocotb_stream import TB, no_pauses, random_pauses


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


@cocotb.test()
async def replay(dut):
    with open(os.environ["BB_CASE"]) as f:
        case = json.load(f)
    states = case["fsm_states"]
    tb = TB(dut, case["in"], case["out"], fsm_encoding=dict(enumerate(states)))
    dut.threshold.value = case["phases"][0]["threshold"]
    await tb.reset()
    compared = moved = 0
    for k, phase in enumerate(case["phases"]):
        dut.threshold.value = phase["threshold"]
        tb.set_idle_generator(random_pauses(phase["idle"], [case["seed"], k, 1]) if phase["idle"] else no_pauses())
        tb.set_backpressure_generator(random_pauses(phase["backpressure"], [case["seed"], k, 2])
                                      if phase["backpressure"] else no_pauses())
        beats = [int(b, 16) for b in phase["beats"]]
        start = len(tb.sink.beats)
        await tb.source.send(beats)
        if phase["abort"]:
            await wait_for_state(tb, phase["abort"], states)
            await tb.reset()
            tb.sink.beats.clear()
            moved = 0
            continue
        moved += len(beats)
        await tb.sink.wait_for(start + len(beats), timeout_cycles=case["timeout_cycles"])
        got = tb.sink.beats[start:]
        if phase["expected"] is not None:        # None: threshold 0, only "no hang" is specified
            for i, (g, e) in enumerate(zip(got, (int(x, 16) for x in phase["expected"]))):
                assert g == e, f"phase {phase['name']}: " + mismatch(i, g, e, case)
            compared += len(got)
    for _ in range(4):          # no extra beats may follow
        await RisingEdge(dut.clk)
    assert len(tb.sink.beats) == moved, f"{len(tb.sink.beats)} output beats for {moved} input beats"
    with open(case["report"], "w") as f:
        json.dump({"beats_compared": compared, "states": dict(tb.fsm.states),
                   "transitions": dict(tb.fsm.transitions)}, f)
