"""``FaultProxy``: a TCP proxy on loopback between MQTT clients and a private Mosquitto that
injects network faults on demand: stalls, resets (RST) mid-packet, clean closes, refusals.

Example::

    async with FaultProxy(broker.port) as proxy:      # or the ``fault_proxy`` fixture
        options = MqttOptions(url=proxy.url)
        proxy.stall(2.0, "down")           # hold broker -> client bytes for 2 s
        await proxy.reset()                # RST both sides of every link
        cut = proxy.reset_mid_packet("down")  # the next broker -> client chunk is cut in two
        await cut                          # ...and the link reset after its first half
        await proxy.close_links()          # FIN to both sides (a clean close)
        proxy.refuse(2.0)                  # connection refused for 2 s (the listener closes)
        await proxy.flap(6)                # 6 times: wait for an MQTT session, then reset it

``up`` is client -> broker, ``down`` broker -> client. End of stream is passed on as FIN and a
reset as RST, so a client sees what it would see without the proxy. While the upstream cannot
be reached (broker stopped), accepted clients are reset at once.

Bounded: every fault lasts at most ``MAX_FAULT_SECONDS``; the proxy closes itself after
``lifetime`` seconds, and ``close()`` (the context manager's exit) ends every link.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Literal

import pytest

from nestpy_mqtt.testing import MosquittoBroker

__all__ = ["Direction", "FaultProxy", "Link", "fault_proxy"]

Direction = Literal["up", "down", "both"]
MAX_FAULT_SECONDS = 60.0
_READ_SIZE = 65536
_CONNACK_BYTES = 4  # the smallest CONNACK: a link that carried this much down holds a session


def _rst(writer: asyncio.StreamWriter) -> None:
    """Close ``writer``'s socket with an RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


def _directions(direction: Direction) -> tuple[str, ...]:
    if direction == "both":
        return ("up", "down")
    if direction not in ("up", "down"):
        msg = f"direction must be 'up', 'down' or 'both', not {direction!r}"
        raise ValueError(msg)
    return (direction,)


def _bounded(seconds: float) -> float:
    if not 0 <= seconds <= MAX_FAULT_SECONDS:
        msg = f"a fault lasts 0 to {MAX_FAULT_SECONDS:g} s, not {seconds!r}"
        raise ValueError(msg)
    return seconds


