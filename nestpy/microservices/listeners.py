"""Find the handler methods of an application's controllers and register them on a server."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from nestpy.common.enhancers import ENHANCER_ATTRS
from nestpy.core.injectables import EnhancerSource
from nestpy.errors import NestpyError
from nestpy.microservices.context import RequestContext
from nestpy.microservices.decorators import pattern_metadata
from nestpy.microservices.enhancers import Pipeline
from nestpy.microservices.handler import MessageHandler
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


class _RequestScope:
    """One context id per message, with the message registered as ``REQUEST``/``CONTEXT``."""

    def __init__(
        self, app: NestApplicationContext, controller: type, scoped: bool, names: list[str]
    ) -> None:
        self._app = app
        self._controller = controller
        self.controller_scoped = scoped
        self._names = names
        self._checked = False

    async def enter(self, request: RequestContext) -> tuple[Hashable, Any]:
        context_id = object()
        self._app.register_request_by_context_id(request, context_id)
        if not self.controller_scoped:
            return context_id, None
        instance: Any = await self._app.resolve(self._controller, context_id)
        if not self._checked:  # every instance is built by the same __init__: check one
            try:
                _check_not_shadowed(self._controller, instance, self._names)
            except ShadowedHandlerError:
                await self._app.close_context(context_id)
                raise
            self._checked = True
        return context_id, instance

    async def exit(self, context_id: Hashable) -> None:
        await self._app.close_context(context_id)


def _pipelines(app: NestApplicationContext, controller: type) -> Callable[[Any], Pipeline]:
    # Per controller: a transient enhancer is one instance per controller, as in Nest.
    global_sources = {
        attr: app.global_enhancer_sources(attr, controller) for attr in ENHANCER_ATTRS
    }
    sources: dict[int, tuple[Any, EnhancerSource]] = {}

    def resolve(ref: Any) -> EnhancerSource:
        found = sources.get(id(ref))
        if found is None:
            found = sources[id(ref)] = (ref, app.enhancer_source(ref, controller))
        return found[1]

    def pipeline(function: Any) -> Pipeline:
        return Pipeline(controller, function, resolve=resolve, global_sources=global_sources)

    return pipeline


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
        pipeline_of = _pipelines(app, controller)
        for name, function in methods:
            method = function if instance is None else getattr(instance, name)
            pipeline = pipeline_of(function)
            scope = None
            if request_scoped or pipeline.request_scoped:
                scope = _RequestScope(app, controller, request_scoped, names)
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
