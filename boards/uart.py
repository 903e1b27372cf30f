"""UART, 8N1, with `lib.stream` byte interfaces (no maintained Amaranth UART package is on
the package index). `divisor` is clock cycles per bit: clock frequency / baud."""

from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.wiring import In, Out


class _UART(wiring.Component):
    def __init__(self, divisor):
        if divisor < 4:
            self._MustUse__silence = True      # refused, so no "never used" warning for it
            raise ValueError(f"UART divisor {divisor} is too small: the clock must be at least 4x the baud rate")
        self.divisor = divisor
        super().__init__()


class UARTTx(_UART):
    """Sends each byte of `i` as start bit, 8 data bits LSB first, stop bit on `tx`."""

    i: In(stream.Signature(8))
    tx: Out(1, init=1)

    def elaborate(self, platform):
        m = Module()
        frame = Signal(10)                  # bits still to send, LSB first
        left = Signal(range(11))
        timer = Signal(range(self.divisor))
        m.d.comb += self.i.ready.eq(left == 0)
        with m.If(self.i.valid & self.i.ready):
            m.d.sync += [frame.eq(Cat(0, self.i.payload, 1)), left.eq(10), timer.eq(0)]
        with m.Elif(left != 0):
            m.d.sync += [self.tx.eq(frame[0]), timer.eq(timer + 1)]
            with m.If(timer == self.divisor - 1):
                m.d.sync += [timer.eq(0), frame.eq(frame >> 1), left.eq(left - 1)]
        with m.Else():
            m.d.sync += self.tx.eq(1)
        return m


class UARTRx(_UART):
    """Receives bytes from `rx` into `o`. A byte whose stop bit is 0 is dropped and pulses
    `framing_error`; a byte that arrives while `o` still holds one pulses `overrun`."""

    rx: In(1, init=1)
    o: Out(stream.Signature(8))
    framing_error: Out(1)
    overrun: Out(1)

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bits = Signal(9)                    # 8 data bits then the stop bit, shifted in at the top
        count = Signal(range(10))
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += self.o.valid.eq(0)
        m.d.sync += [self.framing_error.eq(0), self.overrun.eq(0)]
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):            # confirm the start bit at its middle
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    with m.If(rx):                # a glitch, not a start bit
                        m.next = "IDLE"
                    with m.Else():
                        m.d.sync += [timer.eq(self.divisor - 1), count.eq(9)]
                        m.next = "BITS"
            with m.State("BITS"):             # sample each bit at its middle
                m.d.sync += timer.eq(timer - 1)
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.divisor - 1), bits.eq(Cat(bits[1:], rx)), count.eq(count - 1)]
                    with m.If(count == 1):
                        m.next = "DONE"
            with m.State("DONE"):
                with m.If(~bits[8]):
                    m.d.sync += self.framing_error.eq(1)
                with m.Elif(self.o.valid & ~self.o.ready):
                    m.d.sync += self.overrun.eq(1)
                with m.Else():
                    m.d.sync += [self.o.payload.eq(bits[:8]), self.o.valid.eq(1)]
                m.next = "WAIT_IDLE"
            with m.State("WAIT_IDLE"):        # a framing error may leave the line low
                with m.If(rx):
                    m.next = "IDLE"
        return m
