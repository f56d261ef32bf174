"""What a class constructor or a factory needs: tokens read from type hints and ``Inject``.

Type hints are read when the application bootstraps, so string annotations and
``from __future__ import annotations`` work, and names defined after the decorated class are
found. A parameter with a default is optional: when nothing provides it, the default is used.
"""

from __future__ import annotations

import builtins
import contextlib
import inspect
import sys
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, NamedTuple, Union

from nestpy.common.decorators import Inject
from nestpy.common.providers import UNSET, Provider
from nestpy.common.tokens import ForwardReference, Token
from nestpy.core.errors.exceptions import InvalidTypeHintError

_EMPTY = inspect.Parameter.empty
_SKIPPED_KINDS = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
_POSITIONAL_ONLY = inspect.Parameter.POSITIONAL_ONLY
_POSITIONAL_OR_KEYWORD = inspect.Parameter.POSITIONAL_OR_KEYWORD
_KEYWORD_ONLY = inspect.Parameter.KEYWORD_ONLY


_DEPS_ATTR = "__nestpy_dependencies__"


class _Param(NamedTuple):
    name: str
    kind: Any
    default: Any
    annotation: Any


def _parameters(fn: Any) -> list[_Param]:
    """The parameters of ``fn``; read from the code object for plain functions (fast)."""
    if type(fn) is not types.FunctionType or hasattr(fn, "__wrapped__"):
        parameters = inspect.signature(fn).parameters.values()
        return [_Param(p.name, p.kind, p.default, p.annotation) for p in parameters]
    code = fn.__code__
    positional, keyword_only = code.co_argcount, code.co_kwonlyargcount
    defaults = fn.__defaults__ or ()
    keyword_defaults = fn.__kwdefaults__ or {}
    annotations = fn.__annotations__
    first_default = positional - len(defaults)
    result = []
    kind: Any
    for i, name in enumerate(code.co_varnames[: positional + keyword_only]):
        if i < positional:
            kind = _POSITIONAL_ONLY if i < code.co_posonlyargcount else _POSITIONAL_OR_KEYWORD
            default = defaults[i - first_default] if i >= first_default else _EMPTY
        else:
            kind, default = _KEYWORD_ONLY, keyword_defaults.get(name, _EMPTY)
        result.append(_Param(name, kind, default, annotations.get(name, _EMPTY)))
    return result


@dataclass(frozen=True, slots=True)
class Dependency:
    """One argument to inject: its token, how to pass it and what to do when it is missing."""

    token: Token
    index: int
    keyword: str | None  # None: passed positionally
    optional: bool = False
    default: Any = UNSET
    forward: bool = False
    positional: bool = False
    """May be passed positionally (a positional-only or positional-or-keyword parameter)."""
    attribute: str | None = None
    """Set for property injection: the attribute assigned after construction."""


