"""``NestApplicationContext``: the running application (``get``, ``resolve``, ``close``)."""

from __future__ import annotations

import asyncio
import inspect
import signal as signals_module
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from types import TracebackType
from typing import Any, Literal, Self, TypeVar, overload

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.enhancers import (
    APP_ENHANCERS,
    ENHANCER_ATTRS,
    FILTERS_ATTR,
    GUARDS_ATTR,
    INTERCEPTORS_ATTR,
    PIPES_ATTR,
)
from nestpy.common.tokens import Token
from nestpy.core.errors.exceptions import UnknownElementError
from nestpy.core.injectables import (
    EnhancerSource,
    enhancer_source,
    global_enhancer_records,
    source_of_record,
)
from nestpy.core.injector import Injector
from nestpy.core.lifecycle_hooks import call_hook
from nestpy.core.module_node import ModuleNode
from nestpy.core.module_ref import ModuleRef
from nestpy.core.resources import close_context, shutdown_all

T = TypeVar("T")


class NestApplicationContext:
    """A bootstrapped application: every static provider is built and init hooks have run.

    >>> app = await NestFactory.create_application_context(AppModule)
    >>> app.get(Service)                     # static providers
    >>> await app.resolve(Scoped, "msg-1")   # request-scoped or transient ones
    >>> await app.close()                    # shutdown hooks, reverse module order

    ``async with await NestFactory.create_application_context(AppModule) as app:`` closes it.
    """

    def __init__(self, injector: Injector) -> None:
        self._injector = injector
        self._getters = injector.getters
        self._root_getters = injector.root_getters
        self._modules = injector.modules.hook_order()
        self._dispose_callbacks: list[Callable[[], Awaitable[Any]]] = []
        self._initialized = False
        self._closing: asyncio.Future[None] | None = None
        self._closed = asyncio.Event()
        self._signals: list[int] = []
        self._signal_tasks: set[asyncio.Task[None]] = set()
        self.global_enhancers: dict[str, list[Any]] = {attr: [] for attr in ENHANCER_ATTRS}
        """What ``use_global_guards``/``_interceptors``/``_filters``/``_pipes`` registered."""
        self.controllers: list[type[Any]] = [
            record.token  # type: ignore[misc]
            for node in self._modules
            for record in node.controllers.values()
        ]
        """Every controller class of every module, in module init order."""

    @overload
    def get(self, token: type[T], *, strict: bool = False, each: Literal[False] = False) -> T: ...
    @overload
    def get(self, token: Token, *, strict: bool = False, each: Literal[True]) -> list[Any]: ...
    @overload
    def get(self, token: Token, *, strict: bool = False, each: bool = False) -> Any: ...
    def get(self, token: Token, *, strict: bool = False, each: bool = False) -> Any:
        """The instance of a static provider or controller; ``strict`` searches the root only.

        ``each=True`` returns the instances of every provider registered under ``token`` (one
        per module), in scan order.
        """
        if strict or each:
            return self._get(token, strict=strict, each=each)
        try:  # the hot path: one dict lookup and a cached dependency-injector Singleton call
            return self._getters[token]()
        except (KeyError, TypeError):
            return self._get(token, strict=False, each=False)  # the slow path says what failed

    def _get(self, token: Token, *, strict: bool, each: bool) -> Any:
        if each:
            injector = self._injector
            return [injector.get(r) for r in injector.find_all(token, None, strict=strict)]
        try:
            getter = (self._root_getters if strict else self._getters)[token]
        except (KeyError, TypeError):
            raise UnknownElementError(token=token) from None
        return getter()

    @overload
    async def resolve(
        self,
        token: type[T],
        context_id: Hashable | None = None,
        *,
        strict: bool = False,
        each: Literal[False] = False,
    ) -> T: ...
    @overload
    async def resolve(
        self,
        token: Token,
        context_id: Hashable | None = None,
        *,
        strict: bool = False,
        each: bool = False,
    ) -> Any: ...
    async def resolve(
        self,
        token: Token,
        context_id: Hashable | None = None,
        *,
        strict: bool = False,
        each: bool = False,
    ) -> Any:
        """A request-scoped instance for ``context_id`` (any hashable); new without one.

        Transient providers give a new instance per call (the same one for the same
        ``context_id``); static ones their shared instance. ``each=True`` returns a list, one
        per provider registered under ``token``.
        """
        injector = self._injector
        if each:
            if context_id is None:
                context_id = object()
            records = injector.find_all(token, None, strict=strict)
            return [await injector.resolve(record, context_id) for record in records]
        return await injector.resolve(injector.find(token, None, strict=strict), context_id)

    def is_request_scoped(self, token: Token) -> bool:
        """True when ``token`` (or anything it depends on) is request-scoped."""
        return self._injector.find(token, None, strict=False).request_scoped

    def register_request_by_context_id(self, request: Any, context_id: Hashable) -> None:
        """Make the ``REQUEST`` token inject ``request`` for resolutions with ``context_id``."""
        self._injector.contexts.register_request(request, context_id)

    def release_context(self, context_id: Hashable) -> None:
        """Drop the request-scoped instances (and request) of ``context_id``."""
        self._injector.contexts.release(context_id)

    async def close_context(self, context_id: Hashable) -> None:
        """Tear down the request-scoped resources of ``context_id``, then drop its instances."""
        context = self._injector.contexts.take(context_id)
        if context is not None:
            await close_context(context)

    def select(self, module: type[Any] | DynamicModule) -> ModuleRef:
        """The ``ModuleRef`` of an imported module (``ref.get(token)`` is then strict to it)."""
        for node in self._modules:
            if node.metatype is module or (
                isinstance(module, DynamicModule) and node.metatype is module.module
            ):
                return _module_ref(node)
        raise UnknownElementError(token=module)

    def module_ref_of(self, token: Token) -> ModuleRef:
        """The ``ModuleRef`` of the module that registers ``token`` (e.g. a controller)."""
        node = self._injector.find(token, None, strict=False).node
        if node is None:
            raise UnknownElementError(token=token)
        return _module_ref(node)

    def use_global_guards(self, *guards: Any) -> Self:
        """Guards for every handler (instances, or classes built with no arguments)."""
        self.global_enhancers[GUARDS_ATTR] += guards
        return self

    def use_global_interceptors(self, *interceptors: Any) -> Self:
        """Interceptors for every handler (instances, or classes built with no arguments)."""
        self.global_enhancers[INTERCEPTORS_ATTR] += interceptors
        return self

    def use_global_filters(self, *filters: Any) -> Self:
        """Exception filters for every handler (instances, or classes built with no arguments)."""
        self.global_enhancers[FILTERS_ATTR] += filters
        return self

    def use_global_pipes(self, *pipes: Any) -> Self:
        """Pipes for every handler parameter (instances, or classes built with no arguments)."""
        self.global_enhancers[PIPES_ATTR] += pipes
        return self

    def enhancer_source(self, ref: Any, controller: type[Any] | None = None) -> EnhancerSource:
        """How a handler of ``controller`` gets the enhancer ``ref`` (a class or an instance)."""
        node, scoped = None, False
        if controller is not None:
            record = self._injector.find(controller, None, strict=False)
            node, scoped = record.node, record.request_scoped
        return enhancer_source(self._injector, ref, node, per_message=scoped)

    def global_enhancer_sources(
        self, attr: str, controller: type[Any] | None = None
    ) -> list[EnhancerSource]:
        """The global enhancers of one kind: ``use_global_*`` ones, then ``APP_*`` providers.

        Call it once per controller: a transient ``APP_*`` enhancer is built per call.
        """
        kind = next(k for k, a in APP_ENHANCERS.items() if a == attr)
        injector = self._injector
        scoped = controller is not None and self.is_request_scoped(controller)
        # As in Nest: those given to use_global_* first, then the APP_* providers.
        sources = [enhancer_source(injector, ref, None) for ref in self.global_enhancers[attr]]
        sources += [
            source_of_record(injector, record, per_message=scoped)
            for record in global_enhancer_records(injector.modules, kind)
        ]
        return [s for s in sources if s.instance is not None or s.request_scoped]

    def add_dispose_callback(self, callback: Callable[[], Awaitable[Any]]) -> None:
        """Await ``callback()`` on close, after ``before_application_shutdown`` hooks."""
        self._dispose_callbacks.append(callback)

    async def init(self) -> Self:
        """Run ``on_module_init`` then ``on_application_bootstrap`` (once)."""
        if not self._initialized:
            self._initialized = True
            await call_hook(self._modules, "on_module_init")
            await call_hook(self._modules, "on_application_bootstrap")
        return self

    async def close(self, signal: str | None = None) -> None:
        """Run the shutdown hooks in reverse module order; later calls wait for the first."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._shutdown(signal))
        await asyncio.shield(self._closing)

    @property
    def is_closing(self) -> bool:
        """True once ``close()`` has been called (its hooks may still be running)."""
        return self._closing is not None

    async def wait_closed(self) -> None:
        """Return once ``close()`` (e.g. from a signal handler) has finished."""
        await self._closed.wait()

    async def _shutdown(self, signal: str | None) -> None:
        self._remove_signal_handlers()
        reverse = self._modules[::-1]
        try:
            await call_hook(reverse, "on_module_destroy", dependents_first=True)
            await call_hook(reverse, "before_application_shutdown", signal, dependents_first=True)
            for callback in self._dispose_callbacks:
                await callback()
            await call_hook(reverse, "on_application_shutdown", signal, dependents_first=True)
            resources = [r.resource for r in self._injector.order if r.resource is not None]
            await shutdown_all(resources)
        finally:
            self._closed.set()

    def enable_shutdown_hooks(self, signals: Iterable[str] = ("SIGTERM", "SIGINT")) -> Self:
        """Close the application (passing the signal name to the hooks) on these signals."""
        loop = asyncio.get_running_loop()
        for name in signals:
            number = int(getattr(signals_module, name))
            if number in self._signals:
                continue
            loop.add_signal_handler(number, self._on_signal, name)
            self._signals.append(number)
        return self

    def enable_process_error_handlers(self, handlers: Mapping[str, ProcessErrorHandler]) -> Self:
        """Handle errors nothing caught, as Nest's ``enableProcessErrorHandlers``.

        ``handlers`` maps ``"uncaught_exception"`` (an exception raised in an event-loop
        callback) and ``"unhandled_rejection"`` (a task whose exception nobody retrieved) to
        ``handler(error, controls)``; ``await controls.shutdown(exit_code=1)`` closes the
        application (the hooks get the event name as signal) and exits the process with that
        code. An event without a handler keeps asyncio's default (logging it).
        """
        unknown = set(handlers) - set(PROCESS_ERROR_EVENTS)
        if unknown:
            msg = f"unknown process error events {sorted(unknown)}; use {PROCESS_ERROR_EVENTS}"
            raise ValueError(msg)
        loop = asyncio.get_running_loop()

        def on_error(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
            error = context.get("exception")
            unretrieved = "future" in context and "never retrieved" in context.get("message", "")
            event = "unhandled_rejection" if unretrieved else "uncaught_exception"
            handler = handlers.get(event)
            if handler is None or error is None:
                loop.default_exception_handler(context)
                return
            result = handler(error, ProcessErrorControls(self, event))
            if inspect.isawaitable(result):
                task = asyncio.ensure_future(result)
                self._signal_tasks.add(task)
                task.add_done_callback(self._signal_tasks.discard)

        loop.set_exception_handler(on_error)
        return self

    def _on_signal(self, name: str) -> None:
        task = asyncio.create_task(self.close(name))
        self._signal_tasks.add(task)
        task.add_done_callback(self._signal_tasks.discard)

    def _remove_signal_handlers(self) -> None:
        if not self._signals:
            return
        loop = asyncio.get_running_loop()
        for number in self._signals:
            loop.remove_signal_handler(number)
        self._signals.clear()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()


PROCESS_ERROR_EVENTS = ("uncaught_exception", "unhandled_rejection")


class ProcessErrorControls:
    """What a process error handler can do: ``await controls.shutdown(exit_code=1)``."""

    def __init__(self, app: NestApplicationContext, event: str) -> None:
        self._app = app
        self.event = event

    async def shutdown(self, exit_code: int = 1) -> None:
        """Close the application (``event`` is the hooks' signal), then exit with the code."""
        await self._app.close(self.event)
        raise SystemExit(exit_code)


ProcessErrorHandler = Callable[[BaseException, ProcessErrorControls], Awaitable[Any] | Any]


def _module_ref(node: ModuleNode) -> ModuleRef:
    record = node.providers.get(ModuleRef)
    if record is None or record.provider is None:
        raise UnknownElementError(token=node.metatype)
    ref: ModuleRef = record.provider()
    return ref
