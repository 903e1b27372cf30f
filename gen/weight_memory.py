"""WeightMemory: a core's weights in block RAM and the weight register after its read port."""

from amaranth.hdl import Module, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from .weights import weight_words


class WeightMemory(wiring.Component):
    """Word `j*G + g` holds the weights of neurons `g*lanes .. g*lanes+lanes-1` for input j
    (lane l at [l*W +: W]). `row` is the weight register: it holds the word at `addr`
    two cycles after `addr` was presented with `en` high (one in the memory's synchronous
    read port, one in the register, which keeps the memory's output off the adder's path).
    With `en` low the memory does not read and `row` holds still: the block RAM's read
    energy is paid per event, not per cycle (default SNN core at 10 %, UP5K gate level:
    block RAM reads 1225 -> 737 pJ per inference, weight register 896 -> 768)."""

    def __init__(self, params, weights):
        self.params, self.weights = params, weights
        super().__init__({"addr": In(range(params.n_in * params.groups)), "en": In(1),
                          "row": Out(data.ArrayLayout(params.W, params.lanes))})

    def address(self, j, group):
        """The word of input `j`'s weights for neuron group `group`."""
        return j * self.params.groups + group

    def elaborate(self, platform):
        m = Module()
        p = self.params
        # `ram_style`, as yosys keeps a small ROM in LUTs otherwise
        m.submodules.memory = memory = Memory(shape=unsigned(p.lanes * p.W), depth=p.n_in * p.groups,
                                              init=weight_words(p, self.weights), attrs={"ram_style": "block"})
        read = memory.read_port()
        m.d.comb += [read.addr.eq(self.addr), read.en.eq(self.en)]
        m.d.sync += self.row.eq(read.data)
        return m

    @staticmethod
    def core_ports(params):
        """The members a core using this memory adds to its signature (none: the weights are
        in the bitstream; `gen.spram.SpramWeightMemory` adds its write port)."""
        return {}
