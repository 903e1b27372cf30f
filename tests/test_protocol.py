"""boards.protocol: frames and their check byte."""

import pytest

from boards import protocol as P


def test_frame_layout_and_check_byte():
    f = P.frame(P.CMD_BEAT, b"\x01\x02\xff")
    assert f[:5] == bytes([0xA5, 0x03, 0, 3, 0]) and f[5:8] == b"\x01\x02\xff"
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


def test_the_largest_legal_beats_fit_a_frame():
    from sim.beats import QNN, SNN
    from sim.params import RANGES
    n_in, n_out, S, T = RANGES["n_in"][1], RANGES["n_out"][1], RANGES["S"][1], RANGES["T"][1]
    largest = max(P.nbytes(kind.in_bits(n_in, S, T)) for kind in (SNN, QNN))
    assert largest == 7168 and largest <= P.MAX_PAYLOAD                # the QNN's B = 14 bits x 4096
    data = bytearray(P.frame(P.CMD_BEAT, bytes(largest), P.BOARD_SYNC))

    def read(n):
        chunk = bytes(data[:n])
        del data[:n]
        return chunk
    assert P.read_frame(read) == (P.CMD_BEAT, bytes(largest))


class ScriptedPort:
    """A port whose answers are scripted: each write pops the next answer (bytes)."""

    def __init__(self, answers):
        self.answers, self.pending, self.writes, self.drains = list(answers), bytearray(), 0, 0

    def write(self, data):
        self.writes += 1
        self.pending += self.answers.pop(0)

    def read(self, n):
        data = bytes(self.pending[:n])
        del self.pending[:n]
        return data

    def drain(self):
        self.drains += 1
        self.pending.clear()


def board(code, payload=b"", seq=1):
    return P.frame(code, payload, sync=P.BOARD_SYNC, seq=seq)


def test_link_retries_frames_lost_on_the_wire():
    from boards.client import Link
    port = ScriptedPort([board(P.ERR_CHECKSUM), b"", board(P.ERR_TIMEOUT)[:-1] + b"\x00", board(P.CMD_ID, bytes(8), seq=7),
                         board(P.CMD_ID, bytes(8))])
    link = Link(port, retries=4)
    assert link.request(P.CMD_ID) == bytes(8) and link.resent == 4 and port.drains == 4
    port = ScriptedPort([board(P.ERR_OVERRUN, seq=1)] * 3)
    with pytest.raises(P.LinkError, match=r"UART overrun.*after 2 retries"):
        Link(port, retries=2).request(P.CMD_CYCLES)


def test_link_resends_a_beat_with_its_seq_and_stops_at_a_deterministic_error():
    from boards.client import Link
    port = ScriptedPort([board(P.ERR_FRAMING), b"", board(P.CMD_BEAT, b"\x01")])
    written = []
    port.write, write = (lambda data: (written.append(data), write(data))), port.write
    link = Link(port, retries=3)
    assert link.request(P.CMD_BEAT, b"\x00") == b"\x01" and link.resent == 2
    assert written == [P.frame(P.CMD_BEAT, b"\x00", seq=1)] * 3     # the board answers a seq it ran again
    with pytest.raises(P.LinkError, match="unknown command"):       # no retry
        Link(ScriptedPort([board(P.ERR_COMMAND)]), retries=3).request(P.CMD_THRESHOLD, b"\x00")
