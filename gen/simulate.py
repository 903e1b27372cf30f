"""Drive a generated core's streams in the Amaranth simulator.

A source with random idle cycles, a sink with random backpressure, and the cycle
number of every handshake, so the tests can check results and timing alike.
"""

import numpy as np
from amaranth.sim import Simulator

from sim.beats import KINDS, timeout_cycles


def beat_cycles(core):
    """Worst-case cycles per beat of a core, or of a chain (its layers add up)."""
    return sum(KINDS[c.kind].beat_cycles(c.params) for c in getattr(core, "cores", [core]))


def run_stream(core, beats, threshold, *, seed=0, idle=0.0, backpressure=0.0, max_cycles=None):
    """Send `beats` (ints) through `core`; returns (outputs, in_cycles, out_cycles).

    `threshold` None leaves the threshold port alone (a `Chain` has none).
    `idle` is the probability of inserting an idle cycle before a beat, `backpressure`
    the probability that the sink holds ready low in a cycle. After the last expected
    output the sink stays ready for two worst-case beats more; an output beat then
    (one more than the inputs) raises AssertionError.
    """
    inp, out = core.stream_in, core.stream_out
    max_cycles = max_cycles or timeout_cycles(len(beats), beat_cycles(core))
    drain = 2 * beat_cycles(core) + 16
    outputs, in_cycles, out_cycles = [], [], []

    async def source(ctx):
        rng = np.random.default_rng([seed, 1])
        if threshold is not None:       # a Chain has its thresholds built in
            ctx.set(core.threshold, threshold)
        cycle = 0
        for beat in beats:
            while rng.random() < idle:
                await ctx.tick()
                cycle += 1
            ctx.set(inp.payload.as_value(), int(beat))
            ctx.set(inp.valid, 1)
            while True:
                _, _, ready = await ctx.tick().sample(inp.ready)
                cycle += 1
                if ready:
                    break
            in_cycles.append(cycle)
            ctx.set(inp.valid, 0)

    async def sink(ctx):
        rng = np.random.default_rng([seed, 2])
        for cycle in range(1, max_cycles + 1):
            ctx.set(out.ready, int(rng.random() >= backpressure))
            _, _, valid, ready, payload = await ctx.tick().sample(out.valid, out.ready, out.payload.as_value())
            if valid and ready:
                outputs.append(payload)
                out_cycles.append(cycle)
                if len(outputs) == len(beats):
                    break
        else:
            raise AssertionError(f"core hung: {len(outputs)} of {len(beats)} beats out after {max_cycles} cycles")
        ctx.set(out.ready, 1)
        for _ in range(drain):
            _, _, valid = await ctx.tick().sample(out.valid)
            assert not valid, f"an output beat more than the {len(beats)} input beats"

    sim = Simulator(core)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return outputs, in_cycles, out_cycles
