"""DI and module errors, all raised at bootstrap (or by ``get``/``resolve`` on a wrong token).

NestpyError
├── UnknownDependenciesError (LookupError)   a constructor/factory argument nothing provides
│   └── UnknownPropertyError                 an injected class attribute nothing provides
├── InvalidTypeHintError (TypeError)         a parameter whose token cannot be read
├── UnknownExportError (ValueError)          exporting what the module neither provides nor imports
├── InvalidModuleError (TypeError)           bad ``imports`` entry
│   ├── UndefinedModuleError                 ``None`` in imports
│   ├── UndefinedForwardRefError             ``forward_ref`` that returned ``None``
│   └── InjectableInImportsError             an @Injectable/@Controller class in imports
├── InvalidProviderError (TypeError)         a malformed ``Provider(...)`` or providers entry
├── CircularDependencyError (RuntimeError)   provider cycle without ``forward_ref``
├── UnknownElementError (LookupError)        ``get()`` of an unknown token
├── InvalidClassScopeError (TypeError)       ``get()`` of a scoped provider
├── InvalidClassError (TypeError)            ``ModuleRef.create()`` of a non-class
└── AsyncTransientError (TypeError)          an ``async def`` factory declared transient
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nestpy.common.tokens import token_name as _name
from nestpy.core.errors import messages
from nestpy.errors import NestpyError


def dependency_label(token: Any) -> str:
    """How a dependency is named in the sentence: class name, or a string token in quotes."""
    if token is None:
        return "dependency"
    if isinstance(token, str):
        return f'"{token}"'
    return _name(token)


class UnknownDependenciesError(NestpyError, LookupError):
    """A constructor or factory argument is not available in its module's context."""

    def __init__(
        self, *, target: Any, dependencies: Sequence[Any], index: int, module: str | None
    ) -> None:
        self.target = target
        self.dependencies = tuple(dependencies)
        self.index = index
        self.module = module
        self.token = self.dependencies[index]
        names = ["+" if token is None else _name(token) for token in self.dependencies]
        super().__init__(
            messages.unknown_dependencies_message(
                _name(target), names, index, dependency_label(self.token), module
            )
        )


class UnknownPropertyError(UnknownDependenciesError):
    """A property-injection attribute (``x: Annotated[T, Inject()]``) nothing provides."""

    def __init__(self, *, target: Any, key: str, module: str | None) -> None:
        self.target = target
        self.dependencies = ()
        self.index = -1
        self.module = module
        self.token = key
        message = messages.unknown_property_message(_name(target), key, module)
        Exception.__init__(self, message)  # not the parent's: it formats constructor arguments


class InvalidTypeHintError(NestpyError, TypeError):
    """A constructor parameter has no usable type hint and no ``Inject(token)``."""

    def __init__(self, *, target: Any, parameter: str, index: int, reason: str) -> None:
        self.target = target
        self.parameter = parameter
        self.index = index
        super().__init__(
            messages.invalid_type_hint_message(_name(target), parameter, index, reason)
        )


class UnknownExportError(NestpyError, ValueError):
    """A module exports a token it neither provides nor imports (as a module)."""

    def __init__(self, *, token: Any, module: str) -> None:
        self.token = token
        self.module = module
        super().__init__(messages.unknown_export_message(_name(token), module))


class InvalidModuleError(NestpyError, TypeError):
    """An ``imports`` entry is not a module."""

    def __init__(self, message: str, *, parent: str | None, index: int | None) -> None:
        self.parent = parent
        self.index = index
        super().__init__(message)

    @classmethod
    def unexpected(
        cls, *, parent: str, index: int, value: Any, scope: Sequence[str]
    ) -> InvalidModuleError:
        """Something that is neither a module class nor a ``DynamicModule``."""
        text = messages.invalid_module_message(parent, index, repr(value), scope)
        return cls(text, parent=parent, index=index)


class UndefinedModuleError(InvalidModuleError):
    """``None`` in an ``imports`` list."""

    def __init__(self, *, parent: str, index: int, scope: Sequence[str]) -> None:
        text = messages.undefined_module_message(parent, index, scope)
        super().__init__(text, parent=parent, index=index)


class UndefinedForwardRefError(InvalidModuleError):
    """A ``forward_ref`` in ``imports`` returned ``None``."""

    def __init__(self, *, scope: Sequence[str]) -> None:
        super().__init__(messages.undefined_forward_ref_message(scope), parent=None, index=None)


class InjectableInImportsError(InvalidModuleError):
    """An ``@Injectable()`` or ``@Controller()`` class in ``imports``."""

    def __init__(self, *, value: Any, scope: Sequence[str]) -> None:
        self.value = value
        text = messages.injectable_in_imports_message(_name(value), scope)
        super().__init__(text, parent=scope[-1] if scope else None, index=None)


class InvalidProviderError(NestpyError, TypeError):
    """A malformed ``Provider(...)`` or an invalid ``providers``/``controllers`` entry."""

    def __init__(
        self,
        *,
        token: Any = None,
        given: Sequence[str] = (),
        bad_class: Any = None,
        entry: tuple[str, str, int, Any] | None = None,
        unhashable: bool = False,
    ) -> None:
        self.token = token
        if unhashable:
            text = messages.unhashable_token_message(repr(token))
        elif entry is not None:
            module, array, index, value = entry
            text = messages.invalid_provider_entry_message(module, array, index, repr(value))
        else:
            bad = None if bad_class is None else repr(bad_class)
            text = messages.invalid_provider_message(repr(token), given, bad)
        super().__init__(text)


class CircularDependencyError(NestpyError, RuntimeError):
    """Providers depend on each other without ``forward_ref`` on the closing edge."""

    def __init__(self, *, module: str, chain: Sequence[Any]) -> None:
        self.module = module
        self.chain = tuple(chain)
        names = [_name(token) for token in self.chain]
        super().__init__(messages.circular_dependency_message(module, names))


class UnknownElementError(NestpyError, LookupError):
    """``get()``/``resolve()`` of a token that nothing provides in the searched context."""

    def __init__(self, *, token: Any) -> None:
        self.token = token
        super().__init__(messages.unknown_element_message(_name(token)))


class InvalidClassScopeError(NestpyError, TypeError):
    """``get()`` of a request- or transient-scoped provider; use ``resolve()``."""

    def __init__(self, *, token: Any) -> None:
        self.token = token
        super().__init__(messages.invalid_class_scope_message(_name(token)))


class InvalidClassError(NestpyError, TypeError):
    """``ModuleRef.create()`` was given something that is not a class."""

    def __init__(self, *, value: Any) -> None:
        self.value = value
        super().__init__(messages.invalid_class_message(repr(value)))


class AsyncTransientError(NestpyError, TypeError):
    """An ``async def`` factory declared ``Scope.TRANSIENT``."""

    def __init__(self, *, token: Any) -> None:
        self.token = token
        super().__init__(messages.async_transient_message(_name(token)))
