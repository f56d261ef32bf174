"""Running the ``nestpy`` command in a subprocess, on this worktree's code."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
NESTPY = [sys.executable, "-m", "nestpy.cli"]
"""``python -m nestpy.cli`` is the ``nestpy`` script (tests/distribution runs the script itself)."""
NEST_LINE = re.compile(r"^\[Nest\] \d+  - \d{4}-\d\d-\d\d \d\d:\d\d:\d\d +LOG \[[\w.]+\] ")
NEST_PID = re.compile(r"^\[Nest\] (\d+) ")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without NESTPY_* variables, importing this worktree's ``nestpy``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NESTPY_")}
    env["PYTHONPATH"] = str(REPO)
    return {**env, **extra}


def nestpy(
    *args: str, env: dict[str, str] | None = None, **kwargs: Any
) -> subprocess.CompletedProcess[str]:
    """Run ``nestpy ARGS`` to completion."""
    return subprocess.run(
        [*NESTPY, *args],
        cwd=kwargs.pop("cwd", REPO),
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=kwargs.pop("timeout", 60),
        **kwargs,
    )


async def start(*args: str, env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """Start ``nestpy ARGS`` (e.g. ``run ...``) with its stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        *NESTPY,
        *args,
        cwd=REPO,
        env=env or clean_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def read_until(process: asyncio.subprocess.Process, text: str, count: int = 1) -> list[str]:
    """The stderr lines up to the ``count``-th one containing ``text``."""
    assert process.stderr is not None
    lines: list[str] = []
    while sum(text in line for line in lines) < count:
        line = await asyncio.wait_for(process.stderr.readline(), 30)
        if not line:
            raise AssertionError(f"exited before {text!r}:\n{''.join(lines)}")
        lines.append(line.decode())
    return lines


async def stop(process: asyncio.subprocess.Process) -> tuple[int, str]:
    """SIGTERM, then the exit status and the rest of stderr."""
    assert process.stderr is not None
    process.send_signal(signal.SIGTERM)
    rest = await asyncio.wait_for(process.stderr.read(), 30)
    return await asyncio.wait_for(process.wait(), 30), rest.decode()


def pids(lines: list[str], text: str) -> set[int]:
    """The process ids of the ``[Nest]`` lines containing ``text``."""
    return {int(m.group(1)) for line in lines if text in line and (m := NEST_PID.match(line))}


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists (and is not a zombie of ours)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ", 1)[1].startswith("Z"))
