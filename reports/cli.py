"""The options the reports share: the FPGA build's (`reports.synth`, `sweep`), the energy
measurement's (`reports.power`, `budget`, `twin`), a rate check, and where parallel jobs
run (a local pool or a Dask cluster)."""

import math
import os

from sim.params import ParamError

from .flow import TARGETS


def add_measure_options(ap):
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k", help="device (default ice40-up5k)")
    ap.add_argument("--inferences", type=int, default=8, help="inferences simulated per point (default 8)")
    ap.add_argument("--coefficients", metavar="FILE.json", help="energy coefficients (default: the target family's file)")
    ap.add_argument("--out", default=os.path.join("reports", "out"), help="output folder (default reports/out)")


def add_build_options(ap):
    """`reports.synth` and `sweep`: the device, its clock and the output folder."""
    ap.add_argument("--target", choices=sorted(TARGETS), default="ice40-up5k", help="device (default ice40-up5k)")
    ap.add_argument("--freq", type=float, default=None, help="clock constraint in MHz (default: 40 on iCE40, 100 on ECP5)")
    ap.add_argument("--out", default=os.path.join("reports", "out"), help="output folder (default reports/out)")


def add_executor_options(ap, jobs="jobs"):
    """--workers and --dask, as `reports.jobs.executor` takes them."""
    ap.add_argument("--workers", type=int, default=None, help=f"parallel {jobs} in local processes (default: CPUs)")
    ap.add_argument("--dask", metavar="ADDRESS", help=f"run the {jobs} on this Dask scheduler instead")


def add_sweep_options(ap):
    """`budget` and `twin`: 4 inferences per point, points in parallel."""
    add_executor_options(ap, "points")
    add_measure_options(ap)
    ap.set_defaults(inferences=4)


def check_clock(freq):
    """--freq: None (the target's default) or a finite clock in MHz > 0."""
    if freq is not None and not (math.isfinite(freq) and freq > 0):
        raise ParamError("freq", freq, "a finite clock in MHz > 0")
    return freq


def check_rate(rate, name="spike_rate"):
    if not 0.0 <= rate <= 1.0:
        raise ParamError(name, rate, "0..1")
    return rate
