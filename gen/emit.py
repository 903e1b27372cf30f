"""Verilog (and any Amaranth text output) that does not depend on where the checkout is.

Amaranth records each cell's Python location in a `src` attribute as an absolute path
(a default core's Verilog has ~1000 of them), so the Verilog, its manifest and the
bitstream built from it would differ between two checkout folders. `relative_sources`
rewrites every path in a `src` attribute relative to the folder that holds `gen` (the
project's own files: `gen/fire.py:12`) or to the `sys.path` entry it is under
(Amaranth's and the standard library's files: `amaranth/hdl/_ir.py:..`,
`contextlib.py:..`); the longest match wins, so a venv inside the checkout still gives
package-relative paths. `reports.activity.source_block` reads these as it read the
absolute ones. Every place that turns a design into Verilog calls `verilog` here (which also emits
memory contents fast: `gen.meminit`).

A submodule named by `kept` (`m.submodules[kept("scan")]`) keeps its own module through
synthesis: `verilog` marks that module `keep_hierarchy`, so yosys maps it on its own and
`reports.flow` flattens it only after mapping. Mapped with the rest, a small priority
encoder's logic was merged with its neighbours' into long chains of LUTs (ABC trades depth
for area wherever its model says a path has slack): see gen.priority.HeldChunkQueue.
"""

import contextlib
import os
import re
import sys

from amaranth.back import rtlil
from amaranth.back import verilog as _verilog

from .meminit import fast_meminit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # the folder holding `gen`
# `src = "..."` in Verilog, `attribute \src "..."` in RTLIL
SRC = re.compile(r'((?:\(\*|,)\s*src\s*=\s*"|\\src\s+")([^"]*)(")')
KEPT = "kept_"
# an RTLIL module whose last name part starts with KEPT
KEPT_MODULE = re.compile(r"^(module \\(?:\S*\.)?" + KEPT + r"[^.\s]*)$", re.M)


def kept(name):
    """The name of a submodule that keeps its own module through synthesis (see above)."""
    return KEPT + name


def mark_kept(rtlil_text):
    """`rtlil_text` with the `keep_hierarchy` attribute on each module named by `kept`."""
    return KEPT_MODULE.sub(lambda m: "attribute \\keep_hierarchy 1\n" + m[1], rtlil_text)


def _roots():
    roots = {ROOT} | {os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)}
    return sorted((r for r in roots if r != os.sep), key=len, reverse=True)


def _relative(location, roots):
    path, sep, line = location.partition(":")
    if os.path.isabs(path):
        root = next((r for r in roots if path.startswith(r + os.sep)), None)
        if root is not None:
            path = os.path.relpath(path, root).replace(os.sep, "/")
    return path + sep + line


def relative_sources(text):
    """`text` with every path in its `src` attributes made relative (see the module doc)."""
    roots = _roots()
    return SRC.sub(lambda m: m[1] + "|".join(_relative(loc, roots) for loc in m[2].split("|")) + m[3], text)


def verilog(design, name, step=lambda what: contextlib.nullcontext()):
    """`amaranth.back.verilog.convert(design, name=name)` with relative `src` paths, in its
    two steps (Amaranth: elaboration, netlist, RTLIL; yosys: Verilog), each run inside the
    context manager `step(what)` (`gen.build.progress` says how long a slow one took)."""
    with step("elaboration and RTLIL"), fast_meminit():
        text = mark_kept(rtlil.convert(design, name=name))
    with step("yosys to Verilog"):
        return relative_sources(_verilog._convert_rtlil_text(text))
