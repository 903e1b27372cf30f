"""The command lines' shared argument parser: a usage error is one line on stderr and exit status 2."""

import argparse


class UsageParser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")
