"""The ``nestpy`` command: ``run``, ``graph`` and ``new`` (``nestpy --help``)."""

from nestpy.cli.main import main

__all__ = ["main"]
