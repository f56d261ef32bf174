"""The write path under a slow peer: cost per MB by queue size, loop stalls, RSS on a stalled link.

    python -m benchmarks.write_path [--sizes 20,100,200,300] [--stall 20]

No broker: a sink process on loopback answers CONNECT with CONNACK and then reads nothing until
told to, so the client's bytes pile up in its own write buffer, as on a stalled link.

* queue: QoS 0 PUBLISH packets of 16 KiB are queued until N MB wait (``max_write_buffer_bytes``
  off), then the sink reads and the event loop writes the queue out. Reported: the loop's CPU
  seconds per MB for the whole drain, and the longest gap a 5 ms ticker saw (a flush blocking
  the loop). Flat CPU per MB from 20 to 300 MB means the write path is linear.
* stall: a ``ClientMqtt`` awaits ``emit()`` of 1 KiB events for ``--stall`` seconds into the
  stalled sink (default options); reported: emits done, bytes queued, client RSS growth.

One JSON line per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import socket
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.memory import rss_mb

CHUNK = 16 * 1024


def _sink(port_out: Any, go: Any) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    port_out.send(server.getsockname()[1])
    while True:
        conn, _ = server.accept()
        conn.recv(65536)  # CONNECT
        conn.sendall(b"\x20\x02\x00\x00")
        go.recv()  # stalled until told
        buf = bytearray(1 << 20)
        while conn.recv_into(buf):
            pass
        conn.close()


class Sink:
    """The stalled peer, in its own process (its reads cost the client nothing)."""

    def __enter__(self) -> Sink:
        ctx = mp.get_context("spawn")
        port_out, port_in = ctx.Pipe()
        self._go_out, go_in = ctx.Pipe()
        self.process = ctx.Process(target=_sink, args=(port_in, go_in), daemon=True)
        self.process.start()
        self.port = port_out.recv()
        return self

    def release(self) -> None:
        """Let the sink read the current connection."""
        self._go_out.send(True)

    def __exit__(self, *_: object) -> None:
        self.process.kill()
        self.process.join()


def _options(port: int, **extra: Any) -> Any:
    from nestpy_mqtt import MqttOptions

    fields = MqttOptions.model_fields
    kwargs = {k: v for k, v in extra.items() if k in fields}  # older versions lack some
    return MqttOptions(url=f"mqtt://127.0.0.1:{port}", keepalive=600, **kwargs)


def _queued(conn: Any) -> int:
    bridge = conn._bridge
    if hasattr(bridge, "buffered_bytes"):
        return int(bridge.buffered_bytes)
    io = bridge._io  # before the linear write path: a list of chunks
    return sum(len(c) for c in io._out) if io is not None else 0


async def _ticker(stop: asyncio.Event, gaps: list[float]) -> None:
    last = time.perf_counter()
    while not stop.is_set():
        await asyncio.sleep(0.005)
        now = time.perf_counter()
        gaps.append(now - last)
        last = now


async def queue_cost(megabytes: int) -> dict[str, Any]:
    from nestpy_mqtt.connection import MqttConnection

    with Sink() as sink:
        conn = MqttConnection(
            _options(sink.port, max_write_buffer_bytes=0), on_message=lambda _m: None
        )
        await conn.connect()
        payload = bytes(CHUNK)
        target = megabytes << 20
        while _queued(conn) < target:
            for _ in range(64):
                conn.publish("bulk", payload)
            await asyncio.sleep(0)
        queued = _queued(conn)
        stop, gaps = asyncio.Event(), []
        ticker = asyncio.create_task(_ticker(stop, gaps))
        cpu, wall = time.process_time(), time.perf_counter()
        sink.release()
        while _queued(conn):  # noqa: ASYNC110 - polling the queue is the measurement
            await asyncio.sleep(0.001)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        stop.set()
        await ticker
        conn._bridge.force_close(conn.unwrap())  # the sink never answers DISCONNECT
        await conn.close()
    return {
        "measure": "queue",
        "queued_mb": round(queued / 2**20, 1),
        "drain_cpu_s": round(cpu, 3),
        "cpu_ms_per_mb": round(cpu * 1000 / (queued / 2**20), 2),
        "drain_wall_s": round(wall, 3),
        "max_loop_gap_ms": round(max(gaps, default=0) * 1000, 1),
    }


async def stalled_rss(seconds: float) -> dict[str, Any]:
    from nestpy_mqtt import ClientMqtt

    with Sink() as sink:
        client = ClientMqtt(_options(sink.port))
        await client.connect()
        data = {"blob": "x" * 1000}
        before = rss_mb()
        emitted = 0
        deadline = time.monotonic() + seconds

        async def produce() -> None:
            nonlocal emitted
            while True:
                await client.emit("bulk", data)
                emitted += 1
                if emitted % 100 == 0:
                    await asyncio.sleep(0)  # let the loop flush (old versions never wait)

        producer = asyncio.create_task(produce())
        await asyncio.sleep(max(0.0, deadline - time.monotonic()))
        producer.cancel()
        grown = rss_mb() - before
        queued = _queued(client._connection)
        client._connection._bridge.force_close(client.unwrap())
        await client.close()
    return {
        "measure": "stall",
        "seconds": seconds,
        "emitted": emitted,
        "queued_mb": round(queued / 2**20, 1),
        "rss_growth_mb": round(grown, 1),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20,100,200,300", help="MB queued, comma-separated")
    parser.add_argument("--stall", type=float, default=20.0, help="seconds; 0 skips")
    args = parser.parse_args(argv)
    if args.stall:  # first: the queue runs leave the process's RSS high
        print(json.dumps(asyncio.run(stalled_rss(args.stall))), flush=True)
    for size in (int(s) for s in args.sizes.split(",") if s):
        print(json.dumps(asyncio.run(queue_cost(size))), flush=True)


if __name__ == "__main__":
    main()
