"""boards.protocol: frames and their check byte."""

import pytest

from boards import protocol as P


def test_frame_layout_and_check_byte():
    f = P.frame(P.CMD_BEAT, b"\x01\x02\xff")
    assert f[:4] == bytes([0xA5, 0x03, 3, 0]) and f[4:7] == b"\x01\x02\xff"
    assert sum(f[1:]) % 256 == 0


def test_read_frame_round_trip_and_errors():
    data = P.frame(P.CMD_CYCLES, b"\x10\x00\x00\x00", sync=P.BOARD_SYNC)
    stream = bytearray(data)

    def read(n):
        chunk = bytes(stream[:n])
        del stream[:n]
        return chunk

    assert P.read_frame(read) == (P.CMD_CYCLES, b"\x10\x00\x00\x00")
    with pytest.raises(P.LinkError, match="no answer"):
        P.read_frame(read)
    stream.extend(data[:-1] + bytes([data[-1] ^ 1]))
    with pytest.raises(P.LinkError, match="bad checksum"):
        P.read_frame(read)
    with pytest.raises(ValueError, match="at most 65535"):
        P.frame(P.CMD_BEAT, bytes(65536))
