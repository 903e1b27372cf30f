"""The board top: UART (8N1) <-> HostLink <-> an SNN core (or a chain of cores), and
three status LEDs. A core with its weights in SPRAM has them written over the link
(WEIGHTS, `boards.link.WeightLoader`)."""

from amaranth.build import ResourceError
from amaranth.hdl import Cat, Elaboratable, Module
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out

from gen.manifest import core_id
from gen.snn import SNNCore

from .link import HostLink
from .protocol import timeout_cycles
from .uart import UARTRx, UARTTx

LEDS = ("error", "idle", "busy")   # iCEBreaker: red LED = error, green = idle


class BoardTop(wiring.Component):
    """`rx`/`tx` are the UART pins; `leds` are, in LEDS order: error (the last answer
    was an error frame; cleared by the next good one), idle (no frame in progress, no
    error) and busy (a frame is being received, run or answered)."""

    rx: In(1, init=1)
    tx: Out(1, init=1)
    leds: Out(len(LEDS))

    def __init__(self, core, ident, divisor):
        """`core`: an SNNCore or a gen.chain.Chain; `ident`: its 8-byte id for the ID command;
        `divisor`: clock cycles per UART bit (the link's timeout is `protocol.timeout_cycles`)."""
        self.core, self.core_id, self.divisor = core, ident, divisor
        self.timeout = timeout_cycles(divisor)
        super().__init__()

    @classmethod
    def for_core(cls, params, weights, divisor, weight_memory=None):
        """`weight_memory`: None (block RAM, initialised by the bitstream), or a class such as
        `gen.spram.SpramWeightMemory` whose weights the host loads (`boards.client.load_weights`);
        the id still names `weights`, which holds only once the host has verified the load."""
        return cls(SNNCore(params, weights, weight_memory), core_id(params, weights), divisor)

    def elaborate(self, platform):
        m = Module()
        m.submodules.uart_rx = rx = UARTRx(self.divisor)
        m.submodules.uart_tx = tx = UARTTx(self.divisor)
        m.submodules.link = link = HostLink(self.core, self.core_id, self.timeout)
        wiring.connect(m, rx.o, link.rx)
        wiring.connect(m, link.tx, tx.i)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx), link.framing_error.eq(rx.framing_error),
                     link.overrun.eq(rx.overrun),
                     self.leds.eq(Cat(link.error, ~link.busy & ~link.error, link.busy))]
        return m


class PlatformTop(Elaboratable):
    """BoardTop on an amaranth-boards platform: its `uart` and first LEDs."""

    def __init__(self, core, ident, baud):
        self.core, self.ident, self.baud = core, ident, baud

    def elaborate(self, platform):
        m = Module()
        divisor = int(platform.default_clk_frequency // self.baud)
        m.submodules.top = top = BoardTop(self.core, self.ident, divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.rx = rx = io.Buffer("i", uart.rx)
        m.submodules.tx = tx = io.Buffer("o", uart.tx)
        m.d.comb += [top.rx.eq(rx.i), tx.o.eq(top.tx)]
        for i in range(len(LEDS)):
            try:
                m.submodules[f"led{i}"] = led = io.Buffer("o", platform.request("led", i, dir="-"))
            except ResourceError:   # boards with fewer LEDs show the first ones
                break
            m.d.comb += led.o.eq(top.leds[i])
        return m
