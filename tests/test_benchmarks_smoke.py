"""The benchmark entry points run and print what benchmarks/README.md promises.

Tiny sizes against a private broker: these check the output's shape, never the speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.mqtt

RESULT_KEYS = {"impl", "mode", "n", "concurrency", "seconds", "p50_ms", "p99_ms"}


@pytest.fixture(scope="module")
def broker() -> Iterator[MosquittoBroker]:
    try:
        made = MosquittoBroker(max_queued_messages=100_000)
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))
    with made:
        yield made


def run(*argv: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.splitlines()


def json_lines(lines: list[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in lines if line.startswith("{")]


def check_result(result: dict[str, Any], impl: str, mode: str, n: int, c: int) -> None:
    assert set(result) >= RESULT_KEYS
    assert (result["impl"], result["mode"], result["n"], result["concurrency"]) == (
        impl,
        mode,
        n,
        c,
    )
    rate = result["rps"] if mode == "rpc" else result["eps"]
    assert isinstance(rate, float)
    assert rate > 0
    assert result["seconds"] > 0
    assert 0 <= result["p50_ms"] <= result["p99_ms"]
    if mode == "events":
        assert result["lost"] == 0


@pytest.mark.parametrize(
    ("module", "impl", "extra"),
    [
        ("benchmarks.mqtt", "nestpy", ["--workers", "2"]),
        ("benchmarks.raw_paho", "raw-paho", ["--protocol", "5", "--workers", "2"]),
    ],
    ids=["nestpy-2-workers", "raw-paho-mqtt5-2-workers"],
)
@pytest.mark.parametrize("mode", ["rpc", "events"])
def test_driver_prints_one_json_line(
    broker: MosquittoBroker, module: str, impl: str, extra: list[str], mode: str
) -> None:
    lines = run(module, "--port", str(broker.port), "--mode", mode, "--n", "50", "--c", "8", *extra)
    assert len(lines) == 1
    (result,) = json_lines(lines)
    check_result(result, impl, mode, 50, 8)
    assert result["workers"] == 2
    assert "client_cpu_us" in result


@pytest.mark.parametrize(
    ("module", "impl"), [("benchmarks.mqtt", "nestpy"), ("benchmarks.raw_paho", "raw-paho")]
)
def test_drivers_run_over_websockets(module: str, impl: str) -> None:
    try:
        made = MosquittoBroker(websockets=True)
    except MosquittoNotFoundError as exc:
        pytest.skip(str(exc))
    with made as broker:
        port = str(broker.ws_port)
        lines = run(module, "--port", port, "--ws", "--mode", "rpc", "--n", "50", "--c", "8")
    (result,) = json_lines(lines)
    check_result(result, impl, "rpc", 50, 8)


def test_run_prints_the_ratio_table(broker: MosquittoBroker, tmp_path: Path) -> None:
    saved = tmp_path / "runs.json"
    sizes = ["--n-rpc1", "20", "--n-rpc64", "50", "--n-events", "50", "--n-qos1", "50"]
    policies = ["--ack-policies", "manual"]
    lines = run("benchmarks.run", "--repeat", "1", *sizes, *policies, "--json", str(saved))
    table = [line for line in lines if line.startswith("| ")]
    assert table[0].startswith("| row | nestpy | raw paho | nestpy/raw")
    rows = {line.split(" | ")[0].strip("| "): line for line in table[1:]}
    qos1 = {
        f"{kind}, {policy}"
        for kind in ("rpc QoS 1, 64 in flight", "events QoS 1")
        for policy in ("manual",)
    }
    assert set(rows) == {"rpc, 1 in flight", "rpc, 64 in flight", "events (QoS 0)"} | qos1
    assert all(
        line.split(" | ")[3].endswith("x") and "failed" not in line and "failed" not in line
        for line in rows.values()
    )
    runs = json.loads(saved.read_text())
    raw_rows = {row.rsplit(", ", 1)[0] if row in qos1 else row for row in rows}
    assert {(r["impl"], r["row"]) for r in runs} == {("nestpy", row) for row in rows} | {
        ("raw-paho", row) for row in raw_rows
    }
    for r in runs:
        mode, c = ("events", 64) if r["row"].startswith("events") else ("rpc", 64)
        if r["row"] == "rpc, 1 in flight":
            c = 1
        check_result(r, r["impl"], mode, r["n"], c)
        assert r.get("qos", 0) == (1 if "QoS 1" in r["row"] else 0)
        if r["impl"] == "nestpy" and "QoS 1" in r["row"]:
            assert r["ack_policy"] == r["row"].rsplit(", ", 1)[1]


def test_in_memory_prints_a_line_per_row() -> None:
    results = json_lines(run("benchmarks.in_memory", "--n", "50"))
    assert [(r["mode"], r["concurrency"]) for r in results] == [
        ("rpc", 1),
        ("rpc", 64),
        ("events", 64),
    ]
    for r in results:
        assert r["impl"] == "nestpy-in-memory"
        assert r["n"] == 50
        assert r["us"] > 0
        assert r["cpu_us"] >= 0


def test_memory_prints_rss_and_pending_cost(broker: MosquittoBroker) -> None:
    (result,) = json_lines(run("benchmarks.memory", "--port", str(broker.port), "--pending", "200"))
    for key in ("python_rss_mb", "raw_paho_service_rss_mb", "nestpy_service_rss_mb"):
        assert result[key] > 0
    assert isinstance(result["client_rss_growth_mb_per_10k_pending"], float)
    assert result["bytes_per_pending_request"] > 0


def test_write_path_prints_queue_and_stall_lines() -> None:
    results = json_lines(run("benchmarks.write_path", "--sizes", "2", "--stall", "0.5"))
    assert [r["measure"] for r in results] == ["stall", "queue"]
    assert results[1]["queued_mb"] >= 2
    assert results[0]["queued_mb"] <= 4.5  # the default bound, 4 MiB
