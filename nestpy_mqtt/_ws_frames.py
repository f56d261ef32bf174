"""Pure, sans-I/O: the client side of RFC 6455 WebSocket framing, as MQTT over WebSocket uses it.

``FrameReader`` is fed the bytes the server sent and returns the payload of its binary data
frames, fragmented or not, as one stream (MQTT packets do not follow frame boundaries); it
answers PING with PONG and CLOSE with CLOSE through ``data_to_send()``, and ends the stream
after a CLOSE. ``encode_frame`` makes one masked client frame. No socket, no clock, no paho.
"""

from __future__ import annotations

import os

__all__ = ["FrameError", "FrameReader", "close_frame", "encode_frame", "mask"]

CONTINUATION, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class FrameError(ValueError):
    """The server broke RFC 6455 or MQTT's use of it (MQTT: binary frames only)."""

    def __init__(self, message: str, code: int = 1002) -> None:
        super().__init__(message)
        self.code = code
        """The close status code to send: 1002 protocol error, 1003 unacceptable data."""


def mask(data: bytes | bytearray | memoryview, key: bytes, offset: int = 0) -> bytes:
    """``data`` XOR the 4-byte ``key``, starting ``offset`` bytes into the key (RFC 6455 5.3).

    One big-integer XOR, not a loop over bytes. Masking twice gives ``data`` back.
    """
    size = len(data)
    if not size:
        return b""
    if offset % 4:
        key = key[offset % 4 :] + key[: offset % 4]
    keys = (key * (size // 4 + 1))[:size]
    value = int.from_bytes(data, "little") ^ int.from_bytes(keys, "little")
    return value.to_bytes(size, "little")


def encode_frame(payload: bytes | bytearray | memoryview, opcode: int = BINARY) -> bytes:
    """One final client frame carrying ``payload``, masked with a fresh random key."""
    size = len(payload)
    if size < 126:
        head = bytes((0x80 | opcode, 0x80 | size))
    elif size < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0xFF)) + size.to_bytes(8, "big")
    key = os.urandom(4)
    return head + key + mask(payload, key)


def close_frame(code: int = 1000) -> bytes:
    """A client CLOSE frame with status ``code``."""
    return encode_frame(code.to_bytes(2, "big"), CLOSE)


class FrameReader:
    """Server frames in, binary payload bytes out; control frames answered (sans-I/O).

    Server frames should be unmasked; a masked one is unmasked all the same (paho's reader
    accepts them too). Violations raise ``FrameError``: unknown opcodes, reserved bits (no
    extension is ever negotiated), text frames (MQTT 3.1.1 section 6 and MQTT 5 section 6:
    binary only), continuation frames out of place, control frames fragmented or longer than
    125 bytes, lengths of 2**63 or more.
    """

    __slots__ = ("_buf", "_fragmented", "_key", "_left", "_offset", "_out", "closed")

    def __init__(self) -> None:
        self._buf = b""  # an incomplete frame header, or an incomplete control frame
        self._left = 0  # payload bytes of the current data frame still to come
        self._key: bytes | None = None  # the current data frame's mask key (if masked)
        self._offset = 0  # how far into that frame's payload we are (for the mask)
        self._fragmented = False  # a data message is open: continuation frames follow
        self._out: list[bytes] = []
        self.closed = False
        """The server sent CLOSE: the stream has ended (later bytes are ignored)."""

    def data_to_send(self) -> bytes:
        """Frames to send back (PONG, the CLOSE reply), once; empty when there are none."""
        out, self._out = self._out, []
        return b"".join(out)

    def receive(self, data: bytes) -> bytes:
        """Feed bytes the server sent; return the binary payload bytes they completed."""
        if self.closed:
            return b""
        if self._buf:
            data, self._buf = self._buf + data, b""
        parts: list[bytes] = []
        pos, end = 0, len(data)
        while pos < end:
            left = self._left
            if left:  # inside a data frame: its payload, as far as it has come
                take = min(left, end - pos)
                chunk = data[pos : pos + take]
                if self._key is not None:
                    chunk = mask(chunk, self._key, self._offset)
                    self._offset += take
                parts.append(chunk)
                self._left = left - take
                pos += take
                continue
            header = self._header(data, pos, end)
            if header is None:
                self._buf = data[pos:]
                break
            pos = self._frame(data, pos, end, *header)
            if pos < 0:  # an incomplete control frame
                self._buf = data[-pos - 1 :]
                break
            if self.closed:
                break
        if len(parts) == 1:
            return parts[0]
        return b"".join(parts)

    @staticmethod
    def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int, bytes | None] | None:
        # (first byte, payload length, header length, mask key) or None: not all here yet.
        if end - pos < 2:
            return None
        first, second = data[pos], data[pos + 1]
        size, head = second & 0x7F, 2
        if size == 126:
            if end - pos < 4:
                return None
            size, head = int.from_bytes(data[pos + 2 : pos + 4], "big"), 4
        elif size == 127:
            if end - pos < 10:
                return None
            size, head = int.from_bytes(data[pos + 2 : pos + 10], "big"), 10
            if size >> 63:
                msg = "WebSocket frame length of 2**63 or more"
                raise FrameError(msg)
        key = None
        if second & 0x80:
            if end - pos < head + 4:
                return None
            key = data[pos + head : pos + head + 4]
            head += 4
        return first, size, head, key

    def _frame(
        self, data: bytes, pos: int, end: int, first: int, size: int, head: int, key: bytes | None
    ) -> int:
        # Handle the frame whose header starts at pos; the position after what was used, or
        # -(pos + 1) when a control frame is not all here yet.
        if first & 0x70:
            msg = "WebSocket frame with reserved bits set (no extension was negotiated)"
            raise FrameError(msg)
        opcode, final = first & 0x0F, bool(first & 0x80)
        if opcode >= 8:
            if opcode not in (CLOSE, PING, PONG):
                msg = f"WebSocket frame with unknown control opcode {opcode:#x}"
                raise FrameError(msg)
            if not final or size > 125:
                msg = "WebSocket control frame fragmented or longer than 125 bytes"
                raise FrameError(msg)
            stop = pos + head + size
            if stop > end:
                return -(pos + 1)
            body = data[pos + head : stop]
            if key is not None:
                body = mask(body, key)
            if opcode == PING:
                self._out.append(encode_frame(body, PONG))
            elif opcode == CLOSE:
                code = int.from_bytes(body[:2], "big") if len(body) >= 2 else 1000
                self._out.append(close_frame(code))
                self.closed = True
            return stop
        if opcode == CONTINUATION:
            if not self._fragmented:
                msg = "WebSocket continuation frame without a message to continue"
                raise FrameError(msg)
        elif opcode == BINARY:
            if self._fragmented:
                msg = "WebSocket binary frame inside a fragmented message"
                raise FrameError(msg)
        elif opcode == TEXT:
            msg = "WebSocket text frame: MQTT is carried in binary frames only"
            raise FrameError(msg, 1003)
        else:
            msg = f"WebSocket frame with unknown data opcode {opcode:#x}"
            raise FrameError(msg)
        self._fragmented = not final
        self._left, self._key, self._offset = size, key, 0
        return pos + head
