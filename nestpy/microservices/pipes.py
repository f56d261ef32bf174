"""Pipes: transform or validate a handler's arguments before it runs.

A pipe has ``transform(value, metadata)`` (plain or ``async``); it returns the value the
handler gets, or raises (an ``RpcException`` reaches the caller as it is). Pipes run after
guards and interceptors' "before" part, on payload parameters and custom-decorator parameters,
in this order: global, controller, method, then the parameter's own.
"""

from __future__ import annotations

import enum
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from pydantic import TypeAdapter, ValidationError

from nestpy.microservices.exceptions import RpcException

VALIDATION_FAILED = "Payload validation failed"

ExceptionFactory = Callable[[Any], BaseException]


@dataclass(frozen=True, slots=True)
class ArgumentMetadata:
    """What a pipe learns about the parameter: ``type`` ("payload" or "custom"), its type hint
    (``metatype``, None when absent) and ``data`` (the ``Payload("key")`` key or the custom
    decorator's argument)."""

    type: Literal["payload", "custom"]
    metatype: Any = None
    data: Any = None


class PipeTransform(Protocol):
    """A pipe."""

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any | Awaitable[Any]:
        """Return the transformed value, or raise."""


def _raise(message: str, factory: ExceptionFactory | None) -> Any:
    raise factory(message) if factory is not None else RpcException(message)


class ValidationPipe:
    """Validate a parameter against its type hint with pydantic (models, ``list[int]``...).

    ``transform=True`` passes the validated value (e.g. the model instance) to the handler;
    otherwise the original value goes on, as in Nest. A failure raises
    ``RpcException({"status": "error", "message": "Payload validation failed", "errors": [...]})``,
    or what ``exception_factory(errors)`` returns. Custom-decorator parameters are validated only
    with ``validate_custom_decorators=True``.
    """

    def __init__(
        self,
        *,
        transform: bool = False,
        exception_factory: ExceptionFactory | None = None,
        expected_type: Any = None,
        validate_custom_decorators: bool = False,
    ) -> None:
        self.transform_values = transform
        self.exception_factory = exception_factory
        self.expected_type = expected_type
        self.validate_custom_decorators = validate_custom_decorators
        self._adapters: dict[Any, TypeAdapter[Any]] = {}

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
        """Validate ``value``; see the class docstring."""
        if metadata.type == "custom" and not self.validate_custom_decorators:
            return value
        metatype = self.expected_type or metadata.metatype
        if metatype is None or metatype is Any or metatype is object:
            return value
        adapter = self._adapters.get(metatype)
        if adapter is None:
            adapter = self._adapters[metatype] = TypeAdapter(metatype)
        try:
            validated = adapter.validate_python(value)
        except ValidationError as exc:
            errors = json.loads(exc.json(include_url=False, include_context=False))
            if self.exception_factory is not None:
                raise self.exception_factory(errors) from exc
            raise RpcException(
                {"status": "error", "message": VALIDATION_FAILED, "errors": errors}
            ) from exc
        return validated if self.transform_values else value


class _ParsePipe:
    message = ""

    def __init__(
        self, *, optional: bool = False, exception_factory: ExceptionFactory | None = None
    ) -> None:
        self.optional = optional
        self.exception_factory = exception_factory

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
        if value is None and self.optional:
            return None
        try:
            return self._parse(value)
        except (TypeError, ValueError):
            return _raise(f"Validation failed ({self.message})", self.exception_factory)

    def _parse(self, value: Any) -> Any:
        raise NotImplementedError


_INT = re.compile(r"^-?\d+$")


class ParseIntPipe(_ParsePipe):
    """``"42"`` or ``42`` -> ``42``; anything else: "Validation failed (numeric string is
    expected)"."""

    message = "numeric string is expected"

    def _parse(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _INT.match(value):
            return int(value)
        raise ValueError(value)


class ParseFloatPipe(_ParsePipe):
    """``"1.5"`` or a number -> ``float``; else "Validation failed (numeric string is
    expected)"."""

    message = "numeric string is expected"

    def _parse(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise TypeError(value)
        result = float(value)
        if result != result or result in (float("inf"), float("-inf")):
            raise ValueError(value)
        return result


class ParseBoolPipe(_ParsePipe):
    """``true``/``"true"`` and ``false``/``"false"`` -> bool; else "Validation failed (boolean
    string is expected)"."""

    message = "boolean string is expected"

    def _parse(self, value: Any) -> bool:
        if value is True or value == "true":
            return True
        if value is False or value == "false":
            return False
        raise ValueError(value)


class ParseUUIDPipe(_ParsePipe):
    """A UUID string (of ``version`` when given) passes unchanged; else "Validation failed
    (uuid is expected)"."""

    def __init__(self, *, version: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = version
        self.message = f"uuid{f' v{version}' if version else ''} is expected"

    def _parse(self, value: Any) -> str:
        if not isinstance(value, str):
            raise TypeError(value)
        parsed = uuid.UUID(value)
        if self.version is not None and parsed.version != self.version:
            raise ValueError(value)
        return value


class ParseEnumPipe(_ParsePipe):
    """A value of ``enum_type`` -> that member; else "Validation failed (enum string is
    expected)"."""

    message = "enum string is expected"

    def __init__(self, enum_type: type[enum.Enum], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.enum_type = enum_type

    def _parse(self, value: Any) -> enum.Enum:
        return self.enum_type(value)


class ParseArrayPipe(_ParsePipe):
    """A list, or a string split on ``separator`` -> list (items through ``items`` when
    given); else "Validation failed (parsable array expected)"."""

    message = "parsable array expected"

    def __init__(self, *, items: Any = None, separator: str = ",", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.items = TypeAdapter(list[items]) if items is not None else None
        self.separator = separator

    def _parse(self, value: Any) -> list[Any]:
        if isinstance(value, str):
            value = value.split(self.separator) if value else []
        if not isinstance(value, list):
            raise TypeError(value)
        if self.items is None:
            return value
        try:
            return self.items.validate_python(value)
        except ValidationError as exc:
            raise ValueError(value) from exc


class DefaultValuePipe:
    """Replace ``None`` with ``default``."""

    def __init__(self, default: Any) -> None:
        self.default = default

    def transform(self, value: Any, metadata: ArgumentMetadata) -> Any:
        """``default`` when ``value`` is None, else ``value``."""
        return self.default if value is None else value
