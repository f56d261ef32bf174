"""The whole MQTT suite in one go: a private Mosquitto, nestpy and raw paho, a ratio table.

Run::

    bash benchmarks/run.sh                  # or: python -m benchmarks.run
    bash benchmarks/run.sh --repeat 1 --json results.json

It starts a private Mosquitto on a free loopback port with ``max_queued_messages`` raised (at
the default of 1,000 Mosquitto drops QoS 0 messages to a subscriber that falls behind), then
runs ``benchmarks.mqtt`` and ``benchmarks.raw_paho`` as subprocesses for each row, alternating
them, ``--repeat`` times, and keeps each one's best run (the machine may be shared). Rows:
rpc with 1 and with 64 requests in flight, and events (QoS 0); then QoS 1 rpc (64 in flight)
and events once per nestpy ``--ack-policies`` value, against raw paho at QoS 1 (run once per
row kind and attempt; paho acknowledges after ``on_message`` returns). ``--tls`` adds the
first three rows over TLS: the broker gets a second, TLS listener with a CA made for the run
(``nestpy_mqtt.testing.tls``), and both drivers verify its certificate. ``--ws`` adds them
over WebSocket (``ws://``): the broker gets a WebSocket listener; raw paho uses its own
WebSocket transport (with ``--paho-path``, nestpy on paho's too).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._common import ROOT
from nestpy_mqtt.testing import MosquittoBroker, free_port, tls

IMPLS = {"nestpy": "benchmarks.mqtt", "raw-paho": "benchmarks.raw_paho"}
PAHO_PATH = "nestpy-paho-path"


def impls(args: argparse.Namespace) -> dict[str, str]:
    """The implementations to run, by name: their driver modules."""
    chosen = dict(IMPLS)
    if args.paho_path:
        chosen[PAHO_PATH] = "benchmarks.mqtt"
    if args.nestjs:
        chosen.update(NESTJS)
    return chosen


NESTJS = {"nestjs": "benchmarks.nestjs"}


Row = tuple[str, str, int, int, list[str], list[str]]


def rows(args: argparse.Namespace) -> list[Row]:
    """(label, mode, concurrency, n, extra arguments of every driver, extra arguments of the
    nestpy driver only) for each row of the table."""
    table: list[Row] = [
        ("rpc, 1 in flight", "rpc", 1, args.n_rpc1, [], []),
        ("rpc, 64 in flight", "rpc", 64, args.n_rpc64, [], []),
        ("events (QoS 0)", "events", 64, args.n_events, [], []),
    ]
    if args.tls is not None:  # paho's own TLS for raw paho; the buffered path for nestpy
        tls = ["--tls", str(args.tls)]
        table += [
            ("rpc, 1 in flight, TLS", "rpc", 1, args.n_rpc1, tls, []),
            ("rpc, 64 in flight, TLS", "rpc", 64, args.n_rpc64, tls, []),
            ("events (QoS 0), TLS", "events", 64, args.n_events, tls, []),
        ]
    if args.ws:  # paho's own WebSocket transport for raw paho; the buffered path for nestpy
        ws = ["--ws"]
        table += [
            ("rpc, 1 in flight, WS", "rpc", 1, args.n_rpc1, ws, []),
            ("rpc, 64 in flight, WS", "rpc", 64, args.n_rpc64, ws, []),
            ("events (QoS 0), WS", "events", 64, args.n_events, ws, []),
        ]
    if args.n_qos1 > 0:
        policies = [p for p in args.ack_policies.split(",") if p]
        for mode, what in (("rpc", "rpc QoS 1, 64 in flight"), ("events", "events QoS 1")):
            for policy in policies:
                label = f"{what}, {policy}"
                ours = ["--ack-policy", policy]
                table.append((label, mode, 64, args.n_qos1, ["--qos", "1"], ours))
    return table


def run_one(
    module: str, port: int, broker_pid: int | None, mode: str, c: int, n: int, extra: Sequence[str]
) -> dict[str, Any]:
    """Run one driver; its JSON line, or ``{"error": ...}``."""
    argv = [sys.executable, "-m", module, "--port", str(port), "--mode", mode]
    argv += ["--n", str(n), "--c", str(c), *extra]
    if broker_pid is not None:
        argv += ["--broker-pid", str(broker_pid)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def rate(result: dict[str, Any]) -> float:
    """The requests or events per second of a result (0 for a failed run)."""
    return float(result.get("rps", result.get("eps", 0.0)))


def cell(result: dict[str, Any] | None) -> str:
    """``rate/s (p50 / p99 ms)`` for the table."""
    if result is None or "error" in result:
        return "failed: " + str((result or {}).get("error", "not run"))[:40]
    lost = f", lost {result['lost']}" if result.get("lost") else ""
    return (
        f"{rate(result):,.0f}/s (p50 {result['p50_ms']:.2f}, p99 {result['p99_ms']:.2f} ms{lost})"
    )


def cpu(result: dict[str, Any]) -> float | None:
    """CPU µs per message of client + service, if measured."""
    if "client_cpu_us" not in result or "service_cpu_us" not in result:
        return None
    return float(result["client_cpu_us"]) + float(result["service_cpu_us"])


def cpu_cell(result: dict[str, Any] | None) -> str:
    """CPU µs per message: ``client + service``."""
    if result is None or cpu(result) is None:
        return "-"
    return f"{result['client_cpu_us']:.0f} + {result['service_cpu_us']:.0f}"


def ratio(ours: float | None, theirs: float | None) -> str:
    """``ours / theirs`` as ``0.84x``, or ``-``."""
    return f"{ours / theirs:.2f}x" if ours and theirs else "-"


def table(
    best: dict[tuple[str, str], dict[str, Any]],
    leanest: dict[tuple[str, str], dict[str, Any]],
    args: argparse.Namespace,
) -> str:
    """The Markdown table: each implementation's best run, the nestpy/raw ratio of rates, the
    leanest run's CPU per message and the ratio it implies (raw CPU / nestpy CPU)."""
    out = [
        "| row | nestpy | raw paho | nestpy/raw "
        "| CPU µs/msg client + service: nestpy | raw | nestpy/raw by CPU |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, *_ in rows(args):
        ours, theirs = best.get(("nestpy", label)), best.get(("raw-paho", label))
        by_rate = ratio(rate(ours), rate(theirs)) if ours and theirs else "-"
        lean_ours, lean_theirs = leanest.get(("nestpy", label)), leanest.get(("raw-paho", label))
        by_cpu = "-"
        if lean_ours and lean_theirs:
            by_cpu = ratio(cpu(lean_theirs), cpu(lean_ours))
        out.append(
            f"| {label} | {cell(ours)} | {cell(theirs)} | {by_rate} "
            f"| {cpu_cell(lean_ours)} | {cpu_cell(lean_theirs)} | {by_cpu} |"
        )
    if any(impl == PAHO_PATH for impl, _ in best):
        out += ["", "| row | nestpy, paho path (fast path off) | paho path/raw | by CPU |"]
        out.append("|---|---|---|---|")
        for label, *_ in rows(args):
            slow, raw = best.get((PAHO_PATH, label)), best.get(("raw-paho", label))
            lean_slow, lean_raw = leanest.get((PAHO_PATH, label)), leanest.get(("raw-paho", label))
            by_rate = ratio(rate(slow), rate(raw)) if slow and raw else "-"
            by_cpu = ratio(cpu(lean_raw), cpu(lean_slow)) if lean_slow and lean_raw else "-"
            out.append(f"| {label} | {cell(slow)} | {by_rate} | {by_cpu} |")
    if any(impl == "nestjs" for impl, _ in best):
        out += ["", "| row | NestJS service + client | nestpy/NestJS | raw paho/NestJS |"]
        out.append("|---|---|---|---|")
        for label, *_ in rows(args):
            nest, ours = best.get(("nestjs", label)), best.get(("nestpy", label))
            raw = best.get(("raw-paho", label))
            mine = ratio(rate(ours), rate(nest)) if ours and nest else "-"
            theirs = ratio(rate(raw), rate(nest)) if raw and nest else "-"
            out.append(f"| {label} | {cell(nest)} | {mine} | {theirs} |")
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Options: sizes, repeats, protocol, workers, where to save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per row and impl (best kept)")
    parser.add_argument("--n-rpc1", type=int, default=3_000)
    parser.add_argument("--n-rpc64", type=int, default=20_000)
    parser.add_argument("--n-events", type=int, default=40_000)
    parser.add_argument(
        "--n-qos1", type=int, default=10_000, help="messages per QoS 1 row (0: no QoS 1 rows)"
    )
    parser.add_argument(
        "--ack-policies",
        default="after_handler,on_receipt,manual",
        help="nestpy's QoS 1 rows: one per acknowledgement policy (comma-separated)",
    )
    parser.add_argument("--protocol", type=int, choices=(4, 5), default=4)
    parser.add_argument("--workers", type=int, default=1, help="nestpy service processes")
    parser.add_argument("--port", type=int, default=None, help="use this broker, not a private one")
    parser.add_argument("--json", type=Path, default=None, help="also save every run here")
    parser.add_argument(
        "--nestjs", action="store_true", help="add NestJS service + client (needs Node.js)"
    )
    parser.add_argument(
        "--tls",
        action="store_const",
        const=Path("ca.crt"),
        default=None,
        help="add TLS rows: the private broker gets a TLS listener with a CA made for the run",
    )
    parser.add_argument(
        "--ws", action="store_true", help="add WebSocket rows: the broker gets a ws listener"
    )
    parser.add_argument(
        "--paho-path",
        action="store_true",
        help="add nestpy with --fast-path off (paho's own socket and reader)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Start the broker, run every row, print the table."""
    args = parse_args(argv)
    broker = None
    certs = tempfile.TemporaryDirectory(prefix="nestpy-bench-tls-")
    tls_port = None
    if args.tls is not None:
        if args.port is not None:
            raise SystemExit("--tls needs the private broker: leave out --port")
        args.tls = tls.make_certificates(Path(certs.name)) / "ca.crt"
        tls_port = free_port()
    if args.ws and args.port is not None:
        raise SystemExit("--ws needs the private broker: leave out --port")
    if args.port is None:
        listener = tls.tls_listener(tls_port, Path(certs.name)) if tls_port else []
        broker = MosquittoBroker(
            max_queued_messages=1_000_000, extra_config=listener, websockets=args.ws
        ).start()
        process = getattr(broker, "_process", None)  # its CPU time goes in the results
        port, broker_pid = broker.port, (process.pid if process is not None else None)
    else:
        port, broker_pid = args.port, None
    started = time.monotonic()
    every: list[dict[str, Any]] = []
    best: dict[tuple[str, str], dict[str, Any]] = {}
    leanest: dict[tuple[str, str], dict[str, Any]] = {}
    try:
        where = f"127.0.0.1:{port}" + (f", TLS on {tls_port}" if tls_port else "")
        ws_port = broker.ws_port if broker is not None else None
        where += f", WebSocket on {ws_port}" if ws_port else ""
        print(f"broker {where}; MQTT {'5' if args.protocol == 5 else '3.1.1'}")
        for attempt in range(args.repeat):
            shared: dict[tuple[str, ...], dict[str, Any]] = {}  # raw paho's QoS 1 runs
            for label, mode, c, n, common, ours in rows(args):
                for impl, module in impls(args).items():
                    if impl == "nestjs" and common:
                        continue  # the NestJS driver has no QoS option
                    extra = ["--protocol", str(args.protocol), *common]
                    if impl.startswith("nestpy"):
                        extra += ours
                        if args.workers > 1:
                            extra += ["--workers", str(args.workers)]
                    if impl == PAHO_PATH:
                        extra += ["--fast-path", "off"]
                    key = (impl, mode, str(c), str(n), *extra)
                    reuse = not impl.startswith("nestpy") and bool(
                        common
                    )  # the same run for every policy
                    if reuse and key in shared:
                        result = shared[key]
                    else:
                        to = tls_port if tls_port and "--tls" in common else port
                        to = ws_port if ws_port and "--ws" in common else to
                        result = run_one(module, to, broker_pid, mode, c, n, extra)
                        shared[key] = result
                        row = label.rsplit(", ", 1)[0] if reuse else label  # without the policy
                        every.append({"row": row, "attempt": attempt, **result, "impl": impl})
                        print(
                            f"  {impl:8} {label:18} run {attempt + 1}: {cell(result)}", flush=True
                        )
                    current = best.get((impl, label))
                    if current is None or rate(result) > rate(current):
                        best[(impl, label)] = result
                    used, least = cpu(result), leanest.get((impl, label))
                    if used is not None and (least is None or used < (cpu(least) or used)):
                        leanest[(impl, label)] = result
    finally:
        if broker is not None:
            broker.close()
        certs.cleanup()
    print()
    print(table(best, leanest, args))
    print(f"\nbest of {args.repeat}; total {time.monotonic() - started:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(every, indent=1) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
