"""Find the handler methods of an application's controllers and register them on a server."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

from nestpy.common.enhancers import ENHANCER_ATTRS
from nestpy.core.injectables import EnhancerSource
from nestpy.microservices.context import RequestContext
from nestpy.microservices.decorators import pattern_metadata
from nestpy.microservices.enhancers import Pipeline
from nestpy.microservices.handler import MessageHandler
from nestpy.microservices.server import Server

if TYPE_CHECKING:
    from nestpy.core.application_context import NestApplicationContext

logger = logging.getLogger("nestpy.microservices")


class _RequestScope:
    """One context id per message, with the message registered as ``REQUEST``/``CONTEXT``."""

    def __init__(self, app: NestApplicationContext, controller: type, scoped: bool) -> None:
        self._app = app
        self._controller = controller
        self.controller_scoped = scoped

    async def enter(self, request: RequestContext) -> tuple[Hashable, Any]:
        context_id = object()
        self._app.register_request_by_context_id(request, context_id)
        if not self.controller_scoped:
            return context_id, None
        return context_id, await self._app.resolve(self._controller, context_id)

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
    resolved for each message.
    """
    bound: list[MessageHandler] = []
    for controller in app.controllers:
        methods = _handler_methods(controller)
        if not methods:
            continue
        request_scoped = app.is_request_scoped(controller)
        instance: Any = None if request_scoped else app.get(controller)
        pipeline_of = _pipelines(app, controller)
        for name, function in methods:
            method = function if instance is None else getattr(instance, name)
            pipeline = pipeline_of(function)
            scope = None
            if request_scoped or pipeline.request_scoped:
                scope = _RequestScope(app, controller, request_scoped)
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
