"""SpramWeightMemory: a core's weights in the iCE40 UP5K's single-port RAM (SB_SPRAM256KA),
loaded at run time through a write port.

The UP5K has 120 kbit of block RAM but 1 Mbit of SPRAM: four SB_SPRAM256KA cells of 16K x
16 bits. Here up to four sit side by side, so one word is up to 64 bits (8 eight-bit
weights per cycle) and the memory up to 16K words deep. SPRAM is not initialised by the
bitstream: whoever drives `load` (a testbench, later the board's host link or a flash
reader) writes every word before the first beat, while the core is idle.
"""

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, Signal
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from sim.params import ParamError

from .weight_memory import WeightMemory

DEPTH, WIDTH, CELLS = 1 << 14, 16, 4     # one SB_SPRAM256KA: 16K x 16 bits; a UP5K has 4


def spram_lanes(W):
    """The most lanes of W-bit weights one word of the SPRAMs side by side holds."""
    return WIDTH * CELLS // W


def cells(params):
    """SB_SPRAM256KA cells side by side for one weight word."""
    return -(-params.lanes * params.W // WIDTH)


def load_signature(params):
    """The write port, as the loader drives it: word `addr` (the layout of
    `gen.weights.weight_words`) is written with `data` in a cycle where `we` is high."""
    return wiring.Signature({"addr": Out(range(params.n_in * params.groups)),
                             "data": Out(params.lanes * params.W), "we": Out(1)})


class SpramWeightMemory(wiring.Component):
    """`gen.weight_memory.WeightMemory`'s interface (`addr`, `en`, `row`, `address`; `row`
    holds the word at `addr` two cycles after `addr` was presented with `en` high: one in
    the SPRAM's registered output, one in the weight register) plus `load`, the write
    port. A write takes the SPRAM for its cycle (it wins over a read); the engine reads
    only in INTEGRATE, so loading while the core is idle never collides. `weights` is
    unused (the engine passes them to any weight memory): the loader writes them."""

    def __init__(self, params, weights=None):
        self.params, self.cells = self.check(params), cells(params)
        super().__init__({"addr": In(range(params.n_in * params.groups)), "en": In(1),
                          "row": Out(data.ArrayLayout(params.W, params.lanes)),
                          "load": In(load_signature(params))})

    @classmethod
    def core_ports(cls, params):
        """The members a core using this memory adds to its signature: the write port."""
        return {"load": In(load_signature(cls.check(params)))}

    @staticmethod
    def check(params):
        """`params` if its weights fit four SPRAMs side by side, else ParamError."""
        bits, depth = params.lanes * params.W, params.n_in * params.groups
        if bits > WIDTH * CELLS:
            raise ParamError("lanes", params.lanes, f"lanes*W <= {WIDTH * CELLS}",
                             "{name} {value} with {W} {w} makes a {bits}-bit weight word, too wide for "
                             f"{CELLS} SPRAMs: legal is {{legal}}", w=params.W, bits=bits)
        if depth > DEPTH:
            raise ParamError("lanes", params.lanes, f"n_in*n_out/lanes <= {DEPTH}",
                             "{name} {value} with {n_in} {i} {n_out} {o} makes {depth} weight words, too deep "
                             "for SPRAM: legal is {legal}", i=params.n_in, o=params.n_out, depth=depth)
        return params

    address = WeightMemory.address      # the same word layout

    def elaborate(self, platform):
        m = Module()
        p, load = self.params, self.load
        write, address = load.we, Signal(range(DEPTH))
        m.d.comb += address.eq(Mux(write, load.addr, self.addr))
        word = Cat(load.data, Const(0, self.cells * WIDTH - len(load.data)))
        out = [Signal(WIDTH, name=f"dataout{i}") for i in range(self.cells)]
        for i in range(self.cells):
            # POWEROFF is active low; MASKWREN writes all four nibbles
            m.submodules[f"spram{i}"] = Instance(
                "SB_SPRAM256KA", i_ADDRESS=address, i_DATAIN=word[i * WIDTH:(i + 1) * WIDTH], i_MASKWREN=0b1111,
                i_WREN=write, i_CHIPSELECT=write | self.en, i_CLOCK=ClockSignal(), i_STANDBY=0, i_SLEEP=0,
                i_POWEROFF=1, o_DATAOUT=out[i])
        m.d.sync += self.row.eq(Cat(out)[:p.lanes * p.W])
        return m
