"""Where the time goes: py-spy samples of the service and the client under load, by category.

Needs ``py-spy`` (``pip install py-spy``; not a project dependency; Linux needs ptrace rights,
e.g. root or ``--cap-add SYS_PTRACE`` in a container). Run::

    python -m benchmarks.profile_mqtt --impl nestpy --mode rpc --c 64 --seconds 8
    python -m benchmarks.profile_mqtt --impl raw-paho --mode rpc --c 64

It starts a private Mosquitto, runs the driver (``benchmarks.mqtt`` or ``benchmarks.raw_paho``)
with a large ``--n``, records both processes with ``py-spy record --format raw`` for
``--seconds`` after a warm-up, stops the driver, and prints, for each process, the share of
samples in each category. A sample is charged to the innermost frame that matches a category
(``CATEGORIES``, in order), so ``json.loads`` called from the codec counts as "decode".
The collapsed stacks stay in ``--out`` (load them in https://www.speedscope.app).
"""

from __future__ import annotations

import argparse
import collections
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks._common import ROOT
from nestpy_mqtt.testing import MosquittoBroker

MODULES = {"nestpy": "benchmarks.mqtt", "raw-paho": "benchmarks.raw_paho"}

# (category, substrings of a py-spy frame "function (file:line)"); the first category with a
# matching substring wins for a frame, the innermost matching frame wins for a sample.
CATEGORIES: list[tuple[str, tuple[str, ...]]] = [
    ("socket read (recv syscalls)", ("_sock_recv", "BufferedSocket.recv")),
    (
        "socket write (send syscalls)",
        ("_sock_send", "BufferedSocket.flush", "_packet_write", "loop_write", "_set_as_published"),
    ),
    (
        "JSON decode",
        ("decode_request", "decode_response", "parse_payload", "(json/decoder", "loads (json/"),
    ),
    (
        "JSON encode",
        (
            "encode_response",
            "encode_request",
            "encode_event",
            "encode_no_handler",
            "(json/encoder",
            "_to_jsonable",
        ),
    ),
    (
        "payload validation (pydantic)",
        ("_PayloadParam", "validate_python", "fill_arguments", "inline_call.<locals>", "(pydantic"),
    ),
    ("handler (user code)", ("BenchController.", "EventStats.", "serve.<locals>.on_message")),
    (
        "publish: build + queue the packet",
        (
            "Client.publish (paho",
            "_send_publish",
            "_packet_queue",
            "_call_socket_register_write",
            "MqttConnection.publish",
            "ClientMqtt._publish",
            "PublishPropertiesFactory",
            "LoopBridge._register_write",
            "on_socket_register_write",
        ),
    ),
    (
        "paho: parse the packet, make MQTTMessage",
        (
            "_packet_read",
            "_packet_handle",
            "_handle_publish",
            "_handle_on_message",
            "MQTTMessage.",
            "(paho/mqtt/_packet",
            "(paho/mqtt/matcher",
            "loop_read",
            "(paho/mqtt/properties",
            "(paho/mqtt/reasoncodes",
            "(paho/mqtt/packettypes",
        ),
    ),
    (
        "nestpy dispatch (handle_packet, route, reply)",
        (
            "(nestpy/microservices/server",
            "(nestpy/microservices/handler",
            "(nestpy/microservices/patterns",
        ),
    ),
    (
        "nestpy MQTT glue (bridge, connection, context)",
        (
            "(nestpy_mqtt/server",
            "(nestpy_mqtt/context",
            "(nestpy_mqtt/topics",
            "MqttConnection._handle_message",
            "LoopBridge._on_readable",
        ),
    ),
    (
        "nestpy client request path",
        (
            "(nestpy/microservices/client_proxy",
            "(nestpy_mqtt/client",
            "(nestpy/microservices/exceptions",
        ),
    ),
    ("asyncio machinery", ("(asyncio/", "LoopBridge.", "(nestpy_mqtt/_loop_bridge")),
    ("benchmark harness", ("(benchmarks/",)),
]

_RAW = Path(__file__).with_name("raw_paho.py").read_text().splitlines()
_RAW_POLL = next(n for n, line in enumerate(_RAW, 1) if "events = poll(" in line)

