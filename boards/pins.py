"""cocotb test module: the real host client (`boards.client.run`) against a decoded
bitstream (`boards.decode`), over its UART pins only. The case (JSON, path in `BB_CASE`)
names the clock, rx and tx ports, the UART divisor, the core's parameters and weights,
the spike trains and the threshold; the client's report (or its link error) goes to the
case's `report` file.

The client is ordinary blocking code: it runs in a `bridge` thread, and the port it is
given waits on the simulation through `resume`. 8N1 bits (and an idle bit) are driven on rx
every `divisor` clock cycles; tx is sampled in the middle of each bit after its start edge,
as `boards.client.SimulatedBoard` does for the Amaranth simulation.
"""

import json
import os
from collections import deque

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, FallingEdge

from sim.params import CoreParams

from . import protocol as P
from .client import Link, run

STARTUP_CYCLES = 1000           # amaranth's iCE40 power-on reset holds the design ~180 cycles at 12 MHz
MAX_CYCLES_PER_BYTE = 200_000   # as SimulatedBoard: a beat's core time is far below this


class PinPort:
    """`write(bytes)` / `read(n)` for a bridge thread, on the rx and tx pins."""

    def __init__(self, dut, clock, rx, tx, divisor):
        self.clock, self.rx, self.tx, self.divisor = getattr(dut, clock), getattr(dut, rx), getattr(dut, tx), divisor
        self.to_board, self.from_board = deque(), bytearray()
        self.rx.value = 1

    async def drive(self):
        while True:
            if not self.to_board:
                await ClockCycles(self.clock, self.divisor)
                continue
            byte = self.to_board.popleft()
            # a second stop bit, as SimulatedBoard sends: at 4 cycles per bit the receiver
            # is back in IDLE ~3 cycles after the stop bit's middle, so back-to-back bytes
            # with one stop bit drift a cycle per byte and the 4th has a framing error
            for bit in [0] + [byte >> i & 1 for i in range(8)] + [1, 1]:
                self.rx.value = bit
                await ClockCycles(self.clock, self.divisor)

    async def listen(self):
        while True:
            await FallingEdge(self.tx)
            await ClockCycles(self.clock, self.divisor // 2)
            bits = []
            for _ in range(9):
                await ClockCycles(self.clock, self.divisor)
                bits.append(int(self.tx.value))
            if bits[8]:
                self.from_board.append(sum(b << i for i, b in enumerate(bits[:8])))

    async def _wait_for(self, n):
        waited = 0
        while len(self.from_board) < n and waited < MAX_CYCLES_PER_BYTE * n:
            await ClockCycles(self.clock, self.divisor)
            waited += self.divisor

    async def _quiet(self, cycles):
        while self.to_board:
            await ClockCycles(self.clock, self.divisor)
        seen, idle = len(self.from_board), 0
        while idle < cycles:
            await ClockCycles(self.clock, self.divisor)
            idle += self.divisor
            if len(self.from_board) != seen:
                seen, idle = len(self.from_board), 0
        self.from_board.clear()

    def drain(self):
        """For a retry: let the written bytes go out, wait until nothing has come back for
        twice the board's receive timeout, drop what came."""
        resume(self._quiet)(2 * P.timeout_cycles(self.divisor))

    def write(self, data):
        self.to_board.extend(data)

    def read(self, n):
        resume(self._wait_for)(n)
        data = bytes(self.from_board[:n])
        del self.from_board[:n]
        return data


@cocotb.test()
async def host_link(dut):
    with open(os.environ["BB_CASE"]) as f:
        case = json.load(f)
    port = PinPort(dut, case["clock"], case["rx"], case["tx"], case["divisor"])
    Clock(getattr(dut, case["clock"]), 10, unit="ns").start()
    await ClockCycles(port.clock, STARTUP_CYCLES)
    cocotb.start_soon(port.drive())
    cocotb.start_soon(port.listen())
    params, weights = CoreParams(*case["params"]), np.array(case["weights"])

    def client():
        try:
            return run(Link(port, case["retries"]), params, weights, np.array(case["spikes"]), case["threshold"])
        except P.LinkError as e:
            return {"link_error": str(e)}

    report = await bridge(client)()
    with open(case["report"], "w") as f:
        json.dump(report, f)
