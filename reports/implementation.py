"""One core through the open FPGA flow: synthesized alone (its own resources) and inside
`gen.harness.SerialHarness` (the package's pins), placed, routed and packed."""

import math
import os
import time

from gen.emit import verilog

from gen.build import default_name, make_cores
from gen.harness import harness
from gen.spram import SpramWeightMemory
from gen.weights import make_weights
from sim.params import ParamError

from .flow import TARGETS, check_fits, classify, place_and_route, synthesize


def check_memory(params, target_name, weight_memory):
    """ParamError unless `weight_memory` exists on the target and the weights fit it."""
    if weight_memory == "spram":
        if "spram" not in TARGETS[target_name].capacity:
            raise ParamError("weight_memory", weight_memory, "bram on " + target_name,
                             "{name} {value}: SB_SPRAM256KA is an iCE40 UP5K cell: legal is {legal}")
        SpramWeightMemory.check(params)


def build(kind, params, target_name, freq_mhz=None, seed=0, workdir="build", weight_memory="bram"):
    """Synthesize, place and route one core, its weights in `weight_memory` (a key of
    `gen.build.WEIGHT_MEMORIES`); returns its result dict (raises FlowError)."""
    target = TARGETS[target_name]
    check_memory(params, target_name, weight_memory)
    freq = target.freq_mhz if freq_mhz is None else freq_mhz
    if not (math.isfinite(freq) and freq > 0):     # 0 used to mean the default; NaN made nextpnr fall back to 12 MHz
        raise ParamError("freq", freq, "a finite clock in MHz > 0")
    weights, source = make_weights(params, None, seed)
    (module, core), = make_cores(params, weights, kind, default_name(params), weight_memory).values()
    os.makedirs(workdir, exist_ok=True)
    start = time.time()
    top = f"{module}_top"
    # The harness repeats its few input bits across the core's wide payload. Elaborated
    # together, the core's registers that latch equal bits were merged (an event queue that
    # latched its beat, in a 256x32 SNN core: placed in 2957 logic cells, though the core
    # alone needs 3492 LUT4s). So the top instantiates the core's own module, which yosys
    # keeps apart until it is mapped, then flattens.
    core_text = verilog(core, name=module)
    for name, text in ((module, core_text), (top, verilog(harness(core, module), name=top) + core_text)):
        with open(os.path.join(workdir, f"{name}.v"), "w") as f:
            f.write(text)
    _, core_cells = synthesize(os.path.join(workdir, f"{module}.v"), module, target, workdir, core.multipliers)
    netlist, top_cells = synthesize(os.path.join(workdir, f"{top}.v"), top, target, workdir, core.multipliers,
                                    keep=module)
    check_fits(top_cells, target, f"{module} in its harness")
    placed = place_and_route(netlist, top, target, workdir, freq)
    core_res, top_res = classify(core_cells), classify(top_cells)
    fmax = min((v["achieved_mhz"] for v in placed["fmax"].values()), default=None)
    return {
        "kind": kind, "module": module, "target": target_name, "params": params.as_dict(), "BB": params.BB,
        "weights": source, "weight_memory": weight_memory, "freq_constraint_mhz": freq, "fmax_mhz": fmax,
        "core": core_res, "harness": {k: top_res[k] - core_res[k] for k in top_res}, "top": top_res,
        "placed": placed, "workdir": workdir, "seconds": round(time.time() - start, 1),
    }
