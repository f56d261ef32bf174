"""A TCP or TLS socket as paho sees it, with a read buffer and a bounded-cost write queue
(used by ``_loop_bridge``; paho-free). MQTT over WebSocket is a ``WsSocket`` under it."""

from __future__ import annotations

import contextlib
import socket
import ssl
from collections import deque
from itertools import islice
from typing import Any

from nestpy_mqtt._ws_socket import WsSocket

__all__ = ["BufferedSocket"]

_READ_SIZE = 65536
_IOV_MAX = 1024  # buffers per sendmsg (Linux's IOV_MAX)
_MAX_FLUSH_BYTES = 4 << 20  # per flush: a fast peer never keeps the loop busy for long
_JOIN_BYTES = 64 << 10  # below this, join and send (one copy); above, sendmsg (no copy)

Chunk = bytes | bytearray | memoryview
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class BufferedSocket:
    """A TCP socket as paho sees it, with a read-ahead buffer and a write queue.

    The socket may be paho's ``ssl.SSLSocket``, after its handshake (certificate and host
    name checked by paho as always): reads then return decrypted bytes, at most one TLS record
    each, and the queue is written in chunks of up to 64 KiB (no ``sendmsg`` on TLS). A
    ``WsSocket`` (MQTT over WebSocket, on TCP or TLS) is written the same way, each chunk one
    WebSocket frame, and read the same way (``tls`` is true for both: record-based sockets).

    ``recv`` is served from 64 KiB reads; ``send`` only queues, and ``flush`` writes the queue
    with ``sendmsg`` (writev), never joining or copying more than 64 KiB of it: a partial write
    keeps a ``memoryview`` of the rest, so the cost per byte does not grow with the queue. A write
    error is kept and raised by the next ``recv``/``send``, where paho turns it into a lost
    connection. Other attributes are the socket's (``unwrap().socket()``
    returns this wrapper).
    """

    __slots__ = ("_eof", "_error", "_in", "_pos", "out", "out_bytes", "sock", "tls")

    def __init__(self, sock: socket.socket | WsSocket) -> None:
        self.sock = sock
        self.tls = isinstance(sock, (ssl.SSLSocket, WsSocket))
        self._in = b""
        self._pos = 0
        self.out: deque[Chunk] = deque()
        """The write queue: a writer appends a packet's parts (never joined) and adds their
        length to ``out_bytes``; ``flush`` takes them from the left."""
        self.out_bytes = 0
        """How many bytes wait to be written."""
        self._error: OSError | None = None
        self._eof = False

    def fill(self) -> bool:
        """Read what the socket holds into the empty buffer; False if it had nothing.

        End of stream and errors are kept for paho's next ``recv`` (True: something to see).
        """
        try:
            data = self.sock.recv(_READ_SIZE)
        except _WOULD_BLOCK:
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
        self.out.append(data)
        self.out_bytes += len(data)
        return len(data)

    @property
    def has_input(self) -> bool:
        """Whether bytes read from the socket wait in the buffer."""
        return self._pos < len(self._in)

    @property
    def tls_pending(self) -> bool:
        """TLS (or WebSocket): whether bytes wait inside that layer (no socket event for them)."""
        return self.tls and bool(self.sock.pending())  # type: ignore[union-attr]

    @property
    def has_output(self) -> bool:
        """Whether queued bytes wait to be written."""
        return bool(self.out)

    def flush(self) -> bool:
        """Write what the socket takes (up to 4 MiB); False if anything is left queued."""
        if self.tls:
            return self._flush_tls()
        out = self.out
        budget = _MAX_FLUSH_BYTES
        while out:
            total = self.out_bytes
            try:
                if len(out) == 1:
                    sent = self.sock.send(out[0])
                elif total <= _JOIN_BYTES:  # a loop turn's packets: one copy is the cheapest
                    data = b"".join(out)
                    out.clear()
                    out.append(data)
                    sent = self.sock.send(data)
                else:
                    sent = self.sock.sendmsg(list(islice(out, _IOV_MAX)))
            except BlockingIOError:
                return False
            except OSError as exc:
                self._error = exc
                out.clear()
                self.out_bytes = 0
                return True
            if sent >= total:
                out.clear()
                self.out_bytes = 0
                return True
            if not sent:
                return False
            self.out_bytes = total - sent
            budget -= sent
            while sent:
                head = out[0]
                if sent < len(head):  # the socket is full: keep the rest, without a copy
                    out[0] = memoryview(head)[sent:]
                    return False
                sent -= len(head)
                out.popleft()
            if budget <= 0:
                return not out
        return True

    def _flush_tls(self) -> bool:
        # One chunk per send: the queue's head, joined with the small packets behind it up to
        # 64 KiB. A send TLS could not finish is retried with the same head (what OpenSSL
        # requires: the same bytes, possibly more), so a joined head stays joined.
        out = self.out
        budget = _MAX_FLUSH_BYTES
        while out:
            head = out[0]
            if not head:  # TLS sends nothing for an empty chunk: it would never leave
                out.popleft()
                continue
            if len(out) > 1 and len(head) < _JOIN_BYTES:
                size, count = len(head), 1
                for chunk in islice(out, 1, None):
                    if size + len(chunk) > _JOIN_BYTES:
                        break
                    size += len(chunk)
                    count += 1
                if count > 1:
                    head = b"".join([out.popleft() for _ in range(count)])
                    out.appendleft(head)
            try:
                sent = self.sock.send(head)
            except _WOULD_BLOCK:
                return False
            except OSError as exc:
                self._error = exc
                out.clear()
                self.out_bytes = 0
                return True
            if not sent:
                return False
            self.out_bytes -= sent
            budget -= sent
            if sent < len(head):
                out[0] = memoryview(head)[sent:]
                return False
            out.popleft()
            if budget <= 0:
                return not out
        return True

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
