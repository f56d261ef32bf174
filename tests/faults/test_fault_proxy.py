"""``FaultProxy`` itself, in front of an echo server: each fault does what it says."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from fault_proxy import FaultProxy

from nestpy_mqtt.testing import free_port


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await reader.read(65536):
        writer.write(data)
        await writer.drain()
    writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    async with FaultProxy(server.sockets[0].getsockname()[1]) as proxy:
        yield proxy
    server.close()
    await server.wait_closed()


async def _read_to_end(reader: asyncio.StreamReader) -> bytes:
    data = b""
    while chunk := await reader.read(100):
        data += chunk
    return data


async def _open(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def test_pass_through_and_stall(proxy: FaultProxy) -> None:
    reader, writer = await _open(proxy)
    writer.write(b"ping")
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"ping"
    proxy.stall(0.5, "down")
    started = time.monotonic()
    writer.write(b"late")
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"late"
    assert time.monotonic() - started >= 0.45
    writer.close()


async def test_reset_mid_packet_and_clean_close(proxy: FaultProxy) -> None:
    reader, writer = await _open(proxy)
    cut = proxy.reset_mid_packet("down")
    writer.write(b"0123456789")
    assert await asyncio.wait_for(cut, 5) == 5
    with pytest.raises(ConnectionResetError):  # the half may be read before the RST
        await asyncio.wait_for(_read_to_end(reader), 5)
    writer.close()

    reader, writer = await _open(proxy)
    writer.write(b"x")
    await asyncio.wait_for(reader.readexactly(1), 5)
    assert await proxy.close_links() == 1
    assert await asyncio.wait_for(_read_to_end(reader), 5) == b""  # FIN, not RST
    writer.close()


async def test_flap_resets_each_established_link(proxy: FaultProxy) -> None:
    flapping = asyncio.ensure_future(proxy.flap(2))
    for _ in range(2):
        reader, writer = await _open(proxy)
        writer.write(b"abcd")  # four bytes back: "established"
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(_read_to_end(reader), 5)
        writer.close()
    await asyncio.wait_for(flapping, 5)
    assert proxy.resets == 2


async def test_refuse_and_come_back(proxy: FaultProxy) -> None:
    proxy.refuse(0.5)
    with pytest.raises(ConnectionRefusedError):
        await _open(proxy)
    await asyncio.sleep(0.7)
    reader, writer = await _open(proxy)
    writer.write(b"back")
    assert await asyncio.wait_for(reader.readexactly(4), 5) == b"back"
    writer.close()


async def test_upstream_down_resets_and_lifetime_bounds_the_proxy() -> None:
    async with FaultProxy(free_port(), lifetime=0.5) as proxy:
        reader, writer = await _open(proxy)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(_read_to_end(reader), 5)
        writer.close()
        await asyncio.sleep(0.8)
        with pytest.raises(ConnectionRefusedError):
            await _open(proxy)
