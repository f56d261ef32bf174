from typing import Annotated

import pytest

from nestpy import CircularDependencyError, Inject, Module, NestFactory, Provider, forward_ref

from .cycles import CatsService, DogsService, FarmModule, PetsApp


async def test_forward_ref_resolves_module_and_provider_cycles() -> None:
    app = await NestFactory.create_application_context(PetsApp)
    cats = app.get(CatsService)
    dogs = app.get(DogsService)
    assert cats.dogs is dogs
    assert dogs.cats is cats


async def test_a_provider_cycle_without_forward_ref_fails_naming_the_chain() -> None:
    with pytest.raises(CircularDependencyError) as caught:
        await NestFactory.create_application_context(FarmModule)
    assert str(caught.value) == (
        "A circular dependency has been detected inside FarmModule (Chicken -> Egg -> Chicken). "
        "Please, make sure that each side of a bidirectional relationships are decorated with "
        '"forward_ref()". Note that circular relationships between custom providers (e.g., '
        "factories) are not supported since functions cannot be called more than once."
    )


async def test_a_cycle_between_factories_fails_even_with_forward_ref() -> None:
    def make_a(b: object) -> object:
        return ("a", b)

    def make_b(a: object) -> object:
        return ("b", a)

    @Module(
        providers=[
            Provider("A", use_factory=make_a, inject=[forward_ref(lambda: "B")]),
            Provider("B", use_factory=make_b, inject=[forward_ref(lambda: "A")]),
        ]
    )
    class M:
        pass

    with pytest.raises(CircularDependencyError, match=r"inside M \(A -> B -> A\)"):
        await NestFactory.create_application_context(M)


async def test_forward_ref_in_inject_without_a_cycle_is_a_lazy_token() -> None:
    class User:
        def __init__(self, later: Annotated[object, Inject(forward_ref(lambda: Later))]) -> None:
            self.later = later

    class Later:
        pass

    @Module(providers=[User, Later])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).later is app.get(Later)


async def test_a_three_provider_cycle_builds_each_instance_once() -> None:
    from .cycles import Keeper, Ledger, LedgerModule, Owner, inits

    inits.clear()
    app = await NestFactory.create_application_context(LedgerModule)
    owner, keeper, ledger = app.get(Owner), app.get(Keeper), app.get(Ledger)
    assert owner.keeper is keeper
    assert keeper.ledger is ledger
    assert ledger.first is owner
    assert ledger.owner is owner
    assert sorted(inits) == ["Keeper", "Ledger", "Owner"]
    assert app.select(LedgerModule).container.Owner() is owner
