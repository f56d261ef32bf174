"""The overhead benchmarks run and print what benchmarks/README.md promises (tiny sizes: the
output's shape, never the speed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str) -> list[dict]:
    done = subprocess.run(
        [sys.executable, "-m", *argv],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


@pytest.mark.mqtt
def test_mqtt_driver_with_metrics_and_tracing(mqtt_broker):
    (result,) = run(
        "benchmarks.mqtt", "--port", str(mqtt_broker.port), "--mode", "rpc", "--n", "50",
        "--c", "8", "--protocol", "5", "--metrics", "--tracing",
    )  # fmt: skip
    assert result["metrics"] is True
    assert result["tracing"] is True
    assert result["rps"] > 0


def test_ops_overhead_prints_each_variant_and_a_summary():
    lines = run("benchmarks.ops_overhead", "--n", "50", "--repeat", "1")
    variants = {line["variant"] for line in lines[:-1]}
    assert variants == {"base", "metrics", "tracing", "both", "tracing-1pct"}
    summary = lines[-1]["summary"]
    assert set(summary) == {"rpc-1", "rpc-64", "events-64"}
    assert set(summary["rpc-64"]["metrics"]) == {"cpu_us", "overhead_us", "overhead_pct"}
