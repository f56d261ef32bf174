"""Request scope: one ``contextvars.Context`` per context id, and the ``REQUEST`` token.

Request-scoped providers compile to ``ContextLocalSingleton``, which keeps one instance per
``contextvars.Context``. Resolving with a context id runs the provider inside that id's
context, so the same id sees the same instances and different ids see different ones.
"""

from __future__ import annotations

import contextvars
import weakref
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from dependency_injector import providers

from nestpy.common.providers import Provider
from nestpy.common.tokens import INQUIRER, REQUEST
from nestpy.core.context_id import AttachedContext, ContextIdFactory, HostComponentInfo
from nestpy.core.module_node import ProviderRecord

_request: contextvars.ContextVar[Any] = contextvars.ContextVar("nestpy_request")
_durable: contextvars.ContextVar[contextvars.Context] = contextvars.ContextVar("nestpy_durable")


def in_durable_context(provider: Any) -> Any:
    """Call ``provider`` in the durable sub-tree's context of the message being resolved.

    Inside that context the variable is unset, so durable dependencies of a durable provider
    resolve in place.
    """
    durable = _durable.get(None)
    return provider() if durable is None else durable.run(provider)


def current_request() -> Any:
    """The request registered for the context being resolved, else ``None``."""
    return _request.get(None)


def inquirer_record() -> ProviderRecord:
    """The ``INQUIRER`` token: ``None`` unless a consumer's edge passes its class (compiler)."""
    record = ProviderRecord(Provider(INQUIRER, use_value=None), None, "core")
    record.provider = providers.Object(None)
    return record


_transients: contextvars.ContextVar[dict[int, Any]] = contextvars.ContextVar("nestpy_transients")


def transient_in_context(record: ProviderRecord) -> Any:
    """Run inside a context id's context: its one instance of the transient ``record``."""
    cache = _transients.get(None)
    if cache is None:
        cache = {}
        _transients.set(cache)
    found = cache.get(id(record))
    if found is None:
        provider = record.provider
        if provider is None:
            return None
        found = cache[id(record)] = provider()
    return found


def request_record() -> ProviderRecord:
    """The ``REQUEST`` token: request-scoped, visible in every module."""
    record = ProviderRecord(Provider(REQUEST, use_factory=current_request), None, "core")
    record.provider = providers.Callable(current_request)
    record.request_scoped = True
    return record


class ContextStore:
    """Contexts by context id.

    Ids that support weak references are held weakly (the context goes when the id object
    goes); others (strings, ints, tuples) live in a bounded LRU map. ``release`` drops an id
    at once.
    """

    def __init__(self, max_strong: int = 10_000) -> None:
        self._weak: weakref.WeakKeyDictionary[Any, contextvars.Context] = (
            weakref.WeakKeyDictionary()
        )
        self._strong: OrderedDict[Hashable, contextvars.Context] = OrderedDict()
        self._max_strong = max_strong

    def get(self, context_id: Hashable) -> contextvars.Context:
        """The context of ``context_id``, created empty on first use."""
        try:
            context = self._weak.get(context_id)
        except TypeError:  # not weakly referenceable
            context = self._strong.get(context_id)
            if context is None:
                context = self._strong[context_id] = contextvars.Context()
                if len(self._strong) > self._max_strong:
                    self._strong.popitem(last=False)
            else:
                self._strong.move_to_end(context_id)
            return context
        if context is None:
            context = self._weak[context_id] = contextvars.Context()
        return context

    def register_request(self, request: Any, context_id: Hashable) -> None:
        """Make ``REQUEST`` inject ``request`` for providers resolved with ``context_id``.

        With a ``ContextIdStrategy`` applied, durable providers resolve in the sub-tree the
        strategy picks, and ``REQUEST`` injects its payload (when it gives one) in both.
        """
        context = self.get(context_id)
        strategy = ContextIdFactory.strategy
        attached = strategy.attach(context_id, request) if strategy is not None else None
        if attached is None:
            context.run(_request.set, request)
            return
        if isinstance(attached, AttachedContext):
            resolve, payload = attached.resolve, attached.payload
        else:
            resolve, payload = attached, None
        if payload is None:
            payload = request
        context.run(_request.set, payload)
        durable_id = resolve(HostComponentInfo(token=None, is_tree_durable=True))
        if durable_id is not None and durable_id != context_id:
            durable = self.get(durable_id)
            durable.run(_request.set, payload)
            context.run(_durable.set, durable)

    def take(self, context_id: Hashable) -> contextvars.Context | None:
        """Forget ``context_id`` and return its context (None when it has none)."""
        try:
            return self._weak.pop(context_id, None)
        except TypeError:
            return self._strong.pop(context_id, None)

    def release(self, context_id: Hashable) -> None:
        """Forget the context (and request-scoped instances) of ``context_id``."""
        try:
            self._weak.pop(context_id, None)
        except TypeError:
            self._strong.pop(context_id, None)
