"""A tiny check runner: each step prints one readable line, and a wrong result stops the run."""

from __future__ import annotations

from typing import Any


class CheckFailed(Exception):
    """A call gave something other than what the math service should answer."""


class Checks:
    """Counts and prints checks: ``expect(label, got, wanted)`` and ``note(label, text)``."""

    def __init__(self, width: int = 48) -> None:
        self.width = width
        self.passed = 0

    def line(self, mark: str, label: str, text: str) -> None:
        print(f"  {mark:<4} {label:<{self.width}} {text}", flush=True)

    def expect(self, label: str, got: Any, wanted: Any) -> Any:
        if got != wanted:
            self.line("FAIL", label, f"-> {got!r}")
            msg = f"{label}: got {got!r}, expected {wanted!r}"
            raise CheckFailed(msg)
        self.passed += 1
        self.line("ok", label, f"-> {got!r}")
        return got

    def ok(self, label: str, text: str) -> None:
        self.passed += 1
        self.line("ok", label, text)

    def fail(self, label: str, text: str) -> None:
        self.line("FAIL", label, text)
        msg = f"{label}: {text}"
        raise CheckFailed(msg)
