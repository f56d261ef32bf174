"""Drive a paho client from the running asyncio loop, without a network thread.

paho reports its socket through four callbacks (open, close, register write, unregister
write); the loop watches the socket with ``add_reader``/``add_writer`` and calls paho's
``loop_read``/``loop_write``, and a timer calls ``loop_misc`` for keepalive. This is paho's own
``examples/loop_asyncio.py`` design (and aiomqtt's), with three additions:

* replies published while paho is reading (from ``on_message``) are flushed in one
  ``loop_write`` after the read, and publishes made elsewhere (tasks) in one ``call_soon``
  flush per loop iteration (on the buffered path the first of them after a read is written
  at once, so a lone request does not wait an iteration); a writer is only registered when
  the socket buffer is full;
* after a read that delivered messages, reading continues (bounded) while more are buffered, so
  a burst costs one wake-up rather than one per packet;
* while paho connects in a worker thread (the TCP/TLS handshake blocks), socket callbacks are
  recorded and replayed on the loop thread afterwards, so the loop is never touched from
  another thread;
* on TCP, plain or TLS, and on WebSockets, paho's socket is wrapped in a ``BufferedSocket``:
  paho reads each packet with three ``recv`` calls and writes each packet with its own
  ``send``; behind the wrapper, reads come from one 64 KiB ``recv`` (TLS: one record) and
  every packet queued during a loop turn goes out in one ``sendmsg`` (TLS: 64 KiB chunks).
  QoS 0 PUBLISH packets are split from the buffer by ``_codec`` and written by it, without
  paho. TLS is paho's own ``SSLSocket``, wrapped after paho's handshake and certificate
  checks. With WebSockets, paho makes the connection and the HTTP upgrade, then the socket
  under its wrapper goes behind a ``WsSocket`` (``_ws_frames``: deframing, and one masked
  frame per 64 KiB chunk written, where paho frames each packet) under the ``BufferedSocket``.
  This needs paho's private members (``_paho_compat``, checked when the connection is
  built); without them, paho's own socket is used unchanged.

The module does not import paho: it works on anything with paho's four methods.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import sys
from collections.abc import Callable
from typing import Any, Protocol

from nestpy_mqtt._buffered_socket import BufferedSocket
from nestpy_mqtt._fast_publish import (
    publish_fixed_header,
    publish_topic_header,
    split_qos0_publish,
    split_qos0_publish_v5,
)
from nestpy_mqtt._ws_socket import WsSocket

logger = logging.getLogger("nestpy.mqtt.connection")

_MISC_INTERVAL = 1.0
_MAX_READS_PER_WAKEUP = 64
_MAX_BUFFERED_PACKETS = 1024  # packets handled from the read buffer per wake-up, at most
_BUFFERABLE = (socket.socket, ssl.SSLSocket)


class PahoLike(Protocol):
    """The part of ``paho.mqtt.client.Client`` the bridge drives."""

    def loop_read(self, max_packets: int = 1) -> Any: ...
    def loop_write(self) -> Any: ...
    def loop_misc(self) -> Any: ...
    def want_write(self) -> bool: ...


class Internals(Protocol):
    """paho's private members the buffered path needs (``_paho_compat.PahoInternals``)."""

    def swap_socket(self, sock: Any, wrapper: Any) -> bool: ...
    def websocket_socket(self, sock: Any) -> Any: ...
    def at_packet_boundary(self) -> bool: ...
    def bytes_sent(self) -> None: ...
    def bytes_received(self) -> None: ...


