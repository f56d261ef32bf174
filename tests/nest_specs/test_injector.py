"""Ports of nestjs/nest ``integration/injector/e2e``: ``injector.spec.ts`` (self-injection,
dynamic module exported by object), ``multiple-providers.spec.ts`` and
``introspection.spec.ts``."""

from __future__ import annotations

from typing import Annotated, Any

import pytest

from nestpy import (
    DynamicModule,
    Inject,
    Injectable,
    Module,
    ModuleRef,
    Provider,
    Scope,
    UnknownDependenciesError,
    forward_ref,
)
from nestpy.testing import Test

# -- injector.spec.ts -------------------------------------------------------------------------


@Injectable()
class SelfInjecting:
    def __init__(self, me: SelfInjecting) -> None:
        self.me = me


@Injectable()
class SelfInjectingForward:
    def __init__(self, me: Annotated[Any, Inject(forward_ref(lambda: SelfInjectingForward))]):
        self.me = me


class SelfInjectingToken:
    def __init__(self, me: Annotated[Any, Inject("SELF")]) -> None:
        self.me = me


@Module(providers=[SelfInjecting])
class SelfInjectionProviderModule: ...


@Module(providers=[SelfInjectingForward])
class SelfInjectionForwardProviderModule: ...


@Module(providers=[Provider("SELF", use_class=SelfInjectingToken)])
class SelfInjectionProviderCustomTokenModule: ...


@pytest.mark.parametrize(
    "module",
    [
        pytest.param(SelfInjectionProviderModule, id="same class reference"),
        pytest.param(SelfInjectionForwardProviderModule, id="forwardRef to the same class"),
        pytest.param(SelfInjectionProviderCustomTokenModule, id="custom provider"),
    ],
)
async def test_self_injection_fails_with_unknown_dependencies(module: type) -> None:
    """injector.spec.ts: it('should fail with "UnknownDependenciesException" due to
    self-injection via same class reference' / 'via forwardRef to the same class reference' /
    'via custom provider')"""
    with pytest.raises(UnknownDependenciesError) as info:
        await Test.create_testing_module(imports=[module]).compile()
    assert "Nest can't resolve dependencies of the" in str(info.value)
    assert "(?)" in str(info.value)


DYNAMIC_TOKEN = "DYNAMIC_TOKEN"
DYNAMIC_VALUE = {"answer": 42}


@Module()
class NestDynamicModule:
    @classmethod
    def by_object(cls) -> DynamicModule:
        provider = Provider(DYNAMIC_TOKEN, use_value=DYNAMIC_VALUE)
        return DynamicModule(module=cls, providers=[provider], exports=[provider])

    @classmethod
    def by_name(cls) -> DynamicModule:
        provider = Provider(DYNAMIC_TOKEN, use_value=DYNAMIC_VALUE)
        return DynamicModule(module=cls, providers=[provider], exports=[DYNAMIC_TOKEN])


@pytest.mark.parametrize("how", ["by_object", "by_name"])
async def test_dynamic_module_returns_provider_via_token(how: str) -> None:
    """injector.spec.ts: it('should return provider via token (exported by object)') and
    it('should return provider via token (exported by token)')"""

    @Injectable()
    class Consumer:
        def __init__(self, value: Annotated[Any, Inject(DYNAMIC_TOKEN)]) -> None:
            self.value = value

    @Module(imports=[getattr(NestDynamicModule, how)()], providers=[Consumer])
    class AppModule: ...

    app = await Test.create_testing_module(imports=[AppModule]).compile()
    assert app.get(DYNAMIC_TOKEN) == DYNAMIC_VALUE
    assert app.get(Consumer).value == DYNAMIC_VALUE


# -- multiple-providers.spec.ts ---------------------------------------------------------------


def _letter_module(letter: str) -> type:
    @Module(
        providers=[
            Provider("MULTI_PROVIDER", use_value=letter),
            Provider("REQ_SCOPED_MULTI_PROVIDER", use_factory=lambda: letter, scope=Scope.REQUEST),
        ]
    )
    class LetterModule: ...

    LetterModule.__name__ = f"{letter}Module"
    return LetterModule


@Module(imports=[_letter_module("A"), _letter_module("B"), _letter_module("C")])
class MultipleProvidersModule: ...


async def test_get_each_returns_an_array_of_providers() -> None:
    """multiple-providers.spec.ts get(): it('should return an array of providers')"""
    module = await Test.create_testing_module(imports=[MultipleProvidersModule]).compile()
    assert module.get("MULTI_PROVIDER", each=True) == ["A", "B", "C"]


async def test_resolve_each_returns_an_array_of_request_scoped_providers() -> None:
    """multiple-providers.spec.ts resolve(): it('should return an array of request-scoped
    providers')"""
    module = await Test.create_testing_module(imports=[MultipleProvidersModule]).compile()
    assert await module.resolve("REQ_SCOPED_MULTI_PROVIDER", None, each=True) == ["A", "B", "C"]


async def test_resolve_each_returns_an_array_of_default_scoped_providers() -> None:
    """multiple-providers.spec.ts resolve(): it('should return an array of default-scoped
    providers')"""
    module = await Test.create_testing_module(imports=[MultipleProvidersModule]).compile()
    assert await module.resolve("MULTI_PROVIDER", None, each=True) == ["A", "B", "C"]


# -- introspection.spec.ts --------------------------------------------------------------------

STATIC_FACTORY = "STATIC_FACTORY"


@Injectable(scope=Scope.TRANSIENT)
class TransientService: ...


@Injectable(scope=Scope.REQUEST)
class ScopedService: ...


@Module(
    providers=[
        TransientService,
        ScopedService,
        Provider(STATIC_FACTORY, use_factory=lambda: True),
    ]
)
class ScopedModule: ...


@pytest.fixture
async def module_ref() -> ModuleRef:
    module = await Test.create_testing_module(imports=[ScopedModule]).compile()
    ref: ModuleRef = module.get(ModuleRef)
    return ref


async def test_introspects_a_transient_provider(module_ref: ModuleRef) -> None:
    """introspection.spec.ts: it('should properly introspect a transient provider')"""
    assert module_ref.introspect(TransientService).scope is Scope.TRANSIENT


async def test_introspects_a_singleton_provider(module_ref: ModuleRef) -> None:
    """introspection.spec.ts: it('should properly introspect a singleton provider')"""
    assert module_ref.introspect(STATIC_FACTORY).scope is Scope.DEFAULT


async def test_introspects_a_request_scoped_provider(module_ref: ModuleRef) -> None:
    """introspection.spec.ts: it('should properly introspect a request-scoped provider')"""
    assert module_ref.introspect(ScopedService).scope is Scope.REQUEST
