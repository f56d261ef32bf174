"""How a handler's parameters are filled from a message: payload (validated), context, custom."""

from __future__ import annotations

import inspect
import json
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args, get_origin

from pydantic import TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.decorators import Ctx, Path, Payload, pattern_metadata
from nestpy.microservices.exceptions import RpcException
from nestpy.microservices.param_decorators import ParamMarker
from nestpy.microservices.pipes import VALIDATION_FAILED, ArgumentMetadata

__all__ = ["VALIDATION_FAILED", "build_argument_plan", "fill_arguments", "inline_call"]


_PAYLOAD = ArgumentMetadata("payload")


@dataclass(frozen=True, slots=True)
class _PayloadParam:
    key: str | None
    adapter: TypeAdapter[Any] | None
    pipes: tuple[Any, ...] = ()
    metadata: ArgumentMetadata = _PAYLOAD
    check: Callable[[Any], Any] | None = field(init=False, repr=False, compare=False)
    """``adapter.validate_python`` (or the validator it calls); None: no validation."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "check", None if self.adapter is None else _checker(self.adapter))

    def raw(self, data: Any) -> Any:
        if self.key is not None:
            return data.get(self.key) if isinstance(data, dict) else None
        return data

    def validate(self, value: Any) -> Any:
        check = self.check
        if check is None:
            return value
        try:
            return check(value)
        except ValidationError as exc:
            raise _validation_failed(exc) from exc

    def value(self, data: Any, context: Any = None) -> Any:
        return self.validate(self.raw(data))


def _checker(adapter: TypeAdapter[Any]) -> Callable[[Any], Any]:
    """``adapter.validate_python``; its built validator's own method when it has one (that is
    all ``validate_python`` calls with no options, at half the cost)."""
    validator = getattr(adapter, "validator", None)
    if type(validator) is SchemaValidator:  # not a deferred build, nor a plugin's wrapper
        return validator.validate_python
    return adapter.validate_python


def _validation_failed(exc: ValidationError) -> RpcException:
    details = json.loads(exc.json(include_url=False, include_context=False))
    return RpcException({"status": "error", "message": VALIDATION_FAILED, "errors": details})


@dataclass(frozen=True, slots=True)
class _CustomParam:
    marker: ParamMarker
    metadata: ArgumentMetadata

    @property
    def pipes(self) -> tuple[Any, ...]:
        return self.marker.pipes


@dataclass(frozen=True, slots=True)
class _PathParam:
    """A ``{name}`` segment of the received topic (``@MessagePattern("a/{name}/b")``)."""

    name: str
    index: int
    adapter: TypeAdapter[Any] | None

    def value(self, data: Any, context: BaseRpcContext) -> Any:
        return self.of(context)

    def of(self, context: BaseRpcContext) -> Any:
        get_topic = getattr(context, "get_topic", None)
        topic = get_topic() if get_topic is not None else context.get_arg_by_index(0)
        segments = str(topic).split("/")
        value = segments[self.index] if self.index < len(segments) else None
        if self.adapter is None:
            return value
        try:
            return self.adapter.validate_python(value)
        except ValidationError as exc:
            details = json.loads(exc.json(include_url=False, include_context=False))
            message = f"Topic parameter {self.name!r} is invalid in {topic!r}"
            raise RpcException({"status": "error", "message": message, "errors": details}) from exc


_CONTEXT = object()


def _path_params(func: Callable[..., Any]) -> dict[str, int]:
    found: dict[str, int] = {}
    for meta in pattern_metadata(func):
        found.update(meta.extras.get("path_params", {}))
    return found


def _is_context_type(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseRpcContext)


def _adapter_for(annotation: Any) -> TypeAdapter[Any] | None:
    if annotation in (inspect.Parameter.empty, Any, object):
        return None
    return TypeAdapter(annotation)


def _split_annotated(annotation: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(annotation) is Annotated:
        base, *markers = get_args(annotation)
        return base, tuple(markers)
    return annotation, ()


def _metatype(annotation: Any) -> Any:
    return None if annotation is inspect.Parameter.empty else annotation


def build_argument_plan(func: Callable[..., Any], *, skip_self: bool = False) -> list[Any]:
    """One entry per parameter of a handler: payload, context or custom parameter.

    ``skip_self`` drops the first parameter of a plain function (an unbound method).

    ``Annotated[..., Payload()]`` and ``Annotated[..., Ctx()]`` say it explicitly, as does a
    custom decorator made by ``create_param_decorator``; otherwise a parameter annotated with a
    context class gets the context, and the others follow Nest's default order
    ``(data, context)``. A payload annotated with a type (a pydantic model, ``list[int]``, ...)
    is validated; failures go back to the caller as an ``RpcException``.
    """
    hints = typing.get_type_hints(func, include_extras=True)
    plan: list[Any] = []
    positional_defaults: list[Any] = [_PayloadParam(None, None), _CONTEXT]
    params = list(inspect.signature(func).parameters.values())[1 if skip_self else 0 :]
    path_params = _path_params(func)
    for index, param in enumerate(params):
        annotation, markers = _split_annotated(hints.get(param.name, inspect.Parameter.empty))
        payload = next((m for m in markers if isinstance(m, Payload)), None)
        custom = next((m for m in markers if isinstance(m, ParamMarker)), None)
        path = next((m for m in markers if isinstance(m, Path)), None)
        if path is not None or (payload is None and custom is None and param.name in path_params):
            name = (path.name if path is not None else None) or param.name
            if name not in path_params:
                where = getattr(func, "__qualname__", repr(func))
                msg = (
                    f"{where}: parameter {param.name!r} asks for topic parameter {{{name}}}, "
                    f"which its pattern does not have (it has: {sorted(path_params) or 'none'})"
                )
                raise ValueError(msg)
            plan.append(_PathParam(name, path_params[name], _adapter_for(annotation)))
        elif custom is not None:
            metadata = ArgumentMetadata("custom", _metatype(annotation), custom.data)
            plan.append(_CustomParam(custom, metadata))
        elif any(isinstance(m, Ctx) for m in markers) or (
            payload is None and _is_context_type(annotation)
        ):
            plan.append(_CONTEXT)
        elif payload is not None or index == 0 or annotation is not inspect.Parameter.empty:
            key = payload.key if payload else None
            metadata = ArgumentMetadata("payload", _metatype(annotation), key)
            pipes = payload.pipes if payload else ()
            plan.append(_PayloadParam(key, _adapter_for(annotation), pipes, metadata))
        else:
            plan.append(positional_defaults[min(index, 1)])
    return plan


def wants_raw_bytes(plan: list[Any]) -> bool:
    """True when the whole payload goes to a parameter annotated ``bytes``."""
    return any(
        isinstance(p, _PayloadParam) and p.key is None and p.metadata.metatype is bytes
        for p in plan
    )


def needs_pipeline(plan: list[Any]) -> bool:
    """True when a parameter has pipes or is a custom one (it needs the execution context)."""
    return any(isinstance(p, _CustomParam) or getattr(p, "pipes", ()) for p in plan)


def fill_arguments(plan: list[Any], data: Any, context: BaseRpcContext) -> list[Any]:
    """The arguments for one call, following ``plan`` (no pipes, no custom parameters)."""
    return [context if p is _CONTEXT else p.value(data, context) for p in plan]


def inline_call(
    method: Callable[..., Any], plan: list[Any]
) -> Callable[[Any, BaseRpcContext], Any]:
    """``method(*fill_arguments(plan, data, context))`` as a function of (data, context); the
    usual plans (the whole payload, then maybe the context) in fewer steps."""
    first = plan[0] if plan else None
    rest = plan[1:]
    if not (
        isinstance(first, _PayloadParam)
        and first.key is None
        and (not rest or (len(rest) == 1 and rest[0] is _CONTEXT))
    ):
        return lambda data, context: method(*fill_arguments(plan, data, context))
    check = first.check
    if check is None:
        return method if rest else lambda data, context: method(data)

    with_context = bool(rest)

    def call(data: Any, context: BaseRpcContext) -> Any:
        try:
            value = check(data)
        except ValidationError as exc:
            raise _validation_failed(exc) from exc
        return method(value, context) if with_context else method(value)

    return call
