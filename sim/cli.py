"""What every command line shares: the parser (a usage error is one line and exit status 2),
the core options, and one mapping from exceptions to a one-line message and an exit status.

Exit status: 0 done; 1 a check found a mismatch with the twin; 2 a usage error, a design
that does not fit, a missing tool; 3 a tool failed. An exception says its status with an
`exit_status` attribute (`sim.params.ParamError` 2, `reports.flow.FlowError` and its kinds).
"""

import argparse
import functools
import sys

from .params import RANGES, CoreParams, ParamError

DESCRIPTIONS = {"W": "weight bits, {} (W=1: binary +1/-1 weights)", "S": "spike bits, {}",
                "T": "timesteps per inference, {}", "n_in": "fan-in, {}", "n_out": "neurons, {}"}


class UsageParser(argparse.ArgumentParser):
    """A usage error is one line and exit 2. Every tool's `--seed` (weights, stimulus, fuzz)
    is checked here, once: numpy refuses a negative seed with a traceback. The parsed
    arguments' `given` is the set of options the command line gave (a default cannot be
    told apart from a given value otherwise)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")

    def parse_args(self, args=None, namespace=None):
        # argparse fills in a default only where the namespace has no value: a marker left
        # in place means the option was not given.
        unset = object()
        actions = [a for a in self._actions if argparse.SUPPRESS not in (a.dest, a.default)]
        parsed = super().parse_args(args, namespace or argparse.Namespace(**{a.dest: unset for a in actions}))
        parsed.given = {a.dest for a in actions if getattr(parsed, a.dest) is not unset}
        for a in actions:
            if a.dest not in parsed.given:
                setattr(parsed, a.dest, self._get_value(a, a.default) if isinstance(a.default, str) else a.default)
        if getattr(parsed, "seed", 0) < 0:
            self.error(ParamError("seed", parsed.seed, "an integer >= 0").render(option))
        return parsed


def option(name):
    """The command-line spelling of a parameter name (`n_in` -> `--n-in`)."""
    return "--" + name.replace("_", "-")


def add_core_options(ap, W=None, S=None, T=None, n_in=64, n_out=16, *, required=False, many=(),
                     bits=True, seed_help="weights seed", early_fire=False):
    """--W --S --T (unless not `bits`), --n-in --n-out --lanes --seed, with this tool's defaults,
    and --early-fire if `early_fire`; `required` makes W, S, T required; the ones named in
    `many` take several values."""
    for name, default in (("W", W), ("S", S), ("T", T), ("n_in", n_in), ("n_out", n_out)):
        if name in ("W", "S", "T") and not bits:
            continue
        lo, hi = RANGES[name]
        several = name in many
        shown = " ".join(map(str, default)) if several and default else default
        ap.add_argument(option(name), type=int, default=default, nargs="+" if several else None,
                        required=required and name in ("W", "S", "T"),
                        help=DESCRIPTIONS[name].format(f"{lo}..{hi}") + ("" if default is None else f" (default {shown})"))
    ap.add_argument("--lanes", type=int, default=None, help="neurons updated per cycle, a divisor of n_out (default n_out)")
    ap.add_argument("--seed", type=int, default=0, help=f"{seed_help} (default 0)")
    if early_fire:
        ap.add_argument("--early-fire", action="store_true",
                        help="end a neuron group's FIRE after one step when none of its membranes is at threshold: "
                             "fewer cycles at low spike rates, a comparator per lane (default off)")


def core_params(args):
    """The CoreParams of parsed `add_core_options` (W, S, T given)."""
    return CoreParams(args.W, args.S, args.T, args.n_in, args.n_out, args.lanes,
                      early_fire=getattr(args, "early_fire", False))


def add_network_options(ap):
    """--calibration-data and --calibration-labels, for quantizing a float --network graph."""
    ap.add_argument("--calibration-data", metavar="X.npy", help="with a float NIR --network: inputs (N, n_in) in the "
                    "graph's own scale, to fit the quantization to and to compare the float and integer networks on")
    ap.add_argument("--calibration-labels", metavar="Y.npy", help="their classes (N,): accuracies in the comparison")


def network_bits(args):
    """The keyword arguments of gen.nirgraph.load_network from parsed options: W, S and T only
    where the command line gave them (a tool's defaults must not contradict the file)."""
    return {**{k: getattr(args, k) if k in args.given else None for k in ("W", "S", "T")},
            "calibration": args.calibration_data, "labels": args.calibration_labels}


def message(error):
    """An exception's one line, parameters spelled as options."""
    return error.render(option) if isinstance(error, ParamError) else str(error)


def exit_status(error, usage=()):
    """The exit status an exception stands for, or None (a bug: let it raise)."""
    status = getattr(error, "exit_status", None)
    return 2 if status is None and isinstance(error, usage) else status


def report(prog, error):
    print(f"{prog}: error: {message(error)}", file=sys.stderr)


def command(prog, usage=()):
    """Decorator for a `main(argv) -> status`: an exception with an exit status (or one of the
    `usage` types, status 2) becomes one line on stderr and that status, never a traceback."""
    def wrap(main):
        @functools.wraps(main)
        def run(argv=None):
            try:
                return main(argv)
            except Exception as e:
                status = exit_status(e, usage)
                if status is None:
                    raise
                report(prog, e)
                return status
        return run
    return wrap