class DependencyReader:
    """Reads dependencies; ``fallback_names`` resolves names of classes the app knows about."""

    def __init__(self, fallback_names: Mapping[str, Any] | Callable[[], Mapping[str, Any]]) -> None:
        self._names = fallback_names
        self._fallback_cache: dict[str, Any] | None = None
        self._used_fallback = False

    @property
    def _fallback(self) -> dict[str, Any]:
        # Computed only when a hint needs it: most applications never do.
        if self._fallback_cache is None:
            names = self._names
            self._fallback_cache = dict(names() if callable(names) else names)
        return self._fallback_cache

    def of(self, spec: Provider) -> list[Dependency]:
        """Dependencies of a provider spec (value providers have none; aliases have one)."""
        if spec.use_class is not None:
            return self.of_class(spec.use_class)
        if spec.kind == "factory":
            return [_inject_item(item, index) for index, item in enumerate(spec.inject)]
        if spec.kind == "existing":
            return [_inject_item(spec.use_existing, 0)]
        return []

    def of_class(self, cls: type[Any]) -> list[Dependency]:
        """Dependencies of ``cls.__init__``, from its type hints.

        Read once per class and kept on the class (as TypeScript emits a class's parameter
        types once), unless a hint needed a name only this application knows.
        """
        cached = cls.__dict__.get(_DEPS_ATTR)
        if cached is not None and cached[0] is cls.__init__:
            return list(cached[1])
        self._used_fallback = False
        deps = self._read_class(cls)
        if not self._used_fallback:
            with contextlib.suppress(AttributeError, TypeError):  # e.g. builtins
                setattr(cls, _DEPS_ATTR, (cls.__init__, tuple(deps)))
        return deps

    def _read_class(self, cls: type[Any]) -> list[Dependency]:
        init = cls.__init__
        if init is object.__init__:
            return _property_dependencies(cls, 0)
        try:
            parameters = _parameters(init)[1:]
        except (TypeError, ValueError):  # builtins without a signature take nothing we inject
            return []
        module = sys.modules.get(cls.__module__)
        globalns: dict[str, Any] = vars(module) if module is not None else {}
        deps = []
        for index, param in enumerate(parameters):
            if param.kind in _SKIPPED_KINDS:
                continue
            hint, metadata = self._hint(cls, param, index, globalns)
            deps.append(_param_dependency(cls, param, index, hint, metadata))
        return deps + _property_dependencies(cls, len(deps))

    def _hint(
        self, cls: type[Any], param: _Param, index: int, globalns: dict[str, Any]
    ) -> tuple[Any, tuple[Any, ...]]:
        annotation = param.annotation
        if (
            isinstance(annotation, str)
            and len(annotation) > 2
            and annotation[0] == annotation[-1]
            and annotation[0] in "'\""
            and annotation[1:-1].isidentifier()
        ):
            annotation = annotation[1:-1]  # "'Repo'": a quoted name under postponed annotations
        for _ in range(2):  # "'Repo'" under postponed annotations is a string of a string
            if isinstance(annotation, str):
                annotation = self._eval(cls, param, index, annotation, globalns)
        metadata: tuple[Any, ...] = ()
        if typing.get_origin(annotation) is Annotated:
            metadata = annotation.__metadata__
            annotation = annotation.__origin__
        if isinstance(annotation, typing.ForwardRef) and _token_of(metadata) is UNSET:
            annotation = self._eval(cls, param, index, annotation.__forward_arg__, globalns)
        return annotation, metadata

    def _eval(
        self,
        cls: type[Any],
        param: _Param,
        index: int,
        source: str,
        globalns: dict[str, Any],
    ) -> Any:
        found = globalns.get(source, _EMPTY) if source.isidentifier() else _EMPTY
        if found is not _EMPTY:
            return found  # the common case, a plain class name: no eval needed
        try:
            return eval(source, globalns)
        except NameError:
            pass  # maybe a class defined in a function: try the names the application knows
        except Exception as error:
            reason = f"has the type hint {source!r}, which fails to evaluate: {error!r}"
            raise InvalidTypeHintError(
                target=cls, parameter=param.name, index=index, reason=reason
            ) from None
        self._used_fallback = True
        local = {k: v for k, v in self._fallback.items() if k not in globalns}
        try:
            return eval(source, globalns, local)
        except NameError as error:
            try:
                lenient = eval(source, globalns, _Lenient(globalns, local))
            except Exception:
                lenient = None
            if typing.get_origin(lenient) is Annotated and (
                _token_of(lenient.__metadata__) is not UNSET
            ):
                return lenient  # the token is given by Inject(...): the type may stay unknown
            reason = f"has the type hint {source!r}, and {error}"
        except Exception as error:
            reason = f"has the type hint {source!r}, which fails to evaluate: {error!r}"
        raise InvalidTypeHintError(target=cls, parameter=param.name, index=index, reason=reason)


