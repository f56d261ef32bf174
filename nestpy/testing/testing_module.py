"""``TestingModule``: the application context a testing module compiles to."""

from __future__ import annotations

from nestpy.core.application_context import NestApplicationContext


class TestingModule(NestApplicationContext):
    """A compiled testing module: ``get``, ``resolve``, ``close`` like any application context.

    Init hooks have run when ``compile()`` returns; ``close()`` runs the shutdown hooks.
    """

    __test__ = False  # not a pytest test class
