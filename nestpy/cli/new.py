"""``nestpy new``: scaffold a project with a module, a controller, a service and a test."""

from __future__ import annotations

import keyword
import re
from pathlib import Path
from string import Template

from nestpy.cli.loader import CliError
from nestpy.cli.templates import FILES

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")


def package_name(name: str) -> str:
    """The import package of project ``name``: ``Math-Service`` -> ``math_service``."""
    package = name.lower().replace("-", "_")
    return package + "_app" if keyword.iskeyword(package) else package


def scaffold(name: str, directory: str | Path = ".") -> Path:
    """Create ``directory/name`` with the project files; returns its path."""
    if not _NAME.fullmatch(name):
        msg = (
            f"Invalid project name {name!r}: use letters, digits, '-' and '_', "
            "starting with a letter."
        )
        raise CliError(msg)
    root = Path(directory) / name
    if root.exists() and any(root.iterdir()):
        msg = f"{root} already exists and is not empty."
        raise CliError(msg)
    values = {"name": name, "package": package_name(name)}
    for relative, text in FILES.items():
        path = root / Template(relative).substitute(values)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(text).substitute(values))
    return root