def _property_dependencies(cls: type[Any], first_index: int) -> list[Dependency]:
    """Class attributes annotated ``Annotated[T, Inject(...)]``: set after construction."""
    if not any(vars(klass).get("__annotations__") for klass in cls.__mro__[:-1]):
        return []
    hints = _class_hints(cls)
    deps: list[Dependency] = []
    for name, hint in hints.items():
        if typing.get_origin(hint) is not Annotated:
            continue
        marker = next((m for m in hint.__metadata__ if isinstance(m, Inject)), None)
        if marker is None:
            continue
        token: Any = hint.__origin__ if marker.token is UNSET else marker.token
        forward = isinstance(token, ForwardReference)
        token = _strip_none(token.forward_fn() if forward else token)
        deps.append(
            Dependency(
                token=token,
                index=first_index + len(deps),
                keyword=None,
                optional=marker.optional,
                forward=forward,
                attribute=name,
            )
        )
    return deps


def _class_hints(cls: type[Any]) -> dict[str, Any]:
    """Class attribute annotations, base classes first, string ones evaluated in their module.

    Not ``typing.get_type_hints``: it evaluates with the class namespace as globals, so a
    ``forward_ref(lambda: Other)`` in a hint would not see the module's names.
    """
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__[:-1]):
        annotations = vars(klass).get("__annotations__") or {}
        module = sys.modules.get(klass.__module__)
        globalns = vars(module) if module is not None else {}
        for name, hint in annotations.items():
            if isinstance(hint, str):
                if "Inject" not in hint:
                    continue  # only Annotated[..., Inject(...)] attributes are injected
                try:
                    hint = eval(hint, globalns, dict(vars(klass)))
                except Exception:  # unresolvable: not an injection point
                    continue
            hints[name] = hint
    return hints


def _token_of(metadata: tuple[Any, ...]) -> Any:
    marker = next((m for m in metadata if isinstance(m, Inject)), None)
    return UNSET if marker is None else marker.token


def _param_dependency(
    cls: type[Any], param: _Param, index: int, hint: Any, metadata: tuple[Any, ...]
) -> Dependency:
    has_default = param.default is not _EMPTY
    keyword = None if param.kind is inspect.Parameter.POSITIONAL_ONLY else param.name
    marker = next((m for m in metadata if isinstance(m, Inject)), None)
    token: Any = hint
    optional = has_default
    if marker is not None:
        optional = optional or marker.optional
        if marker.token is not UNSET:
            token = marker.token
    if token is _EMPTY:
        reason = "has no type hint"
        raise InvalidTypeHintError(target=cls, parameter=param.name, index=index, reason=reason)
    forward = isinstance(token, ForwardReference)
    token = _strip_none(token.forward_fn() if forward else token)
    return Dependency(
        token=token,
        index=index,
        keyword=keyword,
        optional=optional,
        default=param.default if has_default else UNSET,
        forward=forward,
        positional=param.kind is not _KEYWORD_ONLY,
    )


def _inject_item(item: Any, index: int) -> Dependency:
    optional = False
    if isinstance(item, Inject):
        optional, item = item.optional, item.token
    forward = isinstance(item, ForwardReference)
    token = item.forward_fn() if forward else item
    return Dependency(token=token, index=index, keyword=None, optional=optional, forward=forward)


def _strip_none(hint: Any) -> Any:
    """``Repo | None`` and ``Optional[Repo]`` inject ``Repo``."""
    if typing.get_origin(hint) in (Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


class _Unresolved:
    """Stands in for an undefined name inside a hint whose token comes from ``Inject``."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:  # lets typing accept it as a type
        return self

    def __or__(self, other: Any) -> _Unresolved:
        return self

    __ror__ = __or__

    def __getitem__(self, item: Any) -> _Unresolved:
        return self

    def __getattr__(self, name: str) -> _Unresolved:
        if name.startswith("__"):  # typing probes dunders; only dotted names stand in
            raise AttributeError(name)
        return self


class _Lenient(dict[str, Any]):
    def __init__(self, globalns: dict[str, Any], local: dict[str, Any]) -> None:
        super().__init__(local)
        self._globalns = globalns

    def __missing__(self, key: str) -> Any:
        if key in self._globalns:
            return self._globalns[key]
        if hasattr(builtins, key):
            return getattr(builtins, key)
        return _Unresolved(key)


def callable_name(fn: Callable[..., Any]) -> str:
    """The name of a factory, for messages."""
    return getattr(fn, "__qualname__", None) or repr(fn)
