"""The write path: a linear queue (no join, no copy on a partial send) and backpressure.

``BufferedSocket`` keeps every byte in order through partial writes; on a stalled link the
client's write buffer stays under ``max_write_buffer_bytes`` and ``emit()`` waits instead of
growing memory, then everything goes out once the peer reads again.
"""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_broker import ScriptedBroker

from nestpy_mqtt import ClientMqtt, MqttOptions
from nestpy_mqtt._buffered_socket import BufferedSocket


def _drain(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        try:
            data = sock.recv(1 << 20)
        except BlockingIOError:
            return b"".join(chunks)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=70_000), min_size=1, max_size=60))
def test_partial_writes_keep_every_byte_in_order(chunks: list[bytes]) -> None:
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    left.setblocking(False)
    right.setblocking(False)
    try:
        io = BufferedSocket(left)
        for i, chunk in enumerate(chunks):
            if i % 2:
                io.send(chunk)
            else:
                io.out.extend((chunk[:1], b"", chunk[1:]))
                io.out_bytes += len(chunk)
        expected = b"".join(chunks)
        assert io.out_bytes == len(expected)
        got = bytearray()
        for _ in range(100_000):
            done = io.flush()
            got += _drain(right)
            assert io.out_bytes == len(expected) - len(got) or not done
            if done and not io.has_output:
                break
        got += _drain(right)
        assert bytes(got) == expected
        assert io.out_bytes == 0
    finally:
        left.close()
        right.close()


async def test_emit_waits_on_a_stalled_link_and_memory_stays_bounded() -> None:
    limit = 256 * 1024
    payload = "x" * 60_000
    total = 800  # 48 MB: far more than the kernel's socket buffers hold
    broker = await ScriptedBroker(paused=True).start()
    client = ClientMqtt(MqttOptions(url=broker.url, max_write_buffer_bytes=limit))
    sent = 0
    most = 0

    async def produce() -> None:
        nonlocal sent, most
        for _ in range(total):
            await client.emit("bulk", payload)
            sent += 1
            most = max(most, client._connection._bridge.buffered_bytes)  # type: ignore[union-attr]

    try:
        await client.connect()  # the broker takes the CONNECT, then stops reading
        producer = asyncio.create_task(produce())
        # Wait until the producer is held back: no progress for a while, the broker stalled.
        last, still_since = -1, time.monotonic()
        deadline = time.monotonic() + 30
        while time.monotonic() - still_since < 1.0:
            assert time.monotonic() < deadline, "the producer never waited"
            assert not producer.done(), "every emit completed on a stalled link"
            if sent != last:
                last, still_since = sent, time.monotonic()
            await asyncio.sleep(0.05)
        assert sent < total
        assert most <= limit + 70_000  # at most one message over the limit
        broker.reading.set()
        await asyncio.wait_for(producer, 60)
        assert sent == total
        deadline = time.monotonic() + 30
        while broker.publishes < total:
            assert time.monotonic() < deadline, f"{broker.publishes} of {total} arrived"
            await asyncio.sleep(0.05)
    finally:
        broker.reading.set()
        await client.close()
        await broker.stop()


@pytest.mark.parametrize("bad", [-1])
def test_the_write_limit_is_validated(bad: int) -> None:
    with pytest.raises(ValueError, match="max_write_buffer_bytes"):
        MqttOptions(max_write_buffer_bytes=bad)
