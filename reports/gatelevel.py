"""Designs checked at gate level: the synthesized netlist of a core or chain (cached by its
Verilog), and a simulation of Verilog or netlist whose every output beat must match the twin."""

import fcntl
import hashlib
import json
import os

from gen.emit import verilog

from .activity import gate_verilog, module_of, simulate
from .cell_models import unsupported
from .flow import TwinMismatch, Unsupported, synth_script, synthesize

CACHE = os.path.join("reports", "out", "cache")    # netlists, gate-level builds, measurements


def gate_netlist(design, module, target, cache=CACHE):
    """Synthesize a core or chain (cached by its Verilog and the synthesis script); returns
    (netlist dict, .gl.v path)."""
    text = verilog(design, name=module)
    multipliers = getattr(design, "multipliers", 0)     # cores and chains say how many they have
    key = hashlib.sha256(f"{target.name}\n{synth_script(target, module, '', multipliers)}\n{text}".encode()).hexdigest()[:16]
    workdir = os.path.join(cache, "netlists", f"{module}-{key}")
    netlist = f"{module}.{target.family}.json"
    gl = os.path.join(workdir, netlist.replace(".json", ".gl.v"))
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(workdir, "lock"), "w") as lock:      # parallel points may share a core
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(gl):
            with open(os.path.join(workdir, f"{module}.v"), "w") as f:
                f.write(text)
            synthesize(os.path.join(workdir, f"{module}.v"), module, target, workdir, multipliers)
            gate_verilog(netlist, workdir)
    with open(os.path.join(workdir, netlist)) as f:
        data = json.load(f)
    why = unsupported(module_of(data, module))
    if why:
        raise Unsupported(f"no gate-level simulation of {module} on {target.family}: {why}")
    return data, gl


def run_checked(path, module, family, beats, expected, ports, threshold, timeout_cycles, cache=CACHE, load=None):
    """Simulate Verilog (`family` None: RTL; else a gate-level netlist of that family) on
    `beats` through ports (in, out), and compare every output beat with `expected`; `load`:
    the words a design with a `load` port (SPRAM) is written first. Returns (testbench
    report, SAIF path); raises TwinMismatch on any difference."""
    case = {"beats": [format(int(b), "x") for b in beats], "threshold": None if threshold is None else int(threshold),
            "in": ports[0], "out": ports[1], "timeout_cycles": timeout_cycles, **load_case(load)}
    report, saif = simulate(path, module, family, case, os.path.join(cache, "gatesim"))
    got = [int(b, 16) for b in report["beats"]]
    where = f"{'gate-level' if family else 'RTL'} {module}{' (' + family + ')' if family else ''}"
    if len(got) != len(expected):
        raise TwinMismatch(f"{where} gave {len(got)} output beats, the twin {len(expected)}")
    for i, (g, e) in enumerate(zip(got, expected)):
        if g != int(e):
            raise TwinMismatch(f"{where} differs from the twin at output beat {i}: got {g:#x}, twin {int(e):#x}")
    return report, saif


def load_case(load):
    return {} if load is None else {"load": [format(int(w), "x") for w in load]}


def run_load(path, module, family, load, cache=CACHE):
    """The SAIF path of a run that only resets and writes `load` (as `run_checked` does
    first): its toggles are the load's, to subtract (`reports.activity.minus`)."""
    return simulate(path, module, family, {"cycles": 0, **load_case(load)}, os.path.join(cache, "gatesim"))[1]
