"""Drive the stock NestJS client of ``tests/interop/nest_app/client.js`` from asyncio.

``client.js`` is a NestJS ``ClientProxyFactory.create({transport: Transport.MQTT})`` that takes
one JSON command per stdin line (``{"op": "send", "pattern": "sum", "data": [1, 2, 3]}``) and
prints one JSON result per line (``{"ok": true, "values": [6]}``); see its header.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

NEST_APP = Path(__file__).resolve().parents[2] / "tests" / "interop" / "nest_app"


def missing_node() -> str | None:
    """Why the NestJS peer cannot run here (node/npm missing), or None."""
    absent = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if absent:
        return (
            f"{' and '.join(absent)} not installed (Debian/Ubuntu: apt-get install nodejs npm, "
            "or bash tests/interop/setup.sh)"
        )
    if not (NEST_APP / "client.js").exists():
        return f"the NestJS app is missing ({NEST_APP})"
    return None


def install_node_modules() -> None:
    """``npm ci`` in the NestJS app when ``node_modules`` is missing or older than the lock."""
    stamp = NEST_APP / "node_modules" / ".package-lock.json"
    lock = NEST_APP / "package-lock.json"
    if stamp.exists() and stamp.stat().st_mtime >= lock.stat().st_mtime:
        return
    print(f"hybrid: npm ci in {NEST_APP} (first run)", flush=True)
    subprocess.run(
        ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=NEST_APP,
        check=True,
        timeout=600,
    )


class NestCli:
    """``node client.js`` as an asyncio subprocess: ``await cli.request({...})``."""

    def __init__(self, url: str, protocol_version: int, timeout_ms: int = 5000) -> None:
        self.env = {
            **os.environ,
            "NEST_MQTT_URL": url,
            "NEST_MQTT_VERSION": str(protocol_version),
            "NEST_TIMEOUT_MS": str(timeout_ms),
            "NO_COLOR": "1",
        }
        self.stderr: list[str] = []

    async def start(self) -> None:
        """Start ``node client.js`` (it connects at its first command)."""
        process = await asyncio.create_subprocess_exec(
            "node",
            "client.js",
            cwd=NEST_APP,
            env=self.env,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise RuntimeError("no pipes to client.js")  # noqa: EM101 - cannot happen
        self.process, self.stdin, self.stdout = process, process.stdin, process.stdout
        self._drain = asyncio.create_task(self._read_stderr(process.stderr))

    async def _read_stderr(self, stream: asyncio.StreamReader) -> None:
        async for line in stream:  # Nest's logs: kept for error messages
            self.stderr.append(line.decode(errors="replace").rstrip())

    async def request(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command; return its JSON result."""
        self.stdin.write((json.dumps(command) + "\n").encode())
        await self.stdin.drain()
        line = await asyncio.wait_for(self.stdout.readline(), 30)
        if not line:
            msg = "client.js exited; its log:\n" + "\n".join(self.stderr[-20:])
            raise RuntimeError(msg)
        result: dict[str, Any] = json.loads(line)
        return result

    async def close(self) -> None:
        """Close stdin (client.js then closes its MQTT client and exits)."""
        self.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        await self._drain
