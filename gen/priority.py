"""Find the lowest set bit of a wide vector in logarithmic depth (the event scanner)."""

from amaranth.hdl import Cat, Const, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


class FirstSet(wiring.Component):
    """`first` is `i` with every bit but the lowest set one cleared; `any` says one is set.

    A Kogge-Stone prefix OR gives, for each bit, whether a lower bit is set: depth
    log2(width), no carry chain across the whole vector.
    """

    def __init__(self, width):
        self.width = width
        super().__init__({"i": In(width), "first": Out(width), "any": Out(1)})

    def elaborate(self, platform):
        m = Module()
        prefix = self.i  # prefix[k] = OR of i[0..k]
        shift = 1
        while shift < self.width:
            level = Signal(self.width, name=f"prefix{shift}")
            m.d.comb += level.eq(prefix | (prefix << shift)[:self.width])
            prefix, shift = level, shift * 2
        below = Cat(Const(0, 1), prefix[:-1])
        m.d.comb += [
            self.first.eq(self.i & ~below),
            self.any.eq(prefix[-1]),
        ]
        return m


def onehot_index(onehot, width=None):
    """Binary index of the set bit of a one-hot (or all-zero) vector: an OR per index bit."""
    n = len(onehot)
    width = width if width is not None else max(1, (n - 1).bit_length())
    return Cat(*(Cat(*(onehot[i] for i in range(n) if i >> b & 1), Const(0, 1)).any()
                 for b in range(width)))