class Link:
    """One client connection and its upstream connection."""

    def __init__(
        self,
        proxy: FaultProxy,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
    ) -> None:
        self.proxy = proxy
        self.client = client
        self.upstream = upstream
        self.forwarded = {"up": 0, "down": 0}
        """Bytes passed on in each direction."""
        self.opened = time.monotonic()
        self.ended = asyncio.Event()
        self.closing = False
        """FIN sent to both sides (``close()``): what arrives now is dropped."""
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._pump("up", self.client[0], self.upstream[1])),
            loop.create_task(self._pump("down", self.upstream[0], self.client[1])),
        ]
        for task in self._tasks:
            task.add_done_callback(self._pump_done)

    @property
    def established(self) -> bool:
        """Whether the broker has answered (at least a CONNACK went down) and it is open."""
        return self.forwarded["down"] >= _CONNACK_BYTES and not self.ended.is_set()

    async def _pump(
        self, direction: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        proxy = self.proxy
        try:
            while True:
                data = await reader.read(_READ_SIZE)
                if self.closing:
                    if not data:
                        return
                    continue
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()  # FIN for FIN
                    return
                await proxy._flowing[direction].wait()
                cut = proxy._cuts.pop(direction, None)
                if cut is not None and len(data) > 1:
                    half = data[: len(data) // 2]
                    writer.write(half)
                    await writer.drain()
                    self.forwarded[direction] += len(half)
                    if not cut.done():
                        cut.set_result(len(half))
                    self.reset()
                    return
                if cut is not None:
                    proxy._cuts[direction] = cut  # too short to cut: the next chunk then
                writer.write(data)
                await writer.drain()
                self.forwarded[direction] += len(data)
        except (ConnectionError, OSError):
            self.reset()  # RST for RST

    def _pump_done(self, _task: asyncio.Task[None]) -> None:
        if all(task.done() for task in self._tasks):
            for _, writer in (self.client, self.upstream):
                writer.close()
            self._end()

    def reset(self) -> None:
        """RST both sides now."""
        if self.ended.is_set():
            return
        for _, writer in (self.client, self.upstream):
            _rst(writer)
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self.proxy.resets += 1
        self._end()

    def close(self) -> None:
        """FIN to both sides (a clean close); the link ends when both have closed too."""
        if self.closing or self.ended.is_set():
            return
        self.closing = True
        for _, writer in (self.client, self.upstream):
            if writer.can_write_eof() and not writer.is_closing():
                with contextlib.suppress(OSError, RuntimeError):
                    writer.write_eof()

    def _end(self) -> None:
        self.ended.set()
        with contextlib.suppress(ValueError):
            self.proxy.links.remove(self)


class FaultProxy:
    """A fault-injecting TCP proxy on 127.0.0.1 in front of ``upstream_port``."""

    def __init__(
        self, upstream_port: int, upstream_host: str = "127.0.0.1", *, lifetime: float = 300.0
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.lifetime = lifetime
        self.port = 0
        self.links: list[Link] = []
        """The open links."""
        self.accepted = 0
        """Client connections accepted so far."""
        self.resets = 0
        """Links reset so far (by a fault, or passed on from either side)."""
        self._flowing = {"up": asyncio.Event(), "down": asyncio.Event()}
        for event in self._flowing.values():
            event.set()
        self._cuts: dict[str, asyncio.Future[int]] = {}
        self._server: asyncio.Server | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self._refusing_until = 0.0
        self._closed = False

    @property
    def url(self) -> str:
        """``mqtt://127.0.0.1:<proxy port>``."""
        return f"mqtt://127.0.0.1:{self.port}"

    async def start(self) -> FaultProxy:
        """Listen on a free loopback port (the same one again after ``refuse``)."""
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        if not self._timers:
            self._later(self.lifetime, lambda: asyncio.ensure_future(self.close()))
        return self

    async def close(self) -> None:
        """Stop listening and reset every link; idempotent."""
        if self._closed:
            return
        self._closed = True
        for timer in self._timers:
            timer.cancel()
        for event in self._flowing.values():
            event.set()
        for cut in self._cuts.values():
            cut.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        for link in list(self.links):
            link.reset()

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # faults -----------------------------------------------------------------------------------
    def stall(self, seconds: float, direction: Direction = "both") -> None:
        """Hold every byte in ``direction`` for ``seconds`` (links stay open; TCP backs up)."""
        _bounded(seconds)
        for name in _directions(direction):
            event = self._flowing[name]
            event.clear()
            self._later(seconds, event.set)

    def resume(self) -> None:
        """End every stall now."""
        for event in self._flowing.values():
            event.set()

    async def reset(self) -> int:
        """RST both sides of every open link; return how many were reset."""
        links = list(self.links)
        for link in links:
            link.reset()
        await asyncio.sleep(0)
        return len(links)

    def reset_mid_packet(self, direction: Literal["up", "down"] = "down") -> asyncio.Future[int]:
        """Cut the next chunk going ``direction``: pass its first half, then RST the link.

        The future gives the number of bytes of that chunk that went through.
        """
        _directions(direction)
        cut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._cuts[direction] = cut
        return cut

    async def close_links(self) -> int:
        """Close every open link cleanly (FIN both ways); return how many."""
        links = list(self.links)
        for link in links:
            link.close()
        await asyncio.sleep(0)
        return len(links)

    def refuse(self, seconds: float, *, reset: bool = False) -> None:
        """Refuse new connections for ``seconds``: the listener closes (connection refused),
        or with ``reset=True`` they are accepted and reset at once. Open links stay."""
        _bounded(seconds)
        self._refusing_until = time.monotonic() + seconds
        if not reset and self._server is not None:
            self._server.close()
            self._server = None
            self._later(seconds, lambda: asyncio.ensure_future(self._reopen()))

    async def wait_established(self, timeout: float = 15.0) -> Link:
        """Wait for an open link on which the broker has answered; return it."""
        async with asyncio.timeout(timeout):
            while True:
                for link in self.links:
                    if link.established:
                        return link
                await asyncio.sleep(0.005)

    async def flap(self, times: int, *, up_for: float = 0.0, timeout: float = 15.0) -> None:
        """``times`` times: wait for an established link, keep it ``up_for`` s, reset it."""
        _bounded(up_for)
        for _ in range(times):
            link = await self.wait_established(timeout)
            if up_for:
                await asyncio.sleep(up_for)
            link.reset()
            await asyncio.sleep(0)

    # internals --------------------------------------------------------------------------------
    def _later(self, seconds: float, callback: Callable[[], object]) -> None:
        self._timers = [t for t in self._timers if not t.cancelled()]
        self._timers.append(asyncio.get_running_loop().call_later(seconds, callback))

    async def _reopen(self) -> None:
        if not self._closed and self._server is None:
            await self.start()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        if self._closed or time.monotonic() < self._refusing_until:
            _rst(writer)
            return
        try:
            async with asyncio.timeout(5):
                upstream = await asyncio.open_connection(*self.upstream)
        except (OSError, TimeoutError):
            _rst(writer)  # the broker is down: the client sees a reset
            return
        if self._closed:  # closed while connecting upstream
            _rst(writer)
            _rst(upstream[1])
            return
        link = Link(self, (reader, writer), upstream)
        self.links.append(link)
        link.start()


@pytest.fixture
async def fault_proxy(private_broker: MosquittoBroker) -> AsyncIterator[FaultProxy]:
    """A started ``FaultProxy`` in front of ``private_broker``; connect to ``proxy.url``."""
    async with FaultProxy(private_broker.port) as proxy:
        yield proxy
