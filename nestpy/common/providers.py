"""``Provider(token, use_value=|use_class=|use_factory=|use_existing=)``: custom providers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

from nestpy.common.enhancers import APP_ENHANCERS, AppEnhancerKey
from nestpy.common.metadata import get_injectable_metadata
from nestpy.common.scopes import Scope
from nestpy.common.tokens import Token
from nestpy.core.errors.exceptions import InvalidProviderError

ProviderKind = Literal["value", "class", "factory", "existing"]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Final[Any] = _Unset()


class Provider:
    """A custom provider, Nest's ``{provide, useValue | useClass | useFactory | useExisting}``.

    >>> Provider("DB_URL", use_value="sqlite://")
    >>> Provider(Base, use_class=Impl, scope=Scope.TRANSIENT)
    >>> Provider("CLOCK", use_factory=make_clock, inject=[Service])   # sync or async factory
    >>> Provider("ALIAS", use_existing=Service)                        # the same instance
    >>> Provider(Tenant, use_class=Tenant, scope=Scope.REQUEST, durable=True)  # per sub-tree

    ``inject`` items are tokens, ``forward_ref(...)`` or ``Inject(token, optional=True)``; their
    values are passed to the factory positionally.
    """

    __slots__ = (
        "durable",
        "inject",
        "kind",
        "scope",
        "token",
        "use_class",
        "use_existing",
        "use_factory",
        "use_value",
    )

    def __init__(
        self,
        token: Token,
        *,
        use_value: Any = UNSET,
        use_class: type[Any] | None = None,
        use_factory: Callable[..., Any] | None = None,
        inject: Sequence[Any] = (),
        use_existing: Any = UNSET,
        scope: Scope | None = None,
        durable: bool | None = None,
    ) -> None:
        given = [
            name
            for name, present in (
                ("use_value", use_value is not UNSET),
                ("use_class", use_class is not None),
                ("use_factory", use_factory is not None),
                ("use_existing", use_existing is not UNSET),
            )
            if present
        ]
        try:
            hash(token)
        except TypeError:
            raise InvalidProviderError(token=token, unhashable=True) from None
        if len(given) != 1:
            raise InvalidProviderError(token=token, given=given)
        if use_class is not None and not inspect.isclass(use_class):
            raise InvalidProviderError(token=token, given=given, bad_class=use_class)
        self.token: Token = token
        self.kind: ProviderKind = given[0].removeprefix("use_")  # type: ignore[assignment]
        self.use_class = use_class
        self.use_factory = use_factory
        self.inject: tuple[Any, ...] = tuple(inject)
        self.use_value: Any = use_value
        self.use_existing: Any = use_existing
        self.scope = scope
        self.durable = durable

    @classmethod
    def of_class(cls, klass: type[Any]) -> Provider:
        """``Provider(klass, use_class=klass)``, the class shorthand, without re-validation."""
        provider = object.__new__(cls)
        provider.token = klass
        provider.kind = "class"
        provider.use_class = klass
        provider.use_factory = None
        provider.inject = ()
        provider.use_value = UNSET
        provider.use_existing = UNSET
        provider.scope = None
        provider.durable = None
        return provider

    def declared_durable(self) -> bool | None:
        """``durable`` given here, else the ``@Injectable`` one of the class, else None."""
        if self.durable is not None:
            return self.durable
        meta = get_injectable_metadata(self.use_class) if self.use_class is not None else None
        return meta.durable if meta is not None else None

    def declared_scope(self) -> Scope:
        """The scope given here, else the ``@Injectable`` scope of the class, else DEFAULT."""
        if self.scope is not None:
            return self.scope
        if self.use_class is not None:
            meta = get_injectable_metadata(self.use_class)
            if meta is not None:
                return meta.scope
        return Scope.DEFAULT

    def __repr__(self) -> str:
        target = {
            "value": self.use_value,
            "class": self.use_class,
            "factory": self.use_factory,
            "existing": self.use_existing,
        }[self.kind]
        return f"Provider({self.token!r}, use_{self.kind}={target!r})"


def as_provider(item: Any) -> Provider | None:
    """Class shorthand ``Foo`` -> ``Provider(Foo, use_class=Foo)``; ``None`` when not a provider.

    An ``APP_GUARD``/``APP_INTERCEPTOR``/``APP_FILTER``/``APP_PIPE`` provider gets a token of
    its own (an ``AppEnhancerKey``), so that any number of them coexist, as in Nest.
    """
    if isinstance(item, Provider):
        if _is_app_enhancer(item.token):
            copy = object.__new__(Provider)
            for name in Provider.__slots__:
                setattr(copy, name, getattr(item, name))
            copy.token = AppEnhancerKey(item.token)  # type: ignore[arg-type]
            return copy
        return item
    if isinstance(item, type):
        return Provider.of_class(item)
    return None


def _is_app_enhancer(token: Any) -> bool:
    return token in APP_ENHANCERS  # tokens are hashable (checked by Provider)
