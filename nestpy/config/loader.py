"""Build a pydantic-settings ``BaseSettings`` and report invalid settings by env variable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from nestpy.errors import NestpyError

S = TypeVar("S", bound=BaseSettings)
EnvFile = str | Path | Sequence[str | Path]


@dataclass(frozen=True, slots=True)
class SettingError:
    """One invalid setting: where it is (``mqtt.url``), its env variable, pydantic's message."""

    location: str
    env: str
    message: str


class ConfigValidationError(NestpyError, ValueError):
    """The settings failed validation; the message names each field and its env variable.

    Input values are never part of the message (they may be secrets).
    """

    def __init__(
        self, settings: type[BaseSettings], errors: Sequence[SettingError], env_file: Any
    ) -> None:
        self.settings = settings
        self.errors = list(errors)
        count = len(self.errors)
        lines = [f"{settings.__name__} is invalid ({count} error{'s' if count != 1 else ''}):"]
        lines += [f"  {e.location} (env {e.env}): {e.message}" for e in self.errors]
        where = "the environment"
        if env_file:
            files = [env_file] if isinstance(env_file, str | Path) else list(env_file)
            where += " or " + ", ".join(str(f) for f in files)
        lines.append(f"Set these variables in {where}.")
        super().__init__("\n".join(lines))


def _field_name(settings: type[BaseSettings], head: str) -> str | None:
    if head in settings.model_fields:
        return head
    for name, field in settings.model_fields.items():
        if head in (field.validation_alias, field.alias):
            return name
    return None


def env_name(settings: type[BaseSettings], loc: Sequence[int | str]) -> str:
    """The environment variable pydantic-settings reads for the field at ``loc``."""
    config = settings.model_config
    head = str(loc[0]) if loc else ""
    field_name = _field_name(settings, head)
    field = settings.model_fields[field_name] if field_name else None
    alias = field.validation_alias if field is not None else head
    if isinstance(alias, str):  # an alias is read as it is, without the prefix
        name = alias
    else:
        name = (config.get("env_prefix") or "") + head
        delimiter = config.get("env_nested_delimiter")
        if delimiter:
            nested = [str(part) for part in loc[1:] if isinstance(part, str)]
            name = delimiter.join([name, *nested])
    return name if config.get("case_sensitive") else name.upper()


def _location(settings: type[BaseSettings], loc: Sequence[int | str]) -> str:
    if not loc:
        return "(settings)"
    head = _field_name(settings, str(loc[0])) or str(loc[0])
    return ".".join([head, *(str(part) for part in loc[1:])])


def load_settings(
    settings: type[S], *, env_file: EnvFile | None = None, values: Mapping[str, Any] | None = None
) -> S:
    """``settings(**values)`` reading the environment (and ``env_file``); raises
    ``ConfigValidationError`` naming every invalid field and its env variable."""
    kwargs: dict[str, Any] = dict(values or {})
    if env_file is not None:
        kwargs["_env_file"] = env_file
    try:
        return settings(**kwargs)
    except ValidationError as exc:
        errors = [
            SettingError(
                location=_location(settings, error["loc"]),
                env=env_name(settings, error["loc"]),
                message=error["msg"],
            )
            for error in exc.errors(include_input=False, include_url=False)
        ]
    # Raised outside the except block: pydantic's own error would echo the input values.
    raise ConfigValidationError(settings, errors, env_file)
