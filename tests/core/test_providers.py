import asyncio
from typing import Annotated

import pytest

from nestpy import Inject, Injectable, Module, NestFactory, Provider
from nestpy.core.errors.exceptions import InvalidProviderError


@Injectable()
class Repo:
    pass


@Injectable()
class Service:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo


async def test_class_shorthand_and_use_class() -> None:
    class Base:
        pass

    class Impl(Base):
        def __init__(self, repo: Repo) -> None:
            self.repo = repo

    @Module(providers=[Repo, Provider(Base, use_class=Impl)])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert isinstance(app.get(Base), Impl)
    assert app.get(Base).repo is app.get(Repo)


async def test_use_value_is_injected_as_is() -> None:
    config = {"url": "x"}

    class User:
        def __init__(self, config: Annotated[dict[str, str], Inject("CONFIG")]) -> None:
            self.config = config

    @Module(
        providers=[User, Provider("CONFIG", use_value=config), Provider("NONE", use_value=None)]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).config is config
    assert app.get("NONE") is None


async def test_use_factory_receives_inject_in_order() -> None:
    def make(service: Service, url: str) -> tuple[Service, str]:
        return (service, url)

    @Module(
        providers=[
            Repo,
            Service,
            Provider("URL", use_value="db://"),
            Provider("PAIR", use_factory=make, inject=[Service, "URL"]),
        ]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get("PAIR") == (app.get(Service), "db://")


async def test_async_factories_are_awaited_before_their_dependents_are_built() -> None:
    events: list[str] = []

    async def connect(url: str) -> str:
        events.append("connect start")
        await asyncio.sleep(0.01)
        events.append("connect done")
        return f"connection to {url}"

    class Dao:
        def __init__(self, connection: Annotated[str, Inject("CONNECTION")]) -> None:
            events.append("dao")
            self.connection = connection

    async def make_report(dao: Dao) -> str:
        return f"report via {dao.connection}"

    @Module(
        providers=[
            Dao,
            Provider("URL", use_value="db://"),
            Provider("CONNECTION", use_factory=connect, inject=["URL"]),
            Provider("REPORT", use_factory=make_report, inject=[Dao]),
        ]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get("CONNECTION") == "connection to db://"
    assert app.get(Dao).connection == "connection to db://"
    assert app.get("REPORT") == "report via connection to db://"
    assert events == ["connect start", "connect done", "dao"]


async def test_factories_are_called_once() -> None:
    calls = []

    def make() -> object:
        calls.append(1)
        return object()

    class A:
        def __init__(self, x: Annotated[object, Inject("X")]) -> None:
            self.x = x

    class B:
        def __init__(self, x: Annotated[object, Inject("X")]) -> None:
            self.x = x

    @Module(providers=[A, B, Provider("X", use_factory=make)])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(A).x is app.get(B).x is app.get("X")
    assert calls == [1]


async def test_use_existing_is_the_same_instance() -> None:
    # Nest conformance case 26: {provide: 'X', useExisting: Foo} is identical to Foo.
    @Module(providers=[Repo, Provider("X", use_existing=Repo), Provider("Y", use_existing="X")])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get("X") is app.get(Repo)
    assert app.get("Y") is app.get(Repo)


async def test_the_last_registration_of_a_token_wins() -> None:
    @Module(providers=[Provider("X", use_value=1), Provider("X", use_value=2)])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get("X") == 2


async def test_factory_inject_items_may_be_optional() -> None:
    def make(present: str, missing: object) -> tuple[str, object]:
        return (present, missing)

    @Module(
        providers=[
            Provider("P", use_value="p"),
            Provider("F", use_factory=make, inject=["P", Inject("MISSING", optional=True)]),
        ]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get("F") == ("p", None)


def test_a_provider_needs_exactly_one_use_argument() -> None:
    with pytest.raises(InvalidProviderError) as caught:
        Provider("X")
    assert str(caught.value) == (
        "Provider('X') needs exactly one of use_value, use_class, use_factory or use_existing; "
        "got none."
    )
    with pytest.raises(InvalidProviderError) as caught:
        Provider("X", use_value=1, use_existing="Y")
    assert str(caught.value) == (
        "Provider('X') needs exactly one of use_value, use_class, use_factory or use_existing; "
        "got use_value, use_existing."
    )
    with pytest.raises(InvalidProviderError) as caught:
        Provider("X", use_class=42)  # type: ignore[arg-type]
    assert str(caught.value) == "Provider('X'): use_class must be a class, got 42."
    with pytest.raises(InvalidProviderError) as caught:
        Provider(["X"], use_value=1)  # type: ignore[arg-type]
    assert str(caught.value) == (
        "Provider(['X']): the token must be hashable (a class, a string or another hashable "
        "object)."
    )


async def test_an_invalid_providers_entry_fails_at_bootstrap() -> None:
    @Module(providers=[Repo, "not a provider"])
    class M:
        pass

    with pytest.raises(InvalidProviderError) as caught:
        await NestFactory.create_application_context(M)
    assert str(caught.value) == (
        "Nest cannot create the M instance.\n"
        "The item at index [1] of the M \"providers\" array is not valid: 'not a provider'. "
        "Expected a class or a Provider(...)."
    )


async def test_a_dependency_chain_longer_than_the_recursion_limit_bootstraps() -> None:
    length = 3000
    chain = [Provider("P0", use_value=0)] + [
        Provider(f"P{i}", use_factory=lambda previous: previous + 1, inject=[f"P{i - 1}"])
        for i in range(1, length)
    ]

    @Module(providers=chain)
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(f"P{length - 1}") == length - 1
