"""The baseline: hand-tuned raw paho-mqtt 2.x, no framework, same workload and output.

Run::

    python -m benchmarks.raw_paho --port 1884 --mode rpc --n 20000 --c 64

Same CLI and JSON line as ``benchmarks.mqtt`` (``"impl": "raw-paho"``). Service and client
speak Nest's wire format with the standard library's C JSON codec. What makes it fast (see
``/work/shared/design-notes.md``):

* no paho thread and no ``loop_forever``: one epoll loop calls ``loop_read``/``loop_write``
  directly, so publishing never writes paho's socketpair wake-up byte;
* replies (and the client's next requests) are published from inside ``on_message`` and
  flushed by one ``loop_write`` after the read; reads continue while packets keep arriving,
  so a burst costs one ``epoll_wait``;
* one reply subscription, ``c`` requests in flight, closed loop.

With ``--tls CA_FILE`` both connect with paho's own TLS (``tls_set(ca_certs=...)``); with
``--ws`` over paho's own WebSocket transport (path ``/mqtt``).

``--loop forever`` runs the service on paho's own ``loop_forever()`` instead, for comparison.
"""

from __future__ import annotations

import argparse
import json
import select
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from benchmarks import _common as common

IMPL = "raw-paho"
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


class Stop(Exception):
    """Raised by the SIGTERM handler to leave the loop."""


class BufferedSocket:
    """``--io buffered`` (an experiment, not paho's API): what a buffering socket layer gains.

    paho reads each packet with at least three ``recv`` calls (type, length, body) and writes
    each packet with its own ``send``. Behind this wrapper, ``recv`` is served from 64 KiB reads
    and ``send`` only appends; ``flush`` writes everything queued in one ``send``.
    """

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._in = b""
        self._pos = 0
        self._out: list[bytes] = []
        self._rest = b""

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._in):
            self._in, self._pos = self.sock.recv(65536), 0  # BlockingIOError when empty
            if not self._in:
                return b""
        start = self._pos
        self._pos = end = start + size
        return self._in[start:end]

    def send(self, data: Any) -> int:
        self._out.append(bytes(data))
        return len(data)

    @property
    def has_input(self) -> bool:
        return self._pos < len(self._in)

    @property
    def has_output(self) -> bool:
        return bool(self._out or self._rest)

    def flush(self) -> None:
        data = self._rest + b"".join(self._out) if self._out else self._rest
        self._out = []
        try:
            sent = self.sock.send(data) if data else 0
        except BlockingIOError:
            sent = 0
        self._rest = data[sent:]

    def fileno(self) -> int:
        return int(self.sock.fileno())

    def close(self) -> None:
        self.sock.close()

    def setblocking(self, flag: bool) -> None:
        self.sock.setblocking(flag)


class Driver:
    """One paho client on an epoll loop in this thread."""

    def __init__(self, args: argparse.Namespace, client_id: str) -> None:
        protocol = mqtt.MQTTv5 if args.protocol == 5 else mqtt.MQTTv311
        transport = "websockets" if args.ws else "tcp"
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id, protocol=protocol, transport=transport
        )
        if args.ws:
            self.client.ws_set_options(path="/mqtt")
        self.delivered = 0  # bumped by on_message handlers: tells the read loop to go on
        self.acks = 0
        self.client.on_connect = self._on_ack
        self.client.on_subscribe = self._on_ack
        if args.tls:  # paho's own TLS: its SSLSocket, certificate and host name checked
            self.client.tls_set(ca_certs=args.tls)
        if args.ws and args.io == "buffered":
            raise SystemExit("--io buffered wraps a TCP socket: not with --ws")
        self.client.connect(args.host, args.port, keepalive=60)
        self.io: BufferedSocket | None = None
        if args.io == "buffered":
            self.io = BufferedSocket(self.client._sock)
            self.client._sock = self.io  # type: ignore[assignment,unused-ignore]
        self._epoll: Any = None
        self.run(lambda: self.acks >= 1, 10.0)

    def _on_ack(self, *_args: Any) -> None:
        self.acks += 1

    def subscribe(self, topics: list[str], qos: int = 0) -> None:
        """Subscribe and wait for the SUBACK."""
        wanted = self.acks + 1
        self.client.subscribe([(t, qos) for t in topics])
        self.run(lambda: self.acks >= wanted, 10.0)

    def run(self, done: Callable[[], bool], timeout: float | None = None) -> None:
        """Serve the socket until ``done()`` (checked after every wake-up) or ``timeout``."""
        client = self.client
        sock = client.socket()
        if sock is None:
            raise RuntimeError("not connected")
        fd = sock.fileno()
        if self._epoll is None:
            self._epoll = select.epoll()
            self._epoll.register(fd, select.EPOLLIN)
        epoll, poll = self._epoll, self._epoll.poll
        read, write, want_write = client.loop_read, client.loop_write, client.want_write
        deadline = None if timeout is None else time.monotonic() + timeout
        next_misc = time.monotonic() + 1.0
        writing = False
        io = self.io
        # TLS: bytes decrypted already wait in the SSL object, with no socket event for them
        pending = getattr(sock, "pending", None)
        while not done():
            if want_write():
                write()
            if io is not None:
                io.flush()
            if (want_write() or (io is not None and io.has_output)) != writing:
                writing = not writing
                epoll.modify(fd, select.EPOLLIN | (select.EPOLLOUT if writing else 0))
            buffered = (io is not None and io.has_input) or bool(pending and pending())
            events = poll(0 if buffered else 1.0)
            if buffered or (events and events[0][1] & select.EPOLLIN):
                for _ in range(64):
                    before = self.delivered
                    read()
                    if self.delivered == before and not (
                        (io is not None and io.has_input) or (pending and pending())
                    ):
                        break
            now = time.monotonic()
            if now >= next_misc:
                client.loop_misc()
                next_misc = now + 1.0
            if deadline is not None and now > deadline:
                raise TimeoutError("the benchmark timed out")

    def close(self) -> None:
        """Disconnect cleanly."""
        self.client.disconnect()
        self.client.loop_write()


