"""JSON Schemas of a handler's payload and reply, from its type hints (pydantic)."""

from __future__ import annotations

import collections.abc
import inspect
import re
import typing
from collections.abc import Callable
from typing import Any, get_args, get_origin

from pydantic import TypeAdapter

from nestpy.microservices.handler_params import build_argument_plan

REF_TEMPLATE = "#/components/schemas/{model}"

_STREAMS = {
    collections.abc.AsyncIterator,
    collections.abc.AsyncIterable,
    collections.abc.AsyncGenerator,
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    collections.abc.Awaitable,
    collections.abc.Coroutine,
}


class SchemaBuilder:
    """Builds schemas, collecting pydantic's ``$defs`` into one shared ``components.schemas``."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def of(self, annotation: Any) -> dict[str, Any]:
        """The JSON Schema of ``annotation`` (``{}``, any value, when it has none)."""
        if annotation in (inspect.Parameter.empty, Any, object):
            return {}
        try:
            schema = TypeAdapter(annotation).json_schema(
                ref_template=REF_TEMPLATE, mode="validation"
            )
        except Exception:  # a type pydantic cannot describe: say nothing rather than fail
            return {}
        self.components.update(schema.pop("$defs", {}))
        return schema

    def payload(self, func: Callable[..., Any]) -> dict[str, Any]:
        """The ``data`` a handler accepts (``@Payload("key")`` parameters: an object)."""
        try:
            plan = build_argument_plan(func, skip_self=True)
        except Exception:
            return {}
        params = [p for p in plan if hasattr(p, "adapter")]
        whole = [p for p in params if p.key is None]
        if whole:
            adapter = whole[0].adapter
            return self._adapter(adapter) if adapter is not None else {}
        if not params:
            return {}
        properties = {p.key: self._adapter(p.adapter) if p.adapter else {} for p in params}
        return {"type": "object", "properties": properties}

    def _adapter(self, adapter: TypeAdapter[Any]) -> dict[str, Any]:
        try:
            schema = adapter.json_schema(ref_template=REF_TEMPLATE)
        except Exception:
            return {}
        self.components.update(schema.pop("$defs", {}))
        return schema

    def reply(self, func: Callable[..., Any]) -> dict[str, Any]:
        """The value a handler replies with: its return hint, unwrapped from streams/awaitables."""
        try:
            hints = typing.get_type_hints(func)
        except Exception:
            return {}
        annotation = hints.get("return", inspect.Parameter.empty)
        while get_origin(annotation) in _STREAMS and get_args(annotation):
            annotation = get_args(annotation)[
                -1 if get_origin(annotation) is collections.abc.Coroutine else 0
            ]
        if annotation is type(None):
            return {"type": "null"}
        return self.of(annotation)


def identifier(text: str) -> str:
    """``text`` as an AsyncAPI component key (letters, digits, ``_``, ``-``)."""
    return re.sub(r"[^A-Za-z0-9_\-]+", "_", text).strip("_") or "root"
