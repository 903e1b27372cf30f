"""The host link's framing, shared by the gateware (`boards.link`) and the host client.

A frame is `sync, code, seq, length (2 bytes), payload[length], check`, with `check` chosen
so that code + seq + both length bytes + payload + check == 0 (mod 256). Host to board:
sync 0xA5 and a command code; board to host: sync 0x5A and the command's code (success)
or an error code. Multi-byte values are little-endian. `seq` numbers the host's requests
(a resent request keeps its number); an answer carries its request's. A command with the
same code and seq as the last one the board ran is not run again: the board sends that
answer again, so a request whose answer was lost can be resent safely (a BEAT must not
run twice: it advances the core's timestep). The 16-bit length carries any legal beat: the
largest is 4096 inputs x 8 bits = 4096 bytes (SNN), 7168 bytes for a QNN twin (B = 14).

A receiver that has started a frame and gets no byte for `TIMEOUT_BYTES` byte times
returns to hunting for a sync byte and answers ERR_TIMEOUT: a truncated or corrupted frame
costs at most that gap, after which any valid frame is accepted.

WEIGHTS (only for a core whose weights are in SPRAM, which the bitstream does not
initialise) writes weights: payload = a start word (2 bytes) and whole words of
`nbytes(lanes*W)` bytes each (`gen.weights.weight_words`' layout), written at start,
start+1, ... as their bytes arrive (the board has no room for a frame-sized buffer). A
65535-byte frame holds at most 8191 eight-byte words, so a big layer takes several frames.
An empty payload asks for the load check: CRC-32 (4 bytes) and word count (2 bytes) of
every load byte received since the last payload with start word 0 (`load_check`). Bytes of a
frame that later fails (bad checksum, timeout, ...) are written and counted too, so any
disturbance during a load shows as a mismatch and the host loads again. The board answers
BEAT with ERR_NOT_LOADED until exactly all of the core's words were received since that
start; whether they are the right ones, only the host can tell from the check.
"""

import zlib

HOST_SYNC, BOARD_SYNC = 0xA5, 0x5A
CMD_ID, CMD_THRESHOLD, CMD_BEAT, CMD_CYCLES, CMD_WEIGHTS = 0x01, 0x02, 0x03, 0x04, 0x05
ERR_CHECKSUM, ERR_LENGTH, ERR_COMMAND, ERR_FRAMING, ERR_OVERRUN, ERR_TIMEOUT = 0xE1, 0xE2, 0xE3, 0xE4, 0xE5, 0xE6
ERR_NOT_LOADED = 0xE7
ERRORS = {ERR_CHECKSUM: "bad checksum", ERR_LENGTH: "bad length", ERR_COMMAND: "unknown command",
          ERR_FRAMING: "UART framing error", ERR_OVERRUN: "UART overrun (a byte was lost)",
          ERR_TIMEOUT: "frame timed out (truncated)", ERR_NOT_LOADED: "weights not loaded (load them first)"}
# Errors that mean the board dropped the frame on the wire (nothing ran): resending is safe.
TRANSIENT = {ERR_CHECKSUM, ERR_FRAMING, ERR_OVERRUN, ERR_TIMEOUT}
ID_BYTES, CYCLE_BYTES, LENGTH_BYTES = 8, 4, 2
HEADER_BYTES = 3 + LENGTH_BYTES          # sync, code, seq, length
MAX_PAYLOAD = 2 ** (8 * LENGTH_BYTES) - 1
BITS_PER_BYTE = 10                       # 8N1: start, 8 data, stop
# Why 32: at 115200 baud that is 2.8 ms, longer than a USB serial adapter's gaps inside
# one write, and short enough that a host retry waits only a few milliseconds.
TIMEOUT_BYTES = 32
START_BYTES, CHECK_BYTES, COUNT_BYTES = 2, 4, 2     # WEIGHTS: start word; the answer's check and count
# The load check is CRC-32 (zlib's: reflected polynomial, all-ones start and final xor) of
# the load payloads as received, start words included. Unlike a sum of the words it
# catches words swapped or written at the wrong address (a CRC depends on order, and the
# start words are in it) and two changes that cancel; it catches every error burst up to
# 32 bits, and lets other corruption through with probability 2^-32 (the frame's check
# byte: 1/256). The gateware pays 32 flip-flops and one byte step's XOR network.
CRC32_POLY = 0xEDB88320


def nbytes(bits):
    return (bits + 7) // 8


def timeout_cycles(divisor):
    """The receiver's inter-byte timeout in clock cycles, for `divisor` cycles per bit."""
    return TIMEOUT_BYTES * BITS_PER_BYTE * divisor


def check_byte(code, payload, seq=0):
    n = len(payload)
    return -(code + seq + (n & 0xFF) + (n >> 8) + sum(payload)) & 0xFF


def frame(code, payload=b"", sync=HOST_SYNC, seq=0):
    payload = bytes(payload)
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"payload of {len(payload)} bytes: at most {MAX_PAYLOAD} fit a frame")
    return bytes([sync, code, seq]) + len(payload).to_bytes(LENGTH_BYTES, "little") + payload \
        + bytes([check_byte(code, payload, seq)])


def to_bytes(value, bits):
    return int(value).to_bytes(nbytes(bits), "little")


def weight_payloads(words, word_bytes, max_payload=MAX_PAYLOAD):
    """The WEIGHTS payloads that write `words` (ints of `word_bytes` bytes) from word 0."""
    per = (max_payload - START_BYTES) // word_bytes
    return [start.to_bytes(START_BYTES, "little") + b"".join(w.to_bytes(word_bytes, "little") for w in words[start:start + per])
            for start in range(0, len(words), per)]


def load_check(payloads, word_bytes):
    """The board's answer to an empty WEIGHTS after these payloads (the first starting at
    word 0), as (CRC-32, word count)."""
    return zlib.crc32(b"".join(payloads)), sum((len(p) - START_BYTES) // word_bytes for p in payloads)


class LinkError(Exception):
    """The board answered with an error code, or not with a well-formed frame."""
    exit_status = 2     # on the command line, like a usage error


def read_frame(read):
    """Read one board frame with `read(n) -> bytes`; returns (code, payload)."""
    code, _, payload = read_answer(read)
    return code, payload


def read_answer(read):
    """Read one board frame with `read(n) -> bytes`; returns (code, seq, payload)."""
    head = read(HEADER_BYTES)
    if len(head) < HEADER_BYTES:
        raise LinkError(f"no answer from the board (got {head.hex() or 'nothing'})")
    if head[0] != BOARD_SYNC:
        raise LinkError(f"bad sync byte 0x{head[0]:02x} from the board")
    code, seq, length = head[1], head[2], int.from_bytes(head[3:], "little")
    rest = read(length + 1)
    if len(rest) < length + 1:
        raise LinkError("the board's frame was cut short")
    payload = rest[:length]
    if rest[-1] != check_byte(code, payload, seq):
        raise LinkError("bad checksum in the board's frame")
    return code, seq, payload
