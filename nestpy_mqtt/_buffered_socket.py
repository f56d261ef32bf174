"""A plain TCP socket as paho sees it, with a read buffer and a write queue; QoS 0 PUBLISH
packets parsed and written without paho (used by ``_loop_bridge``; paho-free)."""

from __future__ import annotations

import contextlib
import socket
from typing import Any

__all__ = ["BufferedSocket", "fixed_header", "parse_qos0_publish", "topic_header"]

_READ_SIZE = 65536
_MAX_REMAINING_LENGTH = 268_435_455


class BufferedSocket:
    """A plain TCP socket as paho sees it, with a read-ahead buffer and a write queue.

    ``recv`` is served from 64 KiB reads; ``send`` only queues, and ``flush`` writes the queue
    in one ``send``. A write error is kept and raised by the next ``recv``/``send``, where paho
    turns it into a lost connection. Other attributes are the socket's (``unwrap().socket()``
    returns this wrapper).
    """

    __slots__ = ("_eof", "_error", "_in", "_out", "_pos", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._in = b""
        self._pos = 0
        self._out: list[bytes | bytearray] = []
        self._error: OSError | None = None
        self._eof = False

    def fill(self) -> bool:
        """Read what the socket holds into the empty buffer; False if it had nothing.

        End of stream and errors are kept for paho's next ``recv`` (True: something to see).
        """
        try:
            data = self.sock.recv(_READ_SIZE)
        except BlockingIOError:
            return False
        except OSError as exc:
            self._error = exc
            return True
        self._in, self._pos = data, 0
        self._eof = not data
        return True

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``BlockingIOError`` when nothing is buffered or readable."""
        pos = self._pos
        if pos >= len(self._in):
            if self._error is not None:
                raise self._error
            if self._eof:
                return b""
            data = self.sock.recv(_READ_SIZE)
            if len(data) <= size:
                self._in, self._pos = b"", 0
                return data
            self._in, pos = data, 0
        self._pos = end = pos + size
        return self._in[pos:end]

    def send(self, data: bytes | bytearray) -> int:
        """Queue ``data`` (paho passes a fresh copy); it is written by ``flush``."""
        if self._error is not None:
            raise self._error
        self._out.append(data)
        return len(data)

    @property
    def has_input(self) -> bool:
        """Whether bytes read from the socket wait in the buffer."""
        return self._pos < len(self._in)

    @property
    def has_output(self) -> bool:
        """Whether queued bytes wait to be written."""
        return bool(self._out)

    def flush(self) -> bool:
        """Write what is queued in one ``send``; False if the socket could not take it all."""
        out = self._out
        if not out:
            return True
        data = out[0] if len(out) == 1 else b"".join(out)
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._error = exc
            self._out = []
            return True
        if sent >= len(data):
            self._out = []
            return True
        self._out = [data[sent:]]
        return False

    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self.sock.fileno()

    def setblocking(self, flag: bool) -> None:
        """Passed to the socket."""
        self.sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        # Everything else (shutdown, getpeername, setsockopt, ...) is the socket's own.
        return getattr(self.sock, name)

    def close(self) -> None:
        """Write what is queued if the socket takes it at once (DISCONNECT), then close."""
        with contextlib.suppress(OSError):
            self.flush()
        self.sock.close()


def parse_qos0_publish(buf: bytes, pos: int, mqtt5: bool) -> tuple[bytes, bytes, int] | None:
    """(topic, payload, end) of the QoS 0 PUBLISH at ``buf[pos]`` if it is whole and plain.

    None when it is cut short, has an empty topic (malformed, or an MQTT 5 topic alias) or
    MQTT 5 properties: paho reads those.
    """
    size = len(buf)
    i, length, shift = pos + 1, 0, 0
    while True:
        if i >= size or shift > 21:
            return None
        byte = buf[i]
        i += 1
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
    end = i + length
    if end > size or length < 2:
        return None
    topic_end = i + 2 + ((buf[i] << 8) | buf[i + 1])
    if topic_end == i + 2 or topic_end > end:
        return None
    start = topic_end
    if mqtt5:
        if topic_end >= end or buf[topic_end] != 0:
            return None
        start += 1
    return buf[i + 2 : topic_end], buf[start:end], end


def topic_header(topic: str, mqtt5: bool) -> bytes | None:
    """The PUBLISH variable header for ``topic`` (QoS 0: no packet id; MQTT 5: no properties).

    None for what paho refuses or treats specially (empty, wildcards, too long): paho
    publishes those, and raises its own errors.
    """
    if not topic or "+" in topic or "#" in topic or "\x00" in topic:
        return None
    try:
        encoded = topic.encode()
    except UnicodeEncodeError:
        return None
    if len(encoded) > 65535:
        return None
    return len(encoded).to_bytes(2, "big") + encoded + (b"\x00" if mqtt5 else b"")


def fixed_header(retain: bool, remaining: int) -> bytearray | None:
    """A QoS 0 PUBLISH's fixed header; None if the packet is too large for MQTT."""
    if remaining > _MAX_REMAINING_LENGTH:
        return None
    fixed = bytearray((0x31 if retain else 0x30,))
    while True:
        byte = remaining & 0x7F
        remaining >>= 7
        if not remaining:
            fixed.append(byte)
            return fixed
        fixed.append(byte | 0x80)
