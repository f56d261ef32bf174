"""``@MessagePattern``, ``@EventPattern``, ``@Payload`` and ``@Ctx``: metadata only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nestpy.microservices.patterns import Pattern, pattern_routes
from nestpy.microservices.transports import Transport

PATTERNS_ATTR = "__nestpy_patterns__"
F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True, slots=True)
class PatternMetadata:
    """One ``@MessagePattern``/``@EventPattern`` on a handler method."""

    routes: tuple[str, ...]
    is_event: bool
    transport: Transport | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)
    run_in_thread: bool = False


def _decorator(
    patterns: Pattern | list[Pattern],
    transport: Transport | Mapping[str, Any] | None,
    extras: Mapping[str, Any] | None,
    *,
    is_event: bool,
    qos: int | None,
    run_in_thread: bool,
) -> Callable[[F], F]:
    if isinstance(transport, Mapping):  # Nest: an object second argument is the extras
        transport, extras = None, transport
    merged = dict(extras or {})
    if qos is not None:
        merged["qos"] = qos
    metadata = PatternMetadata(
        routes=tuple(pattern_routes(patterns)),
        is_event=is_event,
        transport=transport,
        extras=merged,
        run_in_thread=run_in_thread,
    )

    def decorate(func: F) -> F:
        existing: list[PatternMetadata] = list(getattr(func, PATTERNS_ATTR, []))
        setattr(func, PATTERNS_ATTR, [*existing, metadata])
        return func

    return decorate


def MessagePattern(
    pattern: Pattern | list[Pattern],
    transport: Transport | Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    *,
    qos: int | None = None,
    run_in_thread: bool = False,
) -> Callable[[F], F]:
    """Mark a controller method as the request/response handler of ``pattern``.

    A list of patterns registers the handler under each. ``qos`` sets the subscription QoS of
    this pattern (MQTT); ``transport`` limits the handler to servers of that transport.
    A plain ``def`` handler runs on the event loop unless ``run_in_thread=True``, which runs it
    in a thread pool so that blocking code does not stall other messages.
    """
    return _decorator(
        pattern, transport, extras, is_event=False, qos=qos, run_in_thread=run_in_thread
    )


def EventPattern(
    pattern: Pattern | list[Pattern],
    transport: Transport | Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    *,
    qos: int | None = None,
    run_in_thread: bool = False,
) -> Callable[[F], F]:
    """Mark a controller method as a handler of events (messages without a reply) on ``pattern``.

    Several event handlers may share a pattern; all of them run for each event.
    """
    return _decorator(
        pattern, transport, extras, is_event=True, qos=qos, run_in_thread=run_in_thread
    )


@dataclass(frozen=True, slots=True)
class Payload:
    """``Annotated[T, Payload()]`` injects the message data, ``Payload("key")`` one key of it."""

    key: str | None = None


@dataclass(frozen=True, slots=True)
class Ctx:
    """``Annotated[MqttContext, Ctx()]`` injects the transport context of the message."""


def pattern_metadata(func: Callable[..., Any]) -> list[PatternMetadata]:
    """The pattern metadata attached to ``func`` (empty when it is not a handler)."""
    return list(getattr(func, PATTERNS_ATTR, []))
