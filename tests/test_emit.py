"""gen.emit: `src` paths relative to the checkout and to the packages, so the same core gives
the same Verilog and manifest from any checkout folder, with every `src` attribute kept."""

import hashlib
import os
import re
import shutil
import subprocess
import sys

import amaranth

from gen import emit
from reports.activity import source_block

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGES = ("gen", "sim", "boards", "reports")


def copy_checkout(dest):
    """The project's packages (not its build outputs) in another folder."""
    for package in PACKAGES:
        shutil.copytree(os.path.join(ROOT, package), os.path.join(dest, package),
                        ignore=shutil.ignore_patterns("__pycache__", "out"))
    return dest


def run_module(cwd, *argv):
    """`python -m ...` in `cwd`, which then imports the project from `cwd`."""
    return subprocess.run([sys.executable, "-m", *argv], cwd=cwd, capture_output=True, text=True)


def test_paths_become_relative_to_the_project_and_the_packages():
    amaranth_file = os.path.join(os.path.dirname(amaranth.__file__), "hdl", "_ir.py")
    text = (f'(* src = "{ROOT}/gen/fire.py:12|{amaranth_file}:5" *)\n'
            f'  attribute \\src "{ROOT}/gen/membranes.py:3.1-4.2"\n'
            '(* src = "/elsewhere/x.py:1" *) wire a; // /keep/me\n')
    assert emit.relative_sources(text) == ('(* src = "gen/fire.py:12|amaranth/hdl/_ir.py:5" *)\n'
                                           '  attribute \\src "gen/membranes.py:3.1-4.2"\n'
                                           '(* src = "/elsewhere/x.py:1" *) wire a; // /keep/me\n')
    assert source_block("gen/fire.py:12|amaranth/hdl/_ir.py:5") == "membrane/threshold"
    assert source_block("amaranth/hdl/_dsl.py:7") == "FSM/control"


def test_gen_core_is_byte_identical_from_two_checkout_folders(tmp_path):
    outputs = []
    for folder in (tmp_path / "a", tmp_path / "another-checkout"):
        copy_checkout(folder)
        where = subprocess.run([sys.executable, "-c", "import gen; print(gen.__file__)"], cwd=folder,
                               capture_output=True, text=True).stdout
        assert where.startswith(str(folder))        # guard: the copy, not this checkout, is imported
        result = run_module(folder, "gen.core", "--W", "4", "--S", "1", "--T", "2", "--n-in", "8", "--n-out", "2",
                            "--out", "rtl")
        assert result.returncode == 0, result.stderr
        files = sorted(os.listdir(folder / "rtl"))
        outputs.append({f: hashlib.sha256((folder / "rtl" / f).read_bytes()).hexdigest() for f in files})
        verilog = (folder / "rtl" / "bb_w4s1t2_8x2.v").read_text()
        assert str(tmp_path) not in verilog and ROOT not in verilog
        srcs = re.findall(r'src = "([^"]*)"', verilog)
        assert len(srcs) > 50 and any(s.startswith("gen/fire.py:") for s in srcs)
    assert len(outputs[0]) == 3 and outputs[0] == outputs[1]
