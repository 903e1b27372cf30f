"""A small cocotb testbench library for the SPEC's stream ports, in cocotbext-axi's style.

`StreamSource` drives `<name>__valid/__payload` and takes `<name>__ready`; `StreamSink`
drives `<name>__ready` and records every beat. Both step once per clock: they write at
the falling edge (away from the active edge, so RTL and gate-level runs agree) and read
the settled values in the same cycle's read-only phase; a beat has moved when valid and
ready were both high there. Pause generators (iterables of bools, True = pause this cycle)
insert idle cycles on the source and backpressure on the sink.
`TB` adds the clock, synchronous reset and an FSM state/transition monitor.
"""

import itertools
from collections import Counter

import numpy as np
from cocotb import start_soon
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge


def random_pauses(probability, seed):
    """Pause with the given probability each cycle, reproducibly."""
    rng = np.random.default_rng(seed)
    while True:
        yield bool(rng.random() < probability)


def no_pauses():
    return itertools.repeat(False)


class _StreamEnd:
    def __init__(self, dut, name, pauses=None):
        self.clk = dut.clk
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.pauses = pauses or no_pauses()

    def set_pause_generator(self, pauses):
        self.pauses = pauses or no_pauses()


class StreamSource(_StreamEnd):
    """Sends queued beats in order; `send` returns once all of them have moved."""

    def __init__(self, dut, name, pauses=None):
        super().__init__(dut, name, pauses)
        self.valid.value = 0
        self.payload.value = 0
        self.sent = 0

    async def send(self, beats):
        await FallingEdge(self.clk)
        for beat in beats:
            while next(self.pauses):
                self.valid.value = 0
                await FallingEdge(self.clk)
            self.payload.value = int(beat)
            self.valid.value = 1
            while True:
                await ReadOnly()
                moved = bool(self.ready.value)
                await FallingEdge(self.clk)
                if moved:
                    break
            self.sent += 1
        self.valid.value = 0

    def reset(self):
        """Drop the beat in progress (the caller resets the DUT)."""
        self.valid.value = 0


class StreamSink(_StreamEnd):
    """Records every beat that moves, as ints, in `beats`."""

    def __init__(self, dut, name, pauses=None):
        super().__init__(dut, name, pauses)
        self.ready.value = 0
        self.beats = []
        start_soon(self._run())

    async def _run(self):
        while True:
            await FallingEdge(self.clk)
            self.ready.value = 0 if next(self.pauses) else 1
            await ReadOnly()
            if self.valid.value.is_resolvable and self.valid.value and self.ready.value:
                self.beats.append(self.payload.value.to_unsigned())

    async def wait_for(self, count, timeout_cycles):
        for _ in range(timeout_cycles):
            if len(self.beats) >= count:
                return
            await RisingEdge(self.clk)
        raise AssertionError(f"hang: {len(self.beats)} of {count} output beats after {timeout_cycles} cycles")


class FsmMonitor:
    """Counts the cycles spent in each state of `state_signal` and each transition
    between consecutive cycles, by state name (`encoding`: value -> name)."""

    def __init__(self, clk, state_signal, encoding):
        self.clk, self.state, self.encoding = clk, state_signal, encoding
        self.states, self.transitions = Counter(), Counter()
        self.in_reset = False
        start_soon(self._run())

    async def _run(self):
        prev = None
        while True:
            await RisingEdge(self.clk)
            await ReadOnly()
            value = self.state.value
            cur = self.encoding.get(value.to_unsigned(), f"?{value}") if value.is_resolvable else "X"
            self.states[cur] += 1
            if prev is not None:
                self.transitions[f"{prev}->{cur}" + (" (rst)" if self.in_reset else "")] += 1
            prev = cur
            await FallingEdge(self.clk)


class TB:
    """Clock, reset and one source/sink pair around a core with stream ports."""

    def __init__(self, dut, in_name, out_name, *, fsm_encoding=None, period_ns=10):
        self.dut = dut
        start_soon(Clock(dut.clk, period_ns, unit="ns").start())
        dut.rst.value = 0
        self.source = StreamSource(dut, in_name)
        self.sink = StreamSink(dut, out_name)
        self.fsm = FsmMonitor(dut.clk, dut.fsm_state, fsm_encoding) if fsm_encoding else None

    def set_idle_generator(self, pauses):
        self.source.set_pause_generator(pauses)

    def set_backpressure_generator(self, pauses):
        self.sink.set_pause_generator(pauses)

    async def reset(self, cycles=2):
        """Synchronous, active-high reset for `cycles` rising edges, driven at falling edges."""
        await FallingEdge(self.dut.clk)
        self.source.reset()
        self.dut.rst.value = 1
        if self.fsm:
            self.fsm.in_reset = True
        for _ in range(cycles):
            await FallingEdge(self.dut.clk)
        self.dut.rst.value = 0
        await RisingEdge(self.dut.clk)
        if self.fsm:
            self.fsm.in_reset = False
