"""``@MessagePattern``, ``@EventPattern``, ``@Payload`` and ``@Ctx``: metadata only."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nestpy.microservices.path_params import topic_parameters
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
    timeout: float | None = None


def _decorator(
    patterns: Pattern | list[Pattern],
    transport: Transport | Mapping[str, Any] | None,
    extras: Mapping[str, Any] | None,
    *,
    is_event: bool,
    qos: int | None,
    run_in_thread: bool,
    timeout: float | None = None,
    ack_policy: Any = None,
    reply_qos: int | None = None,
    envelope: bool = True,
) -> Callable[[F], F]:
    if timeout is not None and timeout <= 0:
        msg = f"timeout must be a positive number of seconds, not {timeout!r}"
        raise ValueError(msg)
    if isinstance(transport, Mapping):  # Nest: an object second argument is the extras
        transport, extras = None, transport
    merged = dict(extras or {})
    if qos is not None:
        merged["qos"] = qos
    if ack_policy is not None:
        merged["ack_policy"] = ack_policy
    if reply_qos is not None:
        if reply_qos not in (0, 1, 2):
            msg = f"reply_qos must be 0, 1 or 2, not {reply_qos!r}"
            raise ValueError(msg)
        merged["reply_qos"] = reply_qos
    if not envelope:
        merged["envelope"] = False
    routes, path_params = topic_parameters(pattern_routes(patterns))
    if path_params:
        merged["path_params"] = path_params
    metadata = PatternMetadata(
        routes=routes,
        is_event=is_event,
        transport=transport,
        extras=merged,
        run_in_thread=run_in_thread,
        timeout=timeout,
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
    timeout: float | None = None,
    ack_policy: Any = None,
    reply_qos: int | None = None,
    envelope: bool = True,
) -> Callable[[F], F]:
    """Mark a controller method as the request/response handler of ``pattern``.

    A list of patterns registers the handler under each. ``qos`` sets the subscription QoS of
    this pattern (MQTT); ``transport`` limits the handler to servers of that transport.
    A plain ``def`` handler runs on the event loop unless ``run_in_thread=True``, which runs it
    in a thread pool so that blocking code does not stall other messages.
    ``timeout`` (seconds) cancels a handler that has not replied in time (a whole stream
    included) and sends the caller ``{"status": "error", "message": "Handler timed out after
    N s"}``; it overrides the server's ``handler_timeout``. A plain ``def`` running on the loop
    cannot be interrupted: give such a handler ``run_in_thread=True`` to bound it.
    ``ack_policy`` (a transport's value, e.g. ``nestpy_mqtt.AckPolicy.MANUAL``) says when a
    QoS 1/2 message of this pattern is acknowledged; it travels in ``extras``.
    ``reply_qos`` (0, 1 or 2) is the QoS the replies are published with (Nest: always 0).
    ``envelope=False`` hands the handler the whole decoded payload instead of the ``data`` of
    Nest's ``{"pattern","data","id"}`` envelope (devices and other non-Nest publishers; see
    docs/mqtt/payload-formats.md); such a message is a request only when its transport says
    where to answer (an MQTT 5 Response Topic).
    """
    return _decorator(
        pattern,
        transport,
        extras,
        is_event=False,
        qos=qos,
        run_in_thread=run_in_thread,
        timeout=timeout,
        ack_policy=ack_policy,
        reply_qos=reply_qos,
        envelope=envelope,
    )


def EventPattern(
    pattern: Pattern | list[Pattern],
    transport: Transport | Mapping[str, Any] | None = None,
    extras: Mapping[str, Any] | None = None,
    *,
    qos: int | None = None,
    run_in_thread: bool = False,
    timeout: float | None = None,
    ack_policy: Any = None,
    envelope: bool = True,
) -> Callable[[F], F]:
    """Mark a controller method as a handler of events (messages without a reply) on ``pattern``.

    Several event handlers may share a pattern; all of them run for each event. ``timeout``
    cancels (and logs) a handler still running after that many seconds. ``ack_policy`` and
    ``envelope``: as for ``MessagePattern``.
    """
    return _decorator(
        pattern,
        transport,
        extras,
        is_event=True,
        qos=qos,
        run_in_thread=run_in_thread,
        timeout=timeout,
        ack_policy=ack_policy,
        envelope=envelope,
    )


class Payload:
    """``Annotated[T, Payload()]`` injects the message data, ``Payload("key")`` one key of it.

    Pipes may follow (or replace) the key: ``Annotated[int, Payload("id", ParseIntPipe)]``.
    """

    __slots__ = ("key", "pipes")

    def __init__(self, key: Any = None, *pipes: Any) -> None:
        if key is not None and not isinstance(key, str):
            key, pipes = None, (key, *pipes)
        self.key: str | None = key
        self.pipes: tuple[Any, ...] = pipes

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Payload) and (other.key, other.pipes) == (self.key, self.pipes)

    def __hash__(self) -> int:
        return hash((self.key, self.pipes))

    def __repr__(self) -> str:
        return f"Payload({', '.join(map(repr, [self.key, *self.pipes]))})"


@dataclass(frozen=True, slots=True)
class Path:
    """``Annotated[int, Path()]``: a ``{name}`` segment of the pattern's topic (the parameter's
    name, or ``Path("name")``), validated against the annotation. A parameter named like a
    segment gets it without the marker: ``@MessagePattern("sensors/{device_id}/temperature")``
    subscribes ``sensors/+/temperature`` and fills ``device_id``."""

    name: str | None = None


@dataclass(frozen=True, slots=True)
class Ctx:
    """``Annotated[MqttContext, Ctx()]`` injects the transport context of the message."""


def pattern_metadata(func: Callable[..., Any]) -> list[PatternMetadata]:
    """The pattern metadata attached to ``func`` (empty when it is not a handler)."""
    return list(getattr(func, PATTERNS_ATTR, []))
