"""The README's "Twenty lines" example, served and called with the commands it shows."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from tests.cli.cli_support import REPO, nestpy, read_until, start, stop

README = (REPO / "README.md").read_text()


def _example() -> str:
    section = README.split("## Twenty lines", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_example_is_about_twenty_lines_and_the_setup_commands_stay() -> None:
    assert len(_example().strip().splitlines()) <= 22
    assert "bash scripts/demo" in README
    assert "bash scripts/test" in README


@pytest.mark.mqtt
async def test_the_example_serves_with_nestpy_run_and_answers_nestpy_send(
    mosquitto_broker, tmp_path: Path
) -> None:
    (tmp_path / "app.py").write_text(_example())
    url = mosquitto_broker.url
    process = await start("run", "app:AppModule", "--url", url, "--app-dir", str(tmp_path))
    try:
        await read_until(process, "Nest microservice successfully started")
        out = await asyncio.to_thread(nestpy, "send", "sum", "[1, 2, 3]", "--url", url)
        assert (out.returncode, out.stdout, out.stderr) == (0, "6\n", "")
    finally:
        code, rest = await stop(process)
    assert code == 0, rest
