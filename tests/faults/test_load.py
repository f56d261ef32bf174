"""Load, the small version of ``benchmarks/load.py``: 5,000 requests from 2 client processes to
2 service instances in a shared group; every request answered exactly once, none left pending."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from nestpy_mqtt.testing import MosquittoBroker

pytestmark = pytest.mark.mqtt
ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--requests", "5000", "--in-flight", "64", "--clients", "2", "--services", "2"]


def test_5000_requests_from_2_clients_to_2_services(private_broker: MosquittoBroker) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--url", private_broker.url, *SMALL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    reports = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    summary = reports[-1]
    assert summary["answered"] == 5000  # each client saw every one of its replies...
    assert summary["mismatched"] == 0  # ...each carrying its own request's value, once
    assert summary["errors"] == 0
    assert summary["handled"] == 5000  # and the services handled each request exactly once
    assert summary["pending"] == 0
    assert all(n > 0 for n in summary["handled_per_service"])  # the group shared the work
    assert [r["role"] for r in reports[:-1]].count("service") == 2
    print("\n" + "\n".join(done.stdout.splitlines()))
