"""The pytest configuration docs/testing.md recommends runs without pytest-asyncio's warning."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.cli.cli_support import REPO, clean_env

TEST_FILE = """
import pytest


@pytest.fixture
async def answer():
    return 42


async def test_answer(answer):
    assert answer == 42
"""


def _recommended_configuration() -> str:
    page = (REPO / "docs" / "testing.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", page, re.S)
    (config,) = [block for block in blocks if "asyncio_mode" in block]
    return config


def test_the_recommended_configuration_has_no_deprecation_warning(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(_recommended_configuration())
    (tmp_path / "test_answer.py").write_text(TEST_FILE)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", "-q"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "1 passed" in out.stdout
    assert "warning" not in out.stdout.lower()
