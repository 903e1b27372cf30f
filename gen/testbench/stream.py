"""A small cocotb testbench library for the SPEC's stream ports, in cocotbext-axi's style.

`StreamSource` drives `<name>__valid/__payload` and takes `<name>__ready`; `StreamSink`
drives `<name>__ready` and records every beat that moves. Both step once per clock: they
write at the falling edge (away from the active edge, so RTL and gate-level runs agree) and
read the settled values in the same cycle's read-only phase; a beat moves at the next
rising edge when valid and ready were both high there. Pause generators (iterables of
bools, True = pause this cycle) insert idle cycles on the source and backpressure on the
sink. Reset is handled as cocotbext-axi's do: while the DUT's `rst` is high, the source
drops its beat in progress (and the rest of its `send`) and holds valid low, and the sink
records nothing. `TB` adds the clock, synchronous reset and an FSM state/transition monitor.

Timing contract: a `TB`'s coroutines resume at a falling edge where they may write
(`reset`, `StreamSource.send`), except `StreamSink.wait_for`, which returns in the
read-only phase that saw the last beat (a caller that writes next awaits a falling edge).
"""

import itertools
from collections import Counter

import numpy as np
from cocotb import start_soon
from cocotb.clock import Clock
from cocotb.triggers import Event, FallingEdge, ReadOnly, RisingEdge


def random_pauses(probability, seed):
    """Pause with the given probability each cycle, reproducibly."""
    rng = np.random.default_rng(seed)
    while True:
        yield bool(rng.random() < probability)


def no_pauses():
    return itertools.repeat(False)


def high(signal):
    return signal.value.is_resolvable and bool(signal.value)


class _StreamEnd:
    def __init__(self, dut, name, pauses=None):
        self.clk, self.rst = dut.clk, dut.rst
        self.valid = getattr(dut, f"{name}__valid")
        self.ready = getattr(dut, f"{name}__ready")
        self.payload = getattr(dut, f"{name}__payload")
        self.pauses = pauses or no_pauses()

    def set_pause_generator(self, pauses):
        self.pauses = pauses or no_pauses()


class StreamSource(_StreamEnd):
    """Sends beats in order; `send` is called at a falling edge, drives its first beat there
    and returns at the falling edge after the last one moved (or a reset dropped them)."""

    def __init__(self, dut, name, pauses=None):
        super().__init__(dut, name, pauses)
        self.valid.value = 0
        self.payload.value = 0
        self.sent = 0

    async def send(self, beats):
        for beat in beats:
            while next(self.pauses):
                self.valid.value = 0
                await FallingEdge(self.clk)
            self.payload.value = int(beat)
            self.valid.value = 1
            while True:
                await ReadOnly()
                moved, reset = high(self.ready), high(self.rst)
                await FallingEdge(self.clk)
                if reset:               # the DUT ignores this beat: drop it and the rest
                    self.valid.value = 0
                    return
                if moved:
                    break
            self.sent += 1
        self.valid.value = 0


class StreamSink(_StreamEnd):
    """Records every beat that moves, as ints, in `beats`, and the cycle it moved in, in
    `beat_cycles` (the count of read-only phases the sink has seen)."""

    def __init__(self, dut, name, pauses=None):
        super().__init__(dut, name, pauses)
        self.beats, self.beat_cycles = [], []
        self.cycle = 0
        self._sampled = Event()
        start_soon(self._run())

    async def _run(self):
        while True:
            self.ready.value = 0 if next(self.pauses) else 1     # from the start: ready at time 0
            await ReadOnly()
            if high(self.valid) and high(self.ready) and not high(self.rst):
                self.beats.append(int(self.payload.value))     # a 1-bit payload is a Logic
                self.beat_cycles.append(self.cycle)
            self.cycle += 1
            self._sampled.set()
            await FallingEdge(self.clk)

    def clear(self):
        self.beats.clear()
        self.beat_cycles.clear()

    async def drain(self, cycles):
        """Wait `cycles` more cycles (ready as the pause generator says), so a beat that should
        not exist has time to come out."""
        deadline = self.cycle + cycles
        while self.cycle < deadline:
            self._sampled.clear()
            await self._sampled.wait()

    async def wait_for(self, count, timeout_cycles):
        """Return once `count` beats have moved, in the read-only phase that saw the last."""
        deadline = self.cycle + timeout_cycles
        while len(self.beats) < count:
            if self.cycle >= deadline:
                raise AssertionError(f"hang: {len(self.beats)} of {count} output beats after {timeout_cycles} cycles")
            self._sampled.clear()
            await self._sampled.wait()


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
    """Clock, reset (held from time 0 until the first `reset()` releases it) and one
    source/sink pair around a core with stream ports (none if their names are None)."""

    def __init__(self, dut, in_name=None, out_name=None, *, fsm_encoding=None, period_ns=10):
        self.dut, self.period_ns = dut, period_ns
        start_soon(Clock(dut.clk, period_ns, unit="ns").start())
        dut.rst.value = 1
        self.in_reset = True        # a flag: a write is not visible to a read in the same phase
        self.source = StreamSource(dut, in_name) if in_name else None
        self.sink = StreamSink(dut, out_name) if out_name else None
        self.fsm = FsmMonitor(dut.clk, dut.fsm_state, fsm_encoding) if fsm_encoding else None
        if self.fsm:
            self.fsm.in_reset = True

    def set_idle_generator(self, pauses):
        self.source.set_pause_generator(pauses)

    def set_backpressure_generator(self, pauses):
        self.sink.set_pause_generator(pauses)

    async def reset(self, cycles=2):
        """Synchronous, active-high reset: asserted at the next falling edge (unless still
        held from time 0), released `cycles` falling edges later; returns there."""
        if not self.in_reset:
            await FallingEdge(self.dut.clk)
            self.dut.rst.value, self.in_reset = 1, True
            if self.fsm:
                self.fsm.in_reset = True
        for _ in range(cycles):
            await FallingEdge(self.dut.clk)
        self.dut.rst.value, self.in_reset = 0, False
        if self.fsm:
            self.fsm.in_reset = False
