"""Identity of a module: the class for static modules, class + frozen metadata for dynamic ones.

Nest hashes dynamic metadata so that two ``for_root(...)`` calls with equal arguments are one
module; ``module_key`` freezes the metadata into a hashable value with the same effect.
"""

from __future__ import annotations

import dataclasses
import types
from typing import Any

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import ForwardReference, Token


class _Identity:
    """Hashable by identity, for values that cannot be compared structurally."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __hash__(self) -> int:
        return id(self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Identity) and other.value is self.value


def module_key(metatype: type[Any], dynamic: DynamicModule | None) -> Token:
    """The key under which a module is registered once per application."""
    if dynamic is None:
        return metatype
    return (metatype, _freeze_dynamic(dynamic))


def _freeze_dynamic(dynamic: DynamicModule) -> Token:
    return (
        _freeze(dynamic.imports),
        _freeze(dynamic.providers),
        _freeze(dynamic.controllers),
        _freeze(dynamic.exports),
        dynamic.global_,
    )


def _freeze(value: Any) -> Token:
    if isinstance(value, type):
        return value
    if isinstance(value, Provider):
        fields = (value.use_value, value.use_class, value.use_factory, value.use_existing)
        return ("provider", _freeze(value.token), value.kind, _freeze(fields), value.scope)
    if isinstance(value, DynamicModule):
        return ("dynamic", value.module, _freeze_dynamic(value))
    if isinstance(value, ForwardReference):
        return ("forward", _freeze(value.forward_fn))
    if isinstance(value, types.FunctionType):
        return ("function", value.__code__, _freeze(value.__defaults__), _freeze_closure(value))
    if isinstance(value, list | tuple):
        return ("seq", tuple(_freeze(item) for item in value))
    if isinstance(value, dict):
        return ("dict", frozenset((_freeze(k), _freeze(v)) for k, v in value.items()))
    if isinstance(value, set | frozenset):
        return ("set", frozenset(_freeze(item) for item in value))
    if dataclasses.is_dataclass(value):
        items = tuple(_freeze(getattr(value, f.name)) for f in dataclasses.fields(value))
        return ("dataclass", type(value), items)
    dump = getattr(value, "model_dump", None)
    if callable(dump):  # pydantic models: compare by content
        return ("model", type(value), _freeze(dump()))
    try:
        hash(value)
    except TypeError:
        return ("id", _Identity(value))
    return ("value", type(value), value)


def _freeze_closure(fn: types.FunctionType) -> Token:
    cells = []
    for cell in fn.__closure__ or ():
        try:
            cells.append(_freeze(cell.cell_contents))
        except ValueError:  # an empty cell
            cells.append(("empty",))
    return tuple(cells)
