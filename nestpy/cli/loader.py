"""Find the module a command names: ``package.module:AppModule``."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.metadata import get_module_metadata


class CliError(Exception):
    """A usage error the command reports in one message (exit status 2)."""


def load_module(target: str, app_dir: str | Path = ".") -> type[Any] | DynamicModule:
    """Import ``package.module:Name`` (``Name`` defaults to ``AppModule``) from ``app_dir``."""
    module_path, _, attribute = target.partition(":")
    attribute = attribute or "AppModule"
    if not module_path:
        msg = f"Expected package.module:AppModule, got {target!r}."
        raise CliError(msg)
    directory = str(Path(app_dir).resolve())
    if directory not in sys.path:
        sys.path.insert(0, directory)
    try:
        python_module = importlib.import_module(module_path)
    except ImportError as exc:
        msg = f"Cannot import {module_path!r} (from {directory}): {exc}"
        raise CliError(msg) from exc
    value: Any = python_module
    for part in attribute.split("."):
        try:
            value = getattr(value, part)
        except AttributeError:
            msg = f"{module_path!r} has no attribute {attribute!r}."
            raise CliError(msg) from None
    if isinstance(value, DynamicModule) or get_module_metadata(value) is not None:
        return value  # type: ignore[no-any-return]
    msg = f"{target} is not a module: decorate it with @Module(...) (got {value!r})."
    raise CliError(msg)
