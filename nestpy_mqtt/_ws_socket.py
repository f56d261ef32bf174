"""MQTT over WebSocket as a plain byte stream: the TCP or TLS socket under paho's WebSocket
wrapper (its HTTP upgrade done), framed and deframed by ``_ws_frames`` (used by
``_loop_bridge``; paho-free)."""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any

from nestpy_mqtt._ws_frames import FrameError, FrameReader, close_frame, encode_frame

__all__ = ["WsSocket"]

_READ_SIZE = 65536
_MAX_FRAME = 4 << 20  # payload bytes per frame written, at most
_WOULD_BLOCK = (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError)


class WsSocket:
    """A socket whose bytes travel as WebSocket frames; ``BufferedSocket`` wraps it like an
    ``SSLSocket`` (one ``send`` per chunk, ``pending()`` for bytes already read).

    ``recv`` returns the payload of the server's binary frames (PING answered, CLOSE answered
    and then end of stream); ``send`` writes its data as one masked binary frame and returns
    how many payload bytes have gone out whole, so a frame the socket took only in part is
    finished by the next ``send`` (whose data starts with the rest, as for any socket) before
    another begins. Would-block is always ``BlockingIOError``, TLS's included.
    """

    __slots__ = ("_body", "_control", "_error", "_reader", "_ready", "_wire", "sock", "tls")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.tls = isinstance(sock, ssl.SSLSocket)
        self._reader = FrameReader()
        self._ready = b""  # payload read and not yet returned by recv
        self._wire: bytes | memoryview = b""  # frames (whole) being written, what is left
        self._body = 0  # payload bytes at the end of _wire not yet reported as sent
        self._control = b""  # PONG/CLOSE replies waiting for the frame being written to end
        self._error: OSError | None = None

    # reading ---------------------------------------------------------------------------------
    def recv(self, size: int) -> bytes:
        """Up to ``size`` payload bytes; b"" at the end of the stream (or after CLOSE)."""
        ready = self._ready
        while not ready:
            if self._error is not None:
                raise self._error
            if self._reader.closed:
                return b""
            try:
                data = self.sock.recv(_READ_SIZE)
            except _WOULD_BLOCK as exc:
                raise BlockingIOError from exc
            if not data:
                return b""
            try:
                ready = self._reader.receive(data)
            except FrameError as exc:
                self._reply(close_frame(exc.code))
                self._error = ConnectionAbortedError(f"MQTT over WebSocket: {exc}")
                raise self._error from exc
            if replies := self._reader.data_to_send():
                self._reply(replies)
        if len(ready) <= size:
            self._ready = b""
            return ready
        self._ready = ready[size:]
        return ready[:size]

    def pending(self) -> int:
        """Payload bytes already read (and, on TLS, decrypted bytes) that no socket event will
        announce."""
        pending = len(self._ready)
        if self.tls:
            pending += self.sock.pending()  # type: ignore[attr-defined]
        return pending

    def _reply(self, frames: bytes) -> None:
        # PONG or CLOSE: at once when no frame is half written, else after it (never inside
        # one). What the socket does not take now goes with the next send (PINGREQ at the
        # latest): a PONG is late only if the kernel's send buffer was full.
        if self._wire:
            self._control += frames
            return
        self._wire, self._control, self._body = self._control + frames, b"", 0
        with contextlib.suppress(*_WOULD_BLOCK, OSError):
            self._write()

    # writing ---------------------------------------------------------------------------------
    def send(self, data: bytes | bytearray | memoryview) -> int:
        """Frame ``data`` (up to 4 MiB: one frame) and write it; the payload bytes that went
        out whole. ``data`` starts with what an earlier call did not report as sent."""
        if self._error is not None:
            raise self._error
        try:
            if self._wire and not self._body:  # only PONG/CLOSE replies left: they go first
                self._write()
                if self._wire:
                    return 0
            if not self._wire:
                payload = data if len(data) <= _MAX_FRAME else memoryview(data)[:_MAX_FRAME]
                self._wire = self._control + encode_frame(payload)
                self._control, self._body = b"", len(payload)
            self._write()
        except _WOULD_BLOCK as exc:
            raise BlockingIOError from exc
        done = self._body - len(self._wire)  # the frame's payload is at the end of _wire
        if done <= 0:
            return 0
        self._body -= done
        if not self._wire and self._control:  # the frame is out: the replies that waited
            self._reply(b"")
        return done

    def _write(self) -> None:
        sent = self.sock.send(self._wire)
        self._wire = memoryview(self._wire)[sent:] if sent < len(self._wire) else b""

    # the rest of the socket ------------------------------------------------------------------
    def fileno(self) -> int:
        """The socket's file descriptor."""
        return self.sock.fileno()

    def setblocking(self, flag: bool) -> None:
        """Passed to the socket."""
        self.sock.setblocking(flag)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    def close(self) -> None:
        """Say CLOSE (1000) if nothing is half written and the socket takes it now; close."""
        if not self._wire and self._error is None and not self._reader.closed:
            with contextlib.suppress(*_WOULD_BLOCK, OSError):
                self.sock.send(close_frame())
        self.sock.close()
