"""The host link's framing, shared by the gateware (`boards.link`) and the host client.

A frame is `sync, code, length, payload[length], check`, with `check` chosen so that
code + length + payload + check == 0 (mod 256). Host to board: sync 0xA5 and a command
code; board to host: sync 0x5A and the command's code (success) or an error code.
Multi-byte values are little-endian.
"""

HOST_SYNC, BOARD_SYNC = 0xA5, 0x5A
CMD_ID, CMD_THRESHOLD, CMD_BEAT, CMD_CYCLES = 0x01, 0x02, 0x03, 0x04
ERR_CHECKSUM, ERR_LENGTH, ERR_COMMAND, ERR_FRAMING = 0xE1, 0xE2, 0xE3, 0xE4
ERRORS = {ERR_CHECKSUM: "bad checksum", ERR_LENGTH: "bad length", ERR_COMMAND: "unknown command",
          ERR_FRAMING: "UART framing error"}
ID_BYTES, CYCLE_BYTES = 8, 4


def nbytes(bits):
    return (bits + 7) // 8


def check_byte(code, payload):
    return -(code + len(payload) + sum(payload)) & 0xFF


def frame(code, payload=b"", sync=HOST_SYNC):
    payload = bytes(payload)
    if len(payload) > 255:
        raise ValueError(f"payload of {len(payload)} bytes: at most 255 fit a frame")
    return bytes([sync, code, len(payload)]) + payload + bytes([check_byte(code, payload)])


def to_bytes(value, bits):
    return int(value).to_bytes(nbytes(bits), "little")


class LinkError(Exception):
    """The board answered with an error code, or not with a well-formed frame."""
    exit_status = 2     # on the command line, like a usage error


def read_frame(read):
    """Read one board frame with `read(n) -> bytes`; returns (code, payload)."""
    head = read(3)
    if len(head) < 3:
        raise LinkError(f"no answer from the board (got {head.hex() or 'nothing'})")
    if head[0] != BOARD_SYNC:
        raise LinkError(f"bad sync byte 0x{head[0]:02x} from the board")
    code, length = head[1], head[2]
    rest = read(length + 1)
    if len(rest) < length + 1:
        raise LinkError("the board's frame was cut short")
    payload = rest[:length]
    if rest[-1] != check_byte(code, payload):
        raise LinkError("bad checksum in the board's frame")
    return code, payload
