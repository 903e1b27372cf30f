"""python -m sim.energy: one SNN/QNN comparison, or an analysis (breakeven, landscape, hops,
reuse, sace) written as JSON + Markdown + PNG. Usage errors exit with status 2."""

import json
import sys

from ..cli import UsageParser, command
from ..params import ParamError
from ..validate import load_json
from . import analyses
from .model import HARDWARE, Scenario, evaluate, load_calibration, op_energy


def parse_args(argv):
    ap = UsageParser(prog="python -m sim.energy", description=__doc__)
    ap.add_argument("analysis", nargs="?", choices=("breakeven", "landscape", "hops", "reuse", "sace"),
                    help="an analysis to write under --out; without it, evaluate one scenario")
    ap.add_argument("--T", type=int, default=2, help="SNN timesteps (default 2)")
    ap.add_argument("--spike-rate", type=float, default=0.02, help="SNN spike rate, 0..1 (default 0.02)")
    ap.add_argument("--gamma", type=float, default=None,
                    help="QNN sparsity, 0..1 (default: the best-case bound, 1 - T*spike_rate, clipped to 0)")
    ap.add_argument("--N", type=int, default=4096, help="fan-in (default 4096)")
    ap.add_argument("--hardware", default="typical", help="minimum | typical | worst (default typical)")
    ap.add_argument("--hops", type=float, default=1.0, help="average hops h (default 1)")
    ap.add_argument("--reuse-qnn", type=float, default=1.0, help="weight reuse R_QNN (default 1)")
    ap.add_argument("--reuse-snn", type=float, default=1.0, help="weight reuse R_SNN (default 1)")
    ap.add_argument("--weight-bits", type=int, default=8, help="8 or 4 (default 8)")
    ap.add_argument("--transmission", default="timestep", help="timestep | aggregated (default timestep)")
    ap.add_argument("--calibration", metavar="FILE.json", help="per-op energies replacing the 22 nm defaults")
    ap.add_argument("--layers", metavar="FILE.json", help="sace: list of {macs, W, S, T, rate}")
    ap.add_argument("--out", default="reports/out/energy", help="where analyses write (default reports/out/energy)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    return ap.parse_args(argv)


def scenario(a):
    if a.hardware not in HARDWARE:
        raise ParamError("hardware", a.hardware, f"one of {', '.join(HARDWARE)}", "{name} {value}: legal is {legal}")
    ops = op_energy(a.weight_bits)
    if a.calibration:
        ops = load_calibration(a.calibration, ops)
    gamma = analyses.best_case_gamma(a.T, a.spike_rate) if a.gamma is None else a.gamma
    return Scenario(T=a.T, spike_rate=a.spike_rate, gamma=gamma, N=a.N, hardware=HARDWARE[a.hardware],
                    hops=a.hops, reuse_qnn=a.reuse_qnn, reuse_snn=a.reuse_snn,
                    transmission=a.transmission, ops=ops)


def table(r):
    rows = [("", "SNN", "QNN"), ("compute (pJ)", r["snn_comp_pj"], r["qnn_comp_pj"]),
            ("movement (pJ)", r["snn_mov_pj"], r["qnn_mov_pj"]), ("movement mode", r["snn_mode"], r["qnn_mode"]),
            ("total (pJ)", r["snn_pj"], r["qnn_pj"]), ("battery life (h)", r["snn_lifetime_h"], r["qnn_lifetime_h"])]
    head = (f"T={r['T']} spike rate={r['spike_rate']} | QNN B={r['qnn_bits']} gamma={r['gamma']:.4g} | "
            f"N={r['N']} {r['hardware']} hardware, h={r['hops']}, R_QNN={r['reuse_qnn']} R_SNN={r['reuse_snn']}, "
            f"{r['transmission']} transmission")
    body = [f"{a:18s} {b:>12.6g} {c:>12.6g}" if isinstance(b, float) else f"{a:18s} {b:>12s} {c:>12s}"
            for a, b, c in rows]
    return "\n".join([head, *body, f"SNN/QNN ratio      {r['ratio']:.4f}", f"energies: {r['energy_source']}"])


@command("python -m sim.energy", usage=(ValueError, OSError))
def main(argv=None):
    a = parse_args(argv)
    s = scenario(a)
    if a.analysis is None:
        r = evaluate(s)
        print(json.dumps(r, indent=2) if a.json else table(r))
        return 0
    if a.analysis == "sace":
        if not a.layers:
            raise ParamError("layers", text="sace needs {name} FILE.json")
        try:
            result = analyses.sace(load_json("layers", a.layers))
        except ValueError as e:
            if isinstance(e, ParamError):
                raise
            raise ParamError("layers", a.layers, text="{name} {value}: {why}", why=e) from None
    elif a.analysis == "breakeven":
        result = analyses.breakeven(gamma=s.gamma if a.gamma is not None else 0.8, hardware=a.hardware)
    elif a.analysis == "landscape":
        result = analyses.landscape(N=a.N)
    elif a.analysis == "hops":
        result = analyses.hops(T=a.T, spike_rate=a.spike_rate, N=a.N)
    else:
        result = analyses.reuse(T=a.T, spike_rate=a.spike_rate, N=a.N, hops_=a.hops)
    paths = analyses.write(result, a.out)
    print(json.dumps(result, indent=2) if a.json else analyses.markdown(result) + "wrote " + ", ".join(paths))
    return 0


if __name__ == "__main__":
    sys.exit(main())
