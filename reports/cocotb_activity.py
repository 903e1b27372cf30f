"""cocotb test module for activity capture: replays a case file (written by
`reports.activity`) on a gate-level netlist at full rate, no idle and no backpressure,
and writes every output beat and the cycle count to the case's `report` file. The
comparison with the twin happens on the Python side.

A case without `beats` only clocks the design for `cycles` cycles after reset (the
hand-checkable counter test).
"""

import json
import os

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


@cocotb.test()
async def replay(dut):
    with open(os.environ["BB_CASE"]) as f:
        case = json.load(f)
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.rst.value = 1
    if "beats" in case:
        src, snk = case["in"], case["out"]
        getattr(dut, f"{src}__valid").value = 0
        getattr(dut, f"{snk}__ready").value = 1
        if case.get("threshold") is not None:       # a chain has its thresholds built in
            dut.threshold.value = case["threshold"]
    for _ in range(2):
        await FallingEdge(dut.clk)
    dut.rst.value = 0
    cycles, got = 0, []
    if "beats" not in case:
        for _ in range(case["cycles"]):
            await FallingEdge(dut.clk)
        cycles = case["cycles"]
    else:
        beats = [int(b, 16) for b in case["beats"]]
        valid, payload = getattr(dut, f"{src}__valid"), getattr(dut, f"{src}__payload")
        ready = getattr(dut, f"{src}__ready")
        out_valid, out_payload = getattr(dut, f"{snk}__valid"), getattr(dut, f"{snk}__payload")
        sent = 0
        while len(got) < len(beats):
            if sent < len(beats):       # inputs change at the falling edge, away from the active edge
                valid.value, payload.value = 1, beats[sent]
            else:
                valid.value = 0
            await RisingEdge(dut.clk)
            await ReadOnly()
            cycles += 1
            if sent < len(beats) and ready.value == 1:
                sent += 1
            if out_valid.value == 1:
                got.append(format(int(out_payload.value), "x"))     # a 1-bit payload is a Logic
            assert cycles <= case["timeout_cycles"], f"{len(got)} of {len(beats)} beats in {cycles} cycles"
            await FallingEdge(dut.clk)
    with open(case["report"], "w") as f:
        json.dump({"beats": got, "cycles": cycles}, f)
