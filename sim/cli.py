"""The command lines' shared argument parser: a usage error is one line on stderr and exit status 2."""

import argparse


class UsageParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_core_params(ap, seed_help="weights seed (default 0)"):
    """The core options the board tools share, defaulting to the default core."""
    ap.add_argument("--W", type=int, default=8, help="weight bits (default 8)")
    ap.add_argument("--S", type=int, default=2, help="spike bits (default 2)")
    ap.add_argument("--T", type=int, default=2, help="timesteps (default 2)")
    ap.add_argument("--n-in", type=int, default=64, help="fan-in (default 64)")
    ap.add_argument("--n-out", type=int, default=16, help="neurons (default 16)")
    ap.add_argument("--lanes", type=int, default=None, help="neurons updated per cycle (default n_out)")
    ap.add_argument("--seed", type=int, default=0, help=seed_help)
