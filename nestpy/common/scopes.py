"""Provider scopes (Nest's ``Scope``)."""

from __future__ import annotations

import enum


class Scope(enum.Enum):
    """How long a provider instance lives.

    ``DEFAULT``: one instance per application, built at bootstrap.
    ``TRANSIENT``: every consumer gets its own instance.
    ``REQUEST``: one instance per context id (per incoming message); bubbles up to dependents.
    """

    DEFAULT = "default"
    TRANSIENT = "transient"
    REQUEST = "request"
