"""The weight memory's initial contents emitted at the speed of a string join, for
`gen.emit.verilog` (every conversion of a design to Verilog).

Amaranth 0.5.10 emits a memory's init as one `Net` object per bit, then joins them back
into one binary constant (`back/rtlil.py`, `ModuleEmitter.emit_memory`). Measured on the
shared 2-core machine: 21 % of a 512 x 128, W=16 core pair's conversion (45 of 211 s,
profiled); one 512 x 2048-bit memory 29.5 s, against 0.5 s here. The init grows with
n_in x n_out, so the largest legal core (4096 words x 16384 bits, SNN and QNN) would
spend about half an hour per memory on it, with 67 M objects alive at once.
`fast_meminit` replaces that one method, for the duration of a conversion, by one that
writes the same constants as strings (the sigspec of an all-constant value is
`{width}'{bits, MSB first}`), in chunks at their addresses, which yosys then reads
faster; the emitted Verilog is byte for byte the same (tests/test_core.py compares it).
With any other Amaranth version it changes nothing.
"""

import contextlib

import amaranth
from amaranth.back import rtlil

PATCHED_VERSION = "0.5.10"


CHUNK_BITS = 1 << 16


def _emit_memory(self, cell_idx, cell):
    """The init as `$meminit_v2` cells of about CHUNK_BITS bits each, at their addresses:
    yosys's time grows faster than the init's size with one cell (1024 x 4096 bits: 43 s
    in one cell, 15 s in 64 Kbit cells) and memory_collect merges them into the same memory."""
    memory_info = self.memories[cell_idx]
    mask = (1 << cell.width) - 1
    per = max(1, CHUNK_BITS // cell.width)
    for start in range(0, len(cell.init), per):
        rows = cell.init[start:start + per]
        bits = "".join(format(row & mask, f"0{cell.width}b") for row in reversed(rows))
        self.builder.cell("$meminit_v2", ports={
            "ADDR": f"32'{start:032b}",
            "DATA": f"{len(bits)}'{bits}",
            "EN": self.sigspec(rtlil._nir.Value.ones(cell.width)),
        }, parameters={
            "MEMID": memory_info.memid,
            "ABITS": 32,
            "WIDTH": cell.width,
            "WORDS": len(rows),
            "PRIORITY": 0,
        }, src_loc=cell.src_loc)


@contextlib.contextmanager
def fast_meminit():
    if amaranth.__version__ != PATCHED_VERSION:
        yield
        return
    original = rtlil.ModuleEmitter.emit_memory
    rtlil.ModuleEmitter.emit_memory = _emit_memory
    try:
        yield
    finally:
        rtlil.ModuleEmitter.emit_memory = original