# -- service -------------------------------------------------------------------------------------


def serve(args: argparse.Namespace) -> None:
    """The service process: answer ``sum`` and ``count/<i>``, count events, until SIGTERM."""
    stats = common.EventStats()
    count_topic = common.count_topic(args.worker_index)
    group = f"$share/{common.SHARED_GROUP}/" if args.workers > 1 else ""
    driver = Driver(args, f"raw_service_{args.worker_index}")
    publish = driver.client.publish

    def on_message(_client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        driver.delivered += 1
        topic = message.topic
        packet = _loads(message.payload)
        if topic == common.SUM:
            response: Any = sum(packet["data"])
        elif topic == common.EVENT:
            stats.record(packet["data"])
            return
        else:
            query = packet["data"]
            response = stats.report(bool(query.get("latencies")))
            if query.get("reset"):
                stats.reset()
        reply = {"response": response, "isDisposed": True, "id": packet["id"]}
        publish(topic + "/reply", _encode(reply))

    driver.client.on_message = on_message
    # QoS 1 (--qos 1): paho acknowledges each message once on_message has returned.
    topics = [group + common.SUM, group + common.EVENT]
    driver.subscribe(topics, args.qos)
    driver.subscribe([group + count_topic])

    def stop(*_args: Any) -> None:
        raise Stop

    signal.signal(signal.SIGTERM, stop)
    print("ready", flush=True)
    try:
        if args.loop == "forever":
            driver.client.loop_forever()
        else:
            driver.run(lambda: False)
    except Stop:
        pass
    driver.close()


# -- client --------------------------------------------------------------------------------------


class Client:
    """The client: ``c`` requests in flight, the next one published from ``on_message``."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.driver = Driver(args, "raw_client")
        self.driver.client.on_message = self._on_message
        self.qos = args.qos
        self.replies: dict[str, Any] = {}
        self._calls: set[str] = set()
        self._sent: dict[str, float] = {}
        self._counter = 0
        self._left = 0
        self._done = 0
        self.latencies: list[float] = []
        reply_topics = [common.SUM + "/reply"]
        reply_topics += [common.count_topic(w) + "/reply" for w in range(args.workers)]
        self.driver.subscribe(reply_topics)

    def _request(self, topic: str, data: Any) -> str:
        self._counter += 1
        request_id = f"rawpahoclient{self._counter:08x}"
        self._sent[request_id] = time.perf_counter()
        packet = {"pattern": topic, "data": data, "id": request_id}
        self.driver.client.publish(topic, _encode(packet), self.qos if topic == common.SUM else 0)
        return request_id

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.driver.delivered += 1
        packet = _loads(message.payload)
        request_id = packet["id"]
        sent = self._sent.pop(request_id, None)
        if sent is None:
            return
        if request_id in self._calls:
            self._calls.discard(request_id)
            self.replies[request_id] = packet["response"]
            return
        self.latencies.append(time.perf_counter() - sent)
        self._done += 1
        if self._left > 0:
            self._left -= 1
            self._request(common.SUM, [1, 2, 3])

    def call(self, topic: str, data: Any) -> Any:
        """One request, waited for (warm-up check, event counts)."""
        request_id = self._request(topic, data)
        self._calls.add(request_id)
        self.driver.run(lambda: request_id in self.replies, 10.0)
        return self.replies.pop(request_id)

    def rpc(self, n: int, c: int) -> tuple[float, list[float]]:
        """``n`` requests with ``c`` in flight; the elapsed time and each latency."""
        self.latencies, self._done = [], 0
        first = min(c, n)
        self._left = n - first
        started = time.perf_counter()
        for _ in range(first):
            self._request(common.SUM, [1, 2, 3])
        self.driver.run(lambda: self._done >= n)
        return time.perf_counter() - started, self.latencies

    def emit(self, n: int, c: int) -> None:
        """Publish ``n`` events in batches of ``c``, each batch written before the next."""
        client, driver = self.driver.client, self.driver
        for start in range(0, n, c):
            for _ in range(min(c, n - start)):
                packet = {"pattern": common.EVENT, "data": common.event_data()}
                client.publish(common.EVENT, _encode(packet), self.qos)
            if driver.io is not None:
                client.loop_write()
                driver.io.flush()
            if not self._written():
                driver.run(self._written, 30.0)

    def _written(self) -> bool:
        io = self.driver.io
        return not self.driver.client.want_write() and not (io is not None and io.has_output)

    def collect(self, workers: int, expected: int) -> dict[str, Any]:
        """Poll every worker's count until ``expected`` events arrived or arrivals stop."""
        total, stalled_since = -1, time.monotonic()
        while True:
            counts = [self.call(common.count_topic(w), {"reset": False}) for w in range(workers)]
            now_total = sum(r["count"] for r in counts)
            if now_total != total:
                total, stalled_since = now_total, time.monotonic()
            if total >= expected or time.monotonic() - stalled_since > 2.0:
                break
            time.sleep(0.02)
        query = {"reset": True, "latencies": True}
        reports = [self.call(common.count_topic(w), query) for w in range(workers)]
        return {
            "count": sum(r["count"] for r in reports),
            "last": max((r["last"] for r in reports if r["count"]), default=0.0),
            "latencies": [x for r in reports for x in r["latencies"]],
        }


def drive(args: argparse.Namespace, meter: common.CpuMeter) -> dict[str, Any]:
    """Warm up, then time ``args.n`` requests or events."""
    client = Client(args)
    try:
        if args.mode == "rpc":
            answer = client.call(common.SUM, [1, 2, 3])
            if answer != 6:
                raise RuntimeError(f"sum([1,2,3]) answered {answer!r}")
            client.rpc(args.warmup, args.c)
            meter.start()
            seconds, latencies = client.rpc(args.n, args.c)
            cpu = meter.per_message_us(args.n)
            return common.result(IMPL, args, seconds, latencies, **cpu)
        client.emit(args.warmup, args.c)
        client.collect(args.workers, args.warmup)
        meter.start()
        started = time.monotonic()
        client.emit(args.n, args.c)
        got = client.collect(args.workers, args.n)
        cpu = meter.per_message_us(got["count"])
        return common.result(
            IMPL,
            args,
            got["last"] - started,
            got["latencies"],
            done=got["count"],
            lost=args.n - got["count"],
            **cpu,
        )
    finally:
        client.driver.close()


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--loop",
        choices=("epoll", "forever"),
        default="epoll",
        help="service loop: our epoll loop (default) or paho's loop_forever()",
    )
    parser.add_argument(
        "--io",
        choices=("paho", "buffered"),
        default="paho",
        help="buffered: an experiment with a read-ahead, write-coalescing socket wrapper",
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: ``--serve`` runs a service worker, otherwise the whole benchmark."""
    args = common.parse_args(__doc__.splitlines()[0], argv, _options)
    if args.serve:
        serve(args)
        return
    services = common.start_services(
        "benchmarks.raw_paho", args, ["--loop", args.loop, "--io", args.io]
    )
    try:
        data = drive(args, common.cpu_meter(args, services))
    finally:
        common.stop_services(services)
    if args.loop != "epoll":
        data["loop"] = args.loop
    if args.io != "paho":
        data["io"] = args.io
    common.emit_result(data)


if __name__ == "__main__":
    main(sys.argv[1:])