# Not CPU work (py-spy's idle detection misses some waits here): reported apart.
IDLE: list[tuple[str, tuple[str, ...]]] = [
    (
        "waiting in epoll/select",
        ("(selectors", f"Driver.run (benchmarks/raw_paho.py:{_RAW_POLL})", "Client._loop ("),
    ),
    ("idle worker thread", ("_worker (concurrent/futures/thread",)),
]


def categorize(stack: str) -> str:
    """The category of one collapsed stack (frames separated by ``;``, root first)."""
    frames = stack.split(";")
    leaf = frames[-1]
    for name, needles in IDLE:
        if any(needle in leaf for needle in needles) or (
            name == "idle worker thread" and any(needles[0] in f for f in frames)
        ):
            return "(idle) " + name
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(needle in frame for needle in needles):
                return name
    return "other"


def breakdown(path: Path) -> list[tuple[str, int, float]]:
    """(category, samples, percent of the busy samples) from a py-spy ``--format raw`` file,
    biggest first; idle categories last, with their percent of all samples."""
    counts: collections.Counter[str] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if stack and number.isdigit():
            counts[categorize(stack)] += int(number)
    everything = sum(counts.values()) or 1
    busy = sum(n for name, n in counts.items() if not name.startswith("(idle)")) or 1
    ranked = counts.most_common()
    out = [(name, n, 100 * n / busy) for name, n in ranked if not name.startswith("(idle)")]
    out += [(name, n, 100 * n / everything) for name, n in ranked if name.startswith("(idle)")]
    return out


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def profile(args: argparse.Namespace, port: int) -> dict[str, Path]:
    """Run the driver, record it and its service with py-spy, stop it; the output files."""
    argv = [sys.executable, "-m", MODULES[args.impl], "--port", str(port), "--mode", args.mode]
    argv += ["--c", str(args.c), "--n", "100000000", "--timeout", "3600", *args.extra]
    driver = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    outputs: dict[str, Path] = {}
    try:
        time.sleep(args.warmup)
        services = _children(driver.pid)
        if not services:
            raise RuntimeError("the service process did not start")
        pyspy = os.path.join(os.path.dirname(sys.executable), "py-spy")
        recorders = []
        for role, pid in [("service", services[0]), ("client", driver.pid)]:
            tag = "".join(f"-{x.lstrip('-')}" for x in args.extra)
            outputs[role] = args.out / f"{args.impl}-{args.mode}-c{args.c}{tag}-{role}.txt"
            recorders.append(
                subprocess.Popen(
                    [
                        pyspy,
                        "record",
                        "-p",
                        str(pid),
                        "-d",
                        str(args.seconds),
                        "-r",
                        str(args.rate),
                        "--format",
                        "raw",
                        "-o",
                        str(outputs[role]),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        for recorder in recorders:
            _, err = recorder.communicate(timeout=args.seconds + 60)
            if recorder.returncode != 0:
                raise RuntimeError(f"py-spy failed: {err.strip()}")
    finally:
        driver.send_signal(signal.SIGINT)  # the driver's finally stops its services
        try:
            driver.wait(20)
        except subprocess.TimeoutExpired:
            driver.kill()
    return outputs


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=tuple(MODULES), default="nestpy")
    parser.add_argument("--mode", choices=("rpc", "events"), default="rpc")
    parser.add_argument("--c", type=int, default=64)
    parser.add_argument("--seconds", type=int, default=8, help="recording time")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds before recording")
    parser.add_argument("--rate", type=int, default=200, help="samples per second")
    parser.add_argument("--out", type=Path, default=Path("/tmp/nestpy-profiles"))
    parser.add_argument("--port", type=int, default=None, help="use this broker")
    parser.add_argument("extra", nargs="*", help="more driver options, after --")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.port is None:
        with MosquittoBroker(max_queued_messages=10_000_000) as broker:
            outputs = profile(args, broker.port)
    else:
        outputs = profile(args, args.port)
    for role, path in outputs.items():
        print(f"\n{args.impl} {role} ({args.mode}, c={args.c}): {path}")
        for name, samples, percent in breakdown(path):
            print(f"  {percent:5.1f}%  {samples:6d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
