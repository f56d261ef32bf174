"""The documentation cannot rot: every Python block of ``docs/`` runs, and the site builds.

How blocks are run (output checks, the private broker, the skip marker) is described in
``doc_blocks.py``.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import (
    BROKER_PLACEHOLDER,
    PYTEST_MARKER,
    SKIP_MARKER,
    Block,
    DocsError,
    PageRunner,
    expected_output,
    extract_blocks,
    output_matches,
)

from nestpy_mqtt.testing import MosquittoBroker, MosquittoNotFoundError

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(path.relative_to(ROOT) for path in DOCS.rglob("*.md"))
BROKER_WORDS = ("MqttOptions", "Transport.MQTT", "create_microservice", "ClientProxyFactory")


def _blocks(page: Path) -> list[Block]:
    return extract_blocks((ROOT / page).read_text(), page)


def _needs_broker(blocks: list[Block]) -> bool:
    return any(word in b.source for b in blocks if b.runs for word in BROKER_WORDS)


@pytest.fixture
def docs_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty working directory, no ``NESTPY_MQTT_*`` variables from the outside, and an
    empty default Prometheus registry (a page shows the metrics of its own examples, not
    those other tests of this process counted)."""
    for name in list(os.environ):
        if name.startswith("NESTPY_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    try:
        import prometheus_client
    except ImportError:
        return
    monkeypatch.setattr(prometheus_client, "REGISTRY", prometheus_client.CollectorRegistry())


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to("docs").as_posix() for p in PAGES])
async def test_page_examples_run(page: Path, docs_env: None, monkeypatch: pytest.MonkeyPatch):
    blocks = _blocks(page)
    if not any(b.runs for b in blocks):
        pytest.skip("no Python blocks")
    broker = None
    if _needs_broker(blocks):
        try:
            broker = MosquittoBroker().start()
        except MosquittoNotFoundError as exc:
            pytest.skip(str(exc))
        monkeypatch.setenv("NESTPY_MQTT_URL", broker.url)
    runner = PageRunner(page, broker.url if broker else None)
    try:
        await runner.run(blocks)
        current = asyncio.current_task()
        await asyncio.sleep(0.05)  # let tasks that are finishing finish
        left = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
        assert not left, f"{page} leaves tasks running (close apps and clients): {left}"
    finally:
        # Brokers a page starts itself must not outlive a failing page.
        for value in list(vars(runner.module).values()):
            if isinstance(value, MosquittoBroker):
                value.close()
        if broker is not None:
            broker.close()
        otel = sys.modules.get("nestpy.otel")
        if otel is not None:  # a failing page must not leave the tracing wrappers installed
            otel.NestpyInstrumentor().uninstrument()


def test_site_builds_strict(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},  # Material's end-of-life banner
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "index.html").is_file()


def test_skip_marker_is_rare() -> None:
    skipped = [b.where() for page in PAGES for b in _blocks(page) if b.skip]
    assert len(skipped) <= 3, f"too many blocks are not run: {skipped}"


# -- the harness itself -------------------------------------------------------------------------

PAGE = """\
Text.

```python
x = 1 + 1
print(x)  #> 2
```

<!-- docs-test: skip -->
```python
raise SystemExit
```

    ```py
    import asyncio
    await asyncio.sleep(0)
    print(x * 2)
    #> 4
    ```

```bash
rm -rf /
```
"""


def test_extract_blocks_reads_languages_lines_markers_and_indentation() -> None:
    blocks = extract_blocks(PAGE, Path("page.md"))
    assert [(b.language, b.line, b.skip, b.runs) for b in blocks] == [
        ("python", 4, False, True),
        ("python", 10, True, False),
        ("py", 14, False, True),
        ("bash", 21, False, False),
    ]
    assert blocks[2].source.startswith("import asyncio\n")
    assert SKIP_MARKER in PAGE


def test_expected_output_reads_trailing_and_standalone_comments() -> None:
    source = 'print(1)  #> 1\nprint("#> no")\n#> #> no\n#>   indented  \n'
    assert expected_output(source) == ["1", "#> no", "  indented"]


def test_output_matches_with_ellipsis_for_any_text() -> None:
    assert output_matches(["id: 7f3a", "[...]"], ["id: ...", "[...]"])
    assert not output_matches(["id: 7f3a"], ["ID: ..."])
    assert not output_matches(["a", "b"], ["a"])


async def test_runner_runs_blocks_in_one_namespace_with_top_level_await() -> None:
    await PageRunner(Path("page.md")).run(extract_blocks(PAGE, Path("page.md")))


async def test_runner_fails_on_wrong_output_with_the_block_location() -> None:
    page = "x\n\n```python\nprint(3)  #> 4\n```\n"
    with pytest.raises(DocsError, match=r"page\.md:4: the block printed\n  3\n"):
        await PageRunner(Path("page.md")).run(extract_blocks(page, Path("page.md")))


async def test_runner_fails_on_unexpected_output_and_on_errors() -> None:
    runner = PageRunner(Path("p.md"))
    with pytest.raises(DocsError, match="printed"):
        await runner.run(extract_blocks("```python\nprint(1)\n```\n", Path("p.md")))
    with pytest.raises(DocsError, match=r"p\.md:2: ZeroDivisionError"):
        await runner.run(extract_blocks("```python\n1 / 0\n```\n", Path("p.md")))


async def test_runner_runs_test_files_with_pytest_and_fails_when_they_fail(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    page = f"{PYTEST_MARKER}\n```python\ndef test_fails():\n    assert 1 == 2\n```\n"
    with pytest.raises(DocsError, match=r"(?s)p\.md:3: pytest failed:.*1 failed"):
        await PageRunner(Path("p.md")).run(extract_blocks(page, Path("p.md")))


async def test_runner_points_the_placeholder_url_at_the_private_broker() -> None:
    page = f'```python\nprint("{BROKER_PLACEHOLDER}")  #> mqtt://127.0.0.1:1\n```\n'
    await PageRunner(Path("p.md"), "mqtt://127.0.0.1:1").run(extract_blocks(page, Path("p.md")))
