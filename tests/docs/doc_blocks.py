"""Extract the Python code blocks of the documentation and run them, page by page.

The rules, which the docs rely on:

* Every fenced block whose language is ``python`` (or ``py``) runs. Other languages (``bash``,
  ``json``, ``typescript``, ``text``...) are shown, never run.
* A block right after the line ``<!-- docs-test: skip -->`` (an HTML comment, invisible on the
  site) is not run. Use it sparingly: for code that cannot run in a test (e.g. a blocking
  ``main()`` entry point is better guarded with ``if __name__ == "__main__":``, which does not
  run because a page's blocks execute in a module named ``docs_<page>``).
* A block right after ``<!-- docs-test: pytest -->`` is a test file: it is written to the
  page's working directory and run with ``python -m pytest -o asyncio_mode=auto`` in a
  subprocess (so nestpy's pytest plugin is loaded as in a user's project); it must pass.
* The blocks of one page run in order in one module namespace, so later blocks build on
  earlier ones. Top-level ``await`` is allowed, as in the ``python -m asyncio`` REPL; all the
  blocks of a page share one event loop.
* Output is checked: the lines a block prints must equal its ``#>`` comments, in order
  (``print(6)  #> 6``, or ``#> 6`` on the line after; the one space after ``#>`` is not part of
  the output, further indentation is; trailing spaces and blank lines at the end are ignored;
  ``...`` stands for any text, e.g. a random id). A block without ``#>`` comments must print
  nothing.
* The broker: the literal ``mqtt://localhost:1883`` in a block is replaced by the URL of a
  private Mosquitto started for the page, and ``NESTPY_MQTT_URL`` points there too, so that
  ``MqttOptions()`` and ``MqttOptions(url="mqtt://localhost:1883")`` both reach it (the ``#>``
  comments are not rewritten: examples should not print that URL). Other ``NESTPY_MQTT_*``
  variables are cleared, and each page runs in an empty temporary directory.
* A page must clean up: when its last block has run, no task it started may still be running.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import io
import re
import sys
import tokenize
import types
from dataclasses import dataclass
from pathlib import Path

SKIP_MARKER = "<!-- docs-test: skip -->"
PYTEST_MARKER = "<!-- docs-test: pytest -->"
BROKER_PLACEHOLDER = "mqtt://localhost:1883"
PYTHON_LANGUAGES = frozenset({"python", "py"})
BLOCK_TIMEOUT = 30.0

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    """The 1-based line of the block's first code line."""
    language: str
    source: str
    skip: bool
    is_test_file: bool = False

    @property
    def runs(self) -> bool:
        """Whether the test runs this block (in the page's namespace, or with pytest)."""
        return self.language in PYTHON_LANGUAGES and not self.skip

    def where(self) -> str:
        """``docs/page.md:LINE``, for messages."""
        return f"{self.page}:{self.line}"


def extract_blocks(text: str, page: Path) -> list[Block]:
    """Every fenced code block of a Markdown page, with its language and skip marker."""
    lines = text.splitlines()
    blocks: list[Block] = []
    previous = ""
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if match is None:
            if lines[i].strip():
                previous = lines[i].strip()
            i += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip()
        language = re.split(r"[\s{]", info, maxsplit=1)[0].lower() if info else ""
        body: list[str] = []
        j = i + 1
        while j < len(lines) and not (
            lines[j].strip().startswith(fence) and lines[j].strip().strip(fence[0]) == ""
        ):
            line = lines[j]
            body.append(line[len(indent) :] if line.startswith(indent) else line.lstrip())
            j += 1
        if j == len(lines):
            msg = f"{page}:{i + 1}: code fence {fence!r} is never closed"
            raise ValueError(msg)
        source = "\n".join(body) + "\n"
        blocks.append(
            Block(page, i + 2, language, source, previous == SKIP_MARKER, previous == PYTEST_MARKER)
        )
        previous = ""
        i = j + 1
    return blocks


def expected_output(source: str) -> list[str]:
    """The ``#>`` comments of a block, in order: what it must print."""
    expected = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and token.string.startswith("#>"):
            text = token.string[2:]
            expected.append((text[1:] if text.startswith(" ") else text).rstrip())
    return expected


def output_matches(printed: list[str], expected: list[str]) -> bool:
    """Whether the printed lines are the expected ones; ``...`` stands for any text."""
    if len(printed) != len(expected):
        return False
    for line, pattern in zip(printed, expected, strict=True):
        regex = ".*".join(re.escape(part) for part in pattern.split("..."))
        if re.fullmatch(regex, line) is None:
            return False
    return True


class DocsError(AssertionError):
    """A documentation block failed or printed something else than its ``#>`` lines."""


@dataclass
class PageRunner:
    """Runs the blocks of one page in one module namespace."""

    page: Path
    broker_url: str | None = None

    def __post_init__(self) -> None:
        name = "docs_" + re.sub(r"\W", "_", self.page.with_suffix("").as_posix())
        self.module = types.ModuleType(name)
        self.module.__file__ = str(self.page)

    async def run(self, blocks: list[Block]) -> None:
        """Run every runnable block; raise ``DocsError`` at the first failure."""
        sys.modules[self.module.__name__] = self.module
        try:
            for block in blocks:
                if block.runs and block.is_test_file:
                    await self.run_test_file(block)
                elif block.runs:
                    await self.run_block(block)
        finally:
            sys.modules.pop(self.module.__name__, None)

    def _source(self, block: Block) -> str:
        if self.broker_url is None:
            return block.source
        return block.source.replace(BROKER_PLACEHOLDER, self.broker_url)

    def _write_test_file(self, block: Block) -> Path:
        path = Path(f"test_{self.module.__name__}_{block.line}.py")
        path.write_text(self._source(block))
        return path

    async def run_test_file(self, block: Block) -> None:
        """Write the block to ``test_<page>_<line>.py`` and run pytest on it; it must pass."""
        path = self._write_test_file(block)
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"),
            str(path),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            raise DocsError(f"{block.where()}: pytest failed:\n{output.decode()}")

    async def run_block(self, block: Block) -> None:
        """Run one block and compare what it prints with its ``#>`` comments."""
        source = self._source(block)
        try:
            code = compile(
                "\n" * (block.line - 1) + source,
                str(block.page),
                "exec",
                flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT,
                dont_inherit=True,
            )
        except SyntaxError as exc:
            raise DocsError(f"{block.where()}: syntax error: {exc}") from exc
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                result = eval(code, self.module.__dict__)
                if code.co_flags & inspect.CO_COROUTINE:
                    async with asyncio.timeout(BLOCK_TIMEOUT):
                        await result
        except Exception as exc:
            printed = out.getvalue()
            note = f"\nIt printed:\n{printed}" if printed else ""
            raise DocsError(f"{block.where()}: {type(exc).__name__}: {exc}{note}") from exc
        printed_lines = [line.rstrip() for line in out.getvalue().rstrip().splitlines()]
        expected = expected_output(block.source)
        if not output_matches(printed_lines, expected):
            raise DocsError(
                f"{block.where()}: the block printed\n"
                + "\n".join(f"  {line}" for line in printed_lines)
                + "\nbut its #> comments say\n"
                + "\n".join(f"  {line}" for line in expected)
            )
