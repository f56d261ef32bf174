"""``nestpy run`` flags for operations: ``--health-port``, ``--health-host``, ``--log-format``."""

from __future__ import annotations

import argparse
from typing import Any


def add_run_flags(run: argparse.ArgumentParser) -> None:
    """Add the operations flags to the ``run`` command."""
    run.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve /livez, /readyz, /metrics and /asyncapi.json on PORT (needs nestpy-mqtt[ops])",
    )
    run.add_argument(
        "--health-host",
        default="0.0.0.0",
        help="address the health port listens on (default: 0.0.0.0)",
    )
    run.add_argument(
        "--log-format",
        choices=["text", "json"],
        default="text",
        help="text: Nest-like lines; json: one JSON object per line, with a line per message "
        "handled (pattern, request id, duration, outcome) (default: text)",
    )


def configure_ops(args: argparse.Namespace) -> dict[str, Any]:
    """Apply ``--log-format``; return the ``create_microservice`` keywords of the flags."""
    if args.log_format == "json":
        from nestpy.ops.json_logs import enable_json_logs

        enable_json_logs(args.log_level)
    if args.health_port is None:
        return {}
    return {"health_port": args.health_port, "health_host": args.health_host}
