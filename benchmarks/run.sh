#!/usr/bin/env bash
# The MQTT benchmark suite in one go: a private Mosquitto, nestpy vs raw paho, a ratio table.
# Options go to benchmarks/run.py (--repeat, --n-rpc1, --n-rpc64, --n-events, --protocol,
# --workers, --json FILE).
set -euo pipefail
cd "$(dirname "$0")/.."
python=python3
if [ -x .venv/bin/python ]; then python=.venv/bin/python; fi
exec "$python" -m benchmarks.run "$@"