class LoopBridge:
    """Socket callbacks for one paho client, on one asyncio loop."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        client: PahoLike,
        *,
        internals: Internals | None = None,
        mqtt5: bool = False,
    ) -> None:
        self.loop = loop
        self.client = client
        self.internals = internals
        """None: paho's own socket and reader (no fast path)."""
        self.mqtt5 = mqtt5
        self.on_publish: Callable[[bytes, bytes, int, tuple[tuple[int, Any], ...]], None] | None
        self.on_publish = None
        """Receives QoS 0 PUBLISH packets parsed by the bridge: (topic, payload, first byte,
        MQTT 5 properties as the codec's (identifier, value) pairs)."""
        self.on_drain: Callable[[int], None] | None = None
        """Called with the bytes still queued after each write (and 0 when the socket goes)."""
        self.write_limit = sys.maxsize
        self.write_full = False
        """More than ``write_limit`` bytes wait in the buffered socket (as of the latest
        publish or write)."""
        self._topics: dict[str, bytes] = {}
        self.messages = 0  # bumped by the connection for each message delivered
        self._fd: int | None = None
        self._watched: Any = None
        self._io: BufferedSocket | None = None
        self._writer = False
        self._in_read = False
        self._write_wanted = False
        self._flush_scheduled = False
        self._wrote_at_once = False  # since the last read or flush (see send_publish)
        self._deferred: list[tuple[Callable[[Any], None], Any]] | None = None
        self._misc: asyncio.TimerHandle | None = None
        self._closed: asyncio.Future[None] | None = None

    # paho callbacks: (client, userdata, sock) -------------------------------------------------
    def on_socket_open(self, _client: Any, _userdata: Any, sock: Any) -> None:
        """paho opened a socket: watch it for reading and start the keepalive timer."""
        self._call(self._open, sock)

    def on_socket_close(self, _client: Any, _userdata: Any, sock: Any) -> None:
        """paho is about to close the socket: stop watching it."""
        self._call(self._close, sock)

    def on_socket_register_write(self, _client: Any, _userdata: Any, sock: Any) -> None:
        """paho has bytes to send."""
        self._call(self._register_write, sock)

    def on_socket_unregister_write(self, _client: Any, _userdata: Any, sock: Any) -> None:
        """paho has nothing left to send."""
        self._call(self._unregister_write, sock)

    def attach(self, client: Any) -> None:
        """Install the four socket callbacks on a paho client."""
        client.on_socket_open = self.on_socket_open
        client.on_socket_close = self.on_socket_close
        client.on_socket_register_write = self.on_socket_register_write
        client.on_socket_unregister_write = self.on_socket_unregister_write

    async def run_blocking(self, func: Callable[[], Any]) -> None:
        """Run ``func`` (paho's blocking ``reconnect``) in a worker thread.

        Socket callbacks made meanwhile are recorded and replayed on the loop thread. If the
        caller is cancelled, the thread is still waited for before the cancellation goes on.
        """
        self._deferred = []
        done = self.loop.run_in_executor(None, func)
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await done
            raise
        finally:
            deferred, self._deferred = self._deferred or [], None
            for action, sock in deferred:
                action(sock)

    async def disconnect(self, client: Any, timeout: float = 1.0) -> None:
        """Send DISCONNECT and wait for paho to close the socket; force it after ``timeout``."""
        if self._watched is None:
            return
        self._closed = self.loop.create_future()
        client.disconnect()
        client.loop_write()  # nearly always writes DISCONNECT and closes the socket at once
        if self._watched is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._closed), timeout)
        self._closed = None
        self.force_close(client)

    def force_close(self, client: Any) -> None:
        """Stop watching the socket and close it under paho (which notices on its next call)."""
        if self._watched is not None:
            self.detach()
            if (sock := client.socket()) is not None:
                sock.close()

    def detach(self) -> None:
        """Stop watching any socket (the client is being discarded)."""
        if self._watched is not None:
            self._close(self._watched)

    @property
    def has_socket(self) -> bool:
        """Whether a socket is being watched."""
        return self._watched is not None

    def _call(self, func: Callable[[Any], None], sock: Any) -> None:
        if self._deferred is not None:
            self._deferred.append((func, sock))
        else:
            func(sock)

    # loop-thread actions ----------------------------------------------------------------------
    def _open(self, sock: Any) -> None:
        if self._watched is not None:
            self._close(self._watched)
        self._watched = sock
        self._fd = sock.fileno()
        self._io = self._wrap(sock)
        self.loop.add_reader(self._fd, self._on_readable)
        if self._write_wanted:
            self._add_writer()
        self._misc = self.loop.call_later(_MISC_INTERVAL, self._on_misc)

    def _wrap(self, sock: Any) -> BufferedSocket | None:
        # The socket paho holds: TCP, plain or TLS (handshake done), or paho's WebSocket
        # wrapper (HTTP upgrade done), whose TCP/TLS socket goes behind a WsSocket instead.
        internals = self.internals
        if internals is None:
            return None
        inner: Any = sock
        if type(sock) not in _BUFFERABLE:
            raw = internals.websocket_socket(sock)
            if raw is None:
                return None
            inner = WsSocket(raw)
        io = BufferedSocket(inner)
        return io if internals.swap_socket(sock, io) else None

    @property
    def buffered_bytes(self) -> int:
        """Bytes queued on the buffered socket, not yet written (0 on paho's own path)."""
        io = self._io
        return io.out_bytes if io is not None else 0

    def _close(self, sock: Any) -> None:
        if self._fd is None or (
            sock is not self._watched and (self._io is None or sock is not self._io)
        ):
            return
        self._io = None
        self.loop.remove_reader(self._fd)
        if self._writer:
            self.loop.remove_writer(self._fd)
        self._writer = False
        self._write_wanted = False
        self._watched = None
        self._fd = None
        if self._misc is not None:
            self._misc.cancel()
            self._misc = None
        if self._closed is not None and not self._closed.done():
            self._closed.set_result(None)
        self.write_full = False
        if self.on_drain is not None:  # the queue is gone: nobody waits for it any more
            self.on_drain(0)

    def _register_write(self, _sock: Any) -> None:
        self._write_wanted = True
        if not self._in_read and not self._flush_scheduled and self._watched is not None:
            # One flush for everything published during this loop iteration; cheaper than
            # add_writer (two epoll_ctl calls) when the socket can take the bytes, as it
            # nearly always can. A full socket falls back to add_writer in _flush.
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = self._wrote_at_once = False
        if self._watched is None or self._writer:
            return
        io = self._io
        if self._write_wanted or (io is not None and io.has_output):
            self._write()

    def _write(self) -> None:
        """Let paho write, then send what the buffer holds; watch the socket if it is full."""
        client = self.client
        try:
            if client.want_write():
                client.loop_write()
        except Exception:
            logger.exception("Unexpected error while writing to the MQTT socket")
        io = self._io
        if io is not None and io.has_output:
            io.flush()
            self.internals.bytes_sent()  # type: ignore[union-attr]  # as paho does
            if io._error is not None:  # the peer is gone: let paho's next read find out
                self.loop.call_soon(self._on_readable)
            self.write_full = io.out_bytes > self.write_limit
            if self.on_drain is not None:
                self.on_drain(io.out_bytes)
        if self._watched is not None and (
            client.want_write() or (io is not None and io.has_output)
        ):
            self._add_writer()

    def _unregister_write(self, _sock: Any) -> None:
        self._write_wanted = False
        io = self._io
        if self._writer and self._fd is not None and not (io is not None and io.has_output):
            self.loop.remove_writer(self._fd)
            self._writer = False

    def _add_writer(self) -> None:
        if not self._writer and self._fd is not None:
            self.loop.add_writer(self._fd, self._on_writable)
            self._writer = True

    # event loop callbacks ---------------------------------------------------------------------
    def _on_readable(self) -> None:
        client = self.client
        if self._watched is None:
            return
        self._in_read = True
        self._wrote_at_once = False
        more = False  # bytes already read (buffered, or decrypted by TLS) wait: go on soon
        try:
            if self._io is not None:
                self._read_buffered(self._io)
                after = self._io
                more = after is not None and (after.has_input or after.tls_pending)
            else:
                for _ in range(_MAX_READS_PER_WAKEUP):
                    before = self.messages
                    client.loop_read()
                    sock = self._watched
                    if sock is None:
                        break
                    pending = getattr(sock, "pending", None)  # TLS: bytes already decrypted
                    more = pending is not None and bool(pending())
                    if self.messages == before and not more:
                        break
        except Exception:
            logger.exception("Unexpected error while reading from the MQTT socket")
        finally:
            self._in_read = False
        if more and self._watched is not None:
            # The socket may have nothing more to say, so epoll would not wake us for these.
            self.loop.call_soon(self._on_readable)
        io = self._io
        if self._watched is not None and (self._write_wanted or (io is not None and io.has_output)):
            # Flush what on_message published in one write; paho believes the writer is
            # registered already, so add it ourselves if the socket could not take everything.
            self._write()

    def _read_buffered(self, io: BufferedSocket) -> None:
        # Every packet in the buffer, refilled while bytes keep arriving (bounded). QoS 0
        # PUBLISH packets are parsed here when on_publish is set; paho reads the others.
        client = self.client
        internals: Any = self.internals
        take = self._take_publish if self.on_publish is not None else None
        packets = 0
        # Whether paho is known to hold no part of a packet: only its own reads change that,
        # so it is asked again after each of them, not for every packet taken here.
        boundary = False
        for _ in range(_MAX_READS_PER_WAKEUP):
            if io._pos >= len(io._in):
                if not io.fill():
                    return  # nothing more for now
                # paho's keepalive gives up when no bytes came for a while; the PUBLISH
                # packets read here never reach paho's bookkeeping, so keep it up to date.
                internals.bytes_received()
                if io._pos >= len(io._in):  # end of stream or an error: paho finds out
                    client.loop_read()
                    return
            while io._pos < len(io._in):
                if not (
                    take is not None
                    and io._in[io._pos] & 0xF6 == 0x30  # a QoS 0 PUBLISH (any DUP, RETAIN)
                    and (boundary or (boundary := internals.at_packet_boundary()))
                    and take(io)
                ):
                    client.loop_read()
                    boundary = False
                    if self._io is not io:
                        return  # closed
                packets += 1
                if packets >= _MAX_BUFFERED_PACKETS:
                    return

    def _take_publish(self, io: BufferedSocket) -> bool:
        """Deliver the whole QoS 0 PUBLISH at the buffer's head to ``on_publish``; else False.

        The caller has checked that paho is at a packet boundary (holds no part of a packet)
        and that a QoS 0 PUBLISH starts there. Only packets paho would deliver as they are:
        MQTT 5 ones with a topic alias or properties paho refuses go to paho. A failure to
        deliver one message is logged; the packets behind it are still read.
        """
        buf, pos = io._in, io._pos
        properties: tuple[tuple[int, Any], ...] = ()
        if self.mqtt5:
            parsed5 = split_qos0_publish_v5(buf, pos)
            if parsed5 is None:
                return False
            topic, properties, payload, io._pos = parsed5
        else:
            parsed = split_qos0_publish(buf, pos, False)
            if parsed is None:
                return False
            topic, payload, io._pos = parsed
        try:
            self.on_publish(topic, payload, buf[pos], properties)  # type: ignore[misc]
        except Exception:
            logger.exception("Could not deliver a message (topic %r)", topic)
        return True

    def send_publish(
        self, topic: str, payload: bytes | bytearray, retain: bool, properties: bytes = b""
    ) -> bool:
        """Queue a QoS 0 PUBLISH without paho; False (nothing queued) when paho must do it.

        ``properties``: MQTT 5 only, the packed property block with its length, as paho's
        ``Properties.pack()`` returns it (empty: no properties). Only on a buffered socket
        with nothing of paho's waiting, so the order of packets is kept. The packet goes out
        at once when it is the first since the last read or flush, else with the next flush
        (the next loop iteration, or the end of the read that published it).
        """
        io = self._io
        if io is None or self.client.want_write():
            return False
        header = self._topics.get(topic)
        if header is None:
            header = publish_topic_header(topic, self.mqtt5)
            if header is None:
                return False
            if len(self._topics) < 10_000:
                self._topics[topic] = header
        if properties:
            header = header[:-1] + properties  # the empty block's length byte replaced
        remaining = len(header) + len(payload)
        fixed = publish_fixed_header(retain, remaining)
        if fixed is None:
            return False
        io.out.extend((fixed, header, payload))  # the parts, not joined
        queued = io.out_bytes = io.out_bytes + remaining + len(fixed)
        if queued > self.write_limit:
            self.write_full = True
        if not self._in_read and not self._flush_scheduled:
            if not self._wrote_at_once and not self._writer:
                # The first packet published after a read or a flush goes out at once, with
                # no loop iteration in between: a lone request (one in flight) does not wait
                # for one. Those that follow it are flushed together, an iteration later.
                self._wrote_at_once = True
                self._write()
            else:
                self._flush_scheduled = True
                self.loop.call_soon(self._flush)
        return True

    def _on_writable(self) -> None:
        self._write()
        io = self._io
        if (
            self._writer
            and self._fd is not None
            and not self.client.want_write()
            and not (io is not None and io.has_output)
        ):
            self.loop.remove_writer(self._fd)
            self._writer = False

    def _on_misc(self) -> None:
        self._misc = None
        try:
            self.client.loop_misc()
        except Exception:
            logger.exception("Unexpected error in the MQTT keepalive timer")
        if self._watched is not None and self._misc is None:
            self._misc = self.loop.call_later(_MISC_INTERVAL, self._on_misc)
