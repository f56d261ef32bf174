"""NestJS 12 service + Nest client on the same workload: the comparison row (needs Node.js).

Run (a broker must be listening on the port; ``benchmarks/run.sh --nestjs`` adds this row)::

    python -m benchmarks.nestjs --port 1884 --mode rpc --n 20000 --c 64 [--stock]

It runs ``benchmarks/nestjs.mjs`` with the NestJS install of ``tests/interop/nest_app`` (``npm
ci`` there first): a Nest microservice with the same ``sum`` handler, event counter and count
query as ``benchmarks.mqtt``, driven by Nest's ``ClientProxyFactory`` client, patched to keep its
reply subscriptions (``--stock``: as shipped, subscribing around every request). Prints one JSON
line; no CPU figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

from benchmarks import _common as common

SCRIPT = common.ROOT / "benchmarks" / "nestjs.mjs"


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--stock", action="store_true", help="Nest's client as shipped")


def main(argv: list[str] | None = None) -> None:
    """Start the Nest service, run the Nest client, print its JSON line."""
    args = common.parse_args(__doc__.splitlines()[0], argv, _options)
    base = ["node", str(SCRIPT)]
    where = ["--port", str(args.port), "--host", args.host, "--protocol", str(args.protocol)]
    service = subprocess.Popen(
        [*base, "service", *where],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        cwd=common.ROOT,
    )
    try:
        assert service.stdout is not None
        if service.stdout.readline().strip() != "READY":
            raise RuntimeError("the NestJS service did not start")
        sizes = ["--mode", args.mode, "--n", str(args.n), "--c", str(args.c)]
        done = subprocess.run(
            [*base, "client", *where, *sizes, *(["--stock"] if args.stock else [])],
            capture_output=True,
            text=True,
            cwd=common.ROOT,
            timeout=args.timeout,
            check=False,
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode != 0 or not lines:
            raise RuntimeError(done.stderr.strip()[-500:] or "no output from the NestJS client")
        result: dict[str, Any] = json.loads(lines[-1])
    finally:
        common.stop_services([service])
    common.emit_result(result)


if __name__ == "__main__":
    main(sys.argv[1:])
