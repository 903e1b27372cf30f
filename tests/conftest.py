import json
import os
import sys
from collections import Counter

# The project packages (gen, sim, reports, boards) live at the repo root; tests import
# helpers from this folder too.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (ROOT, os.path.dirname(os.path.abspath(__file__))):
    if path not in sys.path:
        sys.path.insert(0, path)


# ---- cocotb regression summary: tests record a "cocotb" property (it crosses xdist) ----
_cocotb_reports = []


def pytest_runtest_logreport(report):
    if report.when == "call":
        _cocotb_reports.extend(json.loads(v) for k, v in report.user_properties if k == "cocotb")


def pytest_terminal_summary(terminalreporter):
    if not _cocotb_reports:
        return
    states, transitions = Counter(), Counter()
    for r in _cocotb_reports:
        states.update(r["states"])
        transitions.update(r["transitions"])
    beats = sum(r["beats_compared"] for r in _cocotb_reports)
    sims = sorted({r["sim"] for r in _cocotb_reports})
    tr = terminalreporter
    tr.section("cocotb regression")
    tr.write_line(f"{len(_cocotb_reports)} builds on {', '.join(sims)}, {beats} output beats compared with the twin")
    tr.write_line("FSM cycles per state: " + ", ".join(f"{k} {v}" for k, v in sorted(states.items())))
    tr.write_line("FSM transitions: " + ", ".join(f"{k} {v}" for k, v in sorted(transitions.items())))
    os.makedirs(os.path.join(ROOT, "build"), exist_ok=True)
    with open(os.path.join(ROOT, "build", "cocotb_summary.json"), "w") as f:
        json.dump({"builds": len(_cocotb_reports), "beats_compared": beats, "simulators": sims,
                   "states": states, "transitions": transitions}, f, indent=1)
