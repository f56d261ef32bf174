"""``ConfigService``: read settings by dotted path, as Nest's ``ConfigService``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic_settings import BaseSettings

from nestpy.errors import NestpyError

_MISSING: Any = object()


class ConfigKeyError(NestpyError, LookupError):
    """``get_or_throw`` found nothing at the path."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f'Configuration key "{path}" does not exist')


class ConfigService:
    """Reads the validated settings of ``ConfigModule.for_root``.

    >>> config.get("mqtt.url")                 # attribute (or mapping key) path
    >>> config.get("port", 1883)               # default when the path does not exist
    >>> config.get_or_throw("password")        # ConfigKeyError when it does not exist
    >>> config.settings                        # the settings instance itself

    Values come back as validated, so a ``SecretStr`` stays a ``SecretStr``.
    """

    def __init__(self, settings: BaseSettings) -> None:
        self._settings = settings

    @property
    def settings(self) -> BaseSettings:
        """The validated settings instance."""
        return self._settings

    def get(self, path: str, default: Any = None) -> Any:
        """The value at ``path`` (``"a.b.c"``), else ``default``."""
        value = self._lookup(path)
        return default if value is _MISSING else value

    def get_or_throw(self, path: str) -> Any:
        """The value at ``path``; raises ``ConfigKeyError`` when there is none."""
        value = self._lookup(path)
        if value is _MISSING:
            raise ConfigKeyError(path)
        return value

    def _lookup(self, path: str) -> Any:
        value: Any = self._settings
        for part in path.split("."):
            if isinstance(value, Mapping):
                value = value.get(part, _MISSING)
            elif part.startswith("_"):
                return _MISSING
            else:
                value = getattr(value, part, _MISSING)
            if value is _MISSING:
                return _MISSING
        return value

    def __repr__(self) -> str:
        return f"ConfigService({type(self._settings).__name__})"
