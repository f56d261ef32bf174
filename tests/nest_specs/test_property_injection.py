"""Port of nestjs/nest ``integration/injector/e2e/property-injection.spec.ts``.

Nest's ``@Inject() service: DependencyService`` on a field is a class attribute annotated
``Annotated[DependencyService, Inject()]``; it is set right after the constructor runs.
"""

from __future__ import annotations

from typing import Annotated

import pytest

from nestpy import Inject, Injectable, InjectionToken, Module, Provider, UnknownDependenciesError
from nestpy.testing import Test

SYMBOL_TOKEN = InjectionToken("symbol")


@Injectable()
class DependencyService: ...


@Injectable()
class PropertiesService:
    service: Annotated[DependencyService, Inject()]
    token: Annotated[bool, Inject("token")]
    symbol_token: Annotated[bool, Inject(SYMBOL_TOKEN)]


@Module(
    providers=[
        DependencyService,
        PropertiesService,
        Provider("token", use_value=True),
        Provider(SYMBOL_TOKEN, use_value=True),
    ]
)
class PropertiesModule: ...


async def test_should_resolve_property_based_dependencies() -> None:
    """it('should resolve property-based dependencies')"""
    app = await Test.create_testing_module(imports=[PropertiesModule]).compile()
    dependency = app.get(DependencyService)
    assert app.get(PropertiesService).service is dependency
    assert app.get(PropertiesService).token is True
    assert app.get(PropertiesService).symbol_token is True


async def test_should_throw_unknown_dependencies_when_dependency_is_not_met() -> None:
    """it('should throw UnknownDependenciesException when dependency is not met')"""
    builder = Test.create_testing_module(
        providers=[DependencyService, PropertiesService, Provider("token", use_value=True)]
    )
    with pytest.raises(UnknownDependenciesError) as info:
        await builder.compile()
    assert str(info.value).startswith(
        "Nest can't resolve dependencies of the PropertiesService. Please make sure that the "
        '"symbol_token" property is available in the current context.'
    )
