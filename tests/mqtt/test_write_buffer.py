"""The write path: a linear queue (no join, no copy on a partial send) and backpressure.

``BufferedSocket`` keeps every byte in order through partial writes; on a stalled link the
client's write buffer stays under ``max_write_buffer_bytes`` and ``emit()`` waits instead of
growing memory, then everything goes out once the peer reads again.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import ssl
import time

import pytest
from hypothesis import example, given, settings
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


@pytest.fixture(scope="module")
def tls_contexts(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    from nestpy_mqtt.testing import tls

    try:
        certs = tls.make_certificates(tmp_path_factory.mktemp("certs"))
    except tls.OpenSSLNotFoundError:
        pytest.skip("openssl not found")
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(certs / "server.crt", certs / "server.key")
    client = ssl.create_default_context(cafile=str(certs / "ca.crt"))
    return server, client


def _tls_pair(
    contexts: tuple[ssl.SSLContext, ssl.SSLContext],
) -> tuple[ssl.SSLSocket, ssl.SSLSocket]:
    left, right = socket.socketpair()
    left.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    server, client = contexts
    ours = client.wrap_socket(left, server_hostname="127.0.0.1", do_handshake_on_connect=False)
    theirs = server.wrap_socket(right, server_side=True, do_handshake_on_connect=False)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        done = pool.submit(theirs.do_handshake)
        ours.do_handshake()
        done.result(5)
    ours.setblocking(False)
    theirs.setblocking(False)
    return ours, theirs


def _drain_tls(sock: ssl.SSLSocket) -> bytes:
    chunks = []
    while True:
        try:
            data = sock.recv(1 << 20)
        except ssl.SSLWantReadError:
            return b"".join(chunks)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


@settings(max_examples=15, deadline=None)
@given(chunks=st.lists(st.binary(max_size=70_000), min_size=1, max_size=60))
@example(chunks=[b"x" * 70_000, b""])  # an empty packet part left alone at the head
def test_tls_partial_writes_keep_every_byte_in_order(
    tls_contexts: tuple[ssl.SSLContext, ssl.SSLContext], chunks: list[bytes]
) -> None:
    # A full socket makes OpenSSL ask for the same write again (SSLWantWriteError): the queue
    # must retry with the same bytes, and empty chunks must never block it.
    ours, theirs = _tls_pair(tls_contexts)
    try:
        io = BufferedSocket(ours)  # type: ignore[arg-type]
        assert io.tls
        for i, chunk in enumerate(chunks):
            if i % 2:
                io.send(chunk)
            else:
                io.out.extend((chunk[:1], b"", chunk[1:]))
                io.out_bytes += len(chunk)
        expected = b"".join(chunks)
        got = bytearray()
        for _ in range(100_000):
            done = io.flush()
            got += _drain_tls(theirs)
            if done and not io.has_output:
                break
        got += _drain_tls(theirs)
        assert bytes(got) == expected
        assert io.out_bytes == 0
        assert not io.has_output
    finally:
        ours.close()
        theirs.close()
