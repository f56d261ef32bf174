"""Find the handler methods of an application's controllers and register them on a server."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nestpy.errors import NestpyError
from nestpy.microservices.context import RequestContext
from nestpy.microservices.decorators import pattern_metadata
from nestpy.microservices.enhancers import Pipeline
from nestpy.microservices.handler import InstanceScope, MessageHandler
from nestpy.microservices.server import Server

if TYPE_CHECKING:
    from nestpy.core.application_context import NestApplicationContext

logger = logging.getLogger("nestpy.microservices")


class ShadowedHandlerError(NestpyError, TypeError):
    """An instance attribute has the name of a handler method, so the handler is unreachable."""

    def __init__(self, controller: type, name: str, function: Callable[..., Any], value: Any):
        self.controller = controller
        self.attribute = name
        decorators = ", ".join(
            f"@{'EventPattern' if meta.is_event else 'MessagePattern'}"
            f"({', '.join(repr(route) for route in meta.routes)})"
            for meta in pattern_metadata(function)
        )
        kind = type(value).__name__
        super().__init__(
            f"{controller.__name__}.{name} is a handler ({decorators} def {name}), but the "
            f"instance attribute self.{name} (a {kind}, set in __init__ or later) hides it. "
            f"Rename the attribute (e.g. self._{name}) or the method."
        )


def _check_not_shadowed(controller: type, instance: Any, names: list[str]) -> None:
    # A callable attribute (a test's stand-in for the method) is called as the handler.
    attributes = getattr(instance, "__dict__", {})
    for name in names:
        if name in attributes and not callable(attributes[name]):
            function = inspect.getattr_static(controller, name)
            raise ShadowedHandlerError(controller, name, function, attributes[name])


def _request_scope(
    app: NestApplicationContext, controller: type, names: list[str]
) -> InstanceScope:
    checked = False

    async def resolve(request: RequestContext) -> tuple[Any, Callable[[], None]]:
        nonlocal checked
        context_id = object()
        app.register_request_by_context_id(request, context_id)
        instance: Any = await app.resolve(controller, context_id)
        if not checked:  # every instance is built by the same __init__: check the first one
            try:
                _check_not_shadowed(controller, instance, names)
            except ShadowedHandlerError:
                app.release_context(context_id)
                raise
            checked = True
        return instance, lambda: app.release_context(context_id)

    return resolve


def _handler_methods(controller: type) -> list[tuple[str, Callable[..., Any]]]:
    # In definition order, the class's own methods before inherited ones, as Nest's metadata
    # scanner walks the prototype chain: the order decides which of two overlapping wildcard
    # handlers wins (``inspect.getmembers`` would sort them by name).
    names = dict.fromkeys(name for cls in controller.__mro__ for name in vars(cls))
    members = ((name, inspect.getattr_static(controller, name)) for name in names)
    return [
        (name, member)
        for name, member in members
        if inspect.isfunction(member) and pattern_metadata(member)
    ]


def bind_handlers(app: NestApplicationContext, server: Server) -> list[MessageHandler]:
    """Register every ``@MessagePattern``/``@EventPattern`` of ``app``'s controllers on ``server``.

    Handlers limited to another transport are skipped. Static controllers are taken from the
    container once; request-scoped ones (or ones depending on request-scoped providers) are
    resolved for each message. An instance attribute named like a handler raises
    ``ShadowedHandlerError`` (for a request-scoped controller, at its first message).
    """
    bound: list[MessageHandler] = []
    for controller in app.controllers:
        methods = _handler_methods(controller)
        if not methods:
            continue
        names = [name for name, _ in methods]
        request_scoped = app.is_request_scoped(controller)
        instance: Any = None if request_scoped else app.get(controller)
        if instance is not None:
            _check_not_shadowed(controller, instance, names)
        scope = _request_scope(app, controller, names) if request_scoped else None
        for name, function in methods:
            method = function if instance is None else getattr(instance, name)
            pipeline = Pipeline(controller, function)
            for meta in pattern_metadata(function):
                if meta.transport is not None and meta.transport != server.transport_id:
                    continue
                for route in meta.routes:
                    handler = MessageHandler(
                        route,
                        method,
                        is_event=meta.is_event,
                        extras=meta.extras,
                        run_in_thread=meta.run_in_thread,
                        scope=scope,
                        pipeline=pipeline,
                        timeout=meta.timeout,
                    )
                    server.add_handler(handler)
                    bound.append(handler)
    return bound
