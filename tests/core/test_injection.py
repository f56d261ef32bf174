from typing import Annotated, Optional

import pytest

from nestpy import (
    Inject,
    Injectable,
    InjectionToken,
    Module,
    NestFactory,
    Provider,
    UnknownDependenciesError,
)
from nestpy.core.errors.exceptions import InvalidTypeHintError

from .future_hints import BrokenModule, Consumer, DefinedLater, FutureModule


@Injectable()
class Repo:
    pass


@Injectable()
class Service:
    def __init__(self, repo: Repo, url: Annotated[str, Inject("DB_URL")]) -> None:
        self.repo = repo
        self.url = url


async def test_constructor_parameters_are_injected_by_type_hint_and_by_inject_token() -> None:
    @Module(providers=[Repo, Service, Provider("DB_URL", use_value="sqlite://")])
    class AppModule:
        pass

    app = await NestFactory.create_application_context(AppModule)
    service = app.get(Service)
    assert service.repo is app.get(Repo)
    assert service.url == "sqlite://"
    assert app.get(Service) is service


async def test_postponed_annotations_and_names_defined_after_the_class_resolve_at_bootstrap() -> (
    None
):
    app = await NestFactory.create_application_context(FutureModule)
    consumer = app.get(Consumer)
    assert isinstance(consumer.later, DefinedLater)
    assert consumer.url == "sqlite://"
    assert consumer.cache is None  # optional: nothing provides "CACHE", the type is undefined


async def test_string_annotations_of_locally_defined_classes_resolve() -> None:
    class Engine:
        pass

    class Car:
        def __init__(
            self,
            engine: "Engine",
            wheels: 'Annotated["Wheel", Inject("WHEELS")]',  # noqa: F821
        ) -> None:
            self.engine = engine
            self.wheels = wheels

    @Module(providers=[Engine, Car, Provider("WHEELS", use_value=4)])
    class CarModule:
        pass

    app = await NestFactory.create_application_context(CarModule)
    assert isinstance(app.get(Car).engine, Engine)
    assert app.get(Car).wheels == 4


async def test_a_parameter_with_a_default_is_optional() -> None:
    class Cache:
        pass

    class WithDefaults:
        def __init__(
            self,
            cache: Cache | None = None,
            size: Annotated[int, Inject("SIZE")] = 10,
            name: Annotated[str, Inject("NAME")] = "x",
        ) -> None:
            self.cache, self.size, self.name = cache, size, name

    @Module(providers=[WithDefaults, Provider("NAME", use_value="given")])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    made = app.get(WithDefaults)
    assert (made.cache, made.size, made.name) == (None, 10, "given")


async def test_optional_and_union_with_none_inject_the_provider_when_present() -> None:
    class Cache:
        pass

    class User:
        def __init__(self, a: Optional[Cache], b: Cache | None = None) -> None:  # noqa: UP045
            self.a, self.b = a, b

    @Module(providers=[Cache, User])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).a is app.get(Cache) is app.get(User).b


async def test_inject_optional_without_default_injects_none() -> None:
    class User:
        def __init__(self, flag: Annotated[object, Inject("FLAG", optional=True)]) -> None:
            self.flag = flag

    @Module(providers=[User])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).flag is None


async def test_tokens_may_be_classes_strings_or_any_hashable_sentinel() -> None:
    CONFIG = InjectionToken("CONFIG")
    PLAIN = object()

    class User:
        def __init__(
            self,
            a: Annotated[dict[str, int], Inject(CONFIG)],
            b: Annotated[str, Inject(PLAIN)],
            c: Annotated[str, Inject(("tuple", 1))],
        ) -> None:
            self.values = (a, b, c)

    @Module(
        providers=[
            User,
            Provider(CONFIG, use_value={"a": 1}),
            Provider(PLAIN, use_value="plain"),
            Provider(("tuple", 1), use_value="tuple"),
        ]
    )
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).values == ({"a": 1}, "plain", "tuple")
    assert app.get(CONFIG) == {"a": 1}


async def test_keyword_only_and_positional_only_parameters_are_injected() -> None:
    class A:
        pass

    class B:
        pass

    class User:
        def __init__(self, a: A, /, *, b: B) -> None:
            self.a, self.b = a, b

    @Module(providers=[A, B, User])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).a is app.get(A)
    assert app.get(User).b is app.get(B)


async def test_an_undefined_type_hint_fails_at_bootstrap_naming_the_parameter() -> None:
    with pytest.raises(InvalidTypeHintError) as caught:
        await NestFactory.create_application_context(BrokenModule)
    assert str(caught.value) == (
        "Nest can't resolve dependencies of the Broken: the argument 'thing' at index [0] has "
        "the type hint 'Missing', and name 'Missing' is not defined.\n"
        "\n"
        "Potential solutions:\n"
        "- Give 'thing' a type hint that names a provider class defined at module level "
        "(forward references must be resolvable when the application bootstraps).\n"
        "- Or name its token explicitly: Annotated[T, Inject(token)].\n"
        "- Or give 'thing' a default value to make it optional.\n"
    )


async def test_a_parameter_without_type_hint_fails_at_bootstrap() -> None:
    class NoHint:
        def __init__(self, thing) -> None:  # type: ignore[no-untyped-def]
            self.thing = thing

    @Module(providers=[NoHint])
    class M:
        pass

    with pytest.raises(InvalidTypeHintError, match=r"the argument 'thing' at index \[0\] has no"):
        await NestFactory.create_application_context(M)


async def test_a_missing_dependency_names_target_index_and_module() -> None:
    @Module(providers=[Service, Provider("DB_URL", use_value="x")])
    class DataModule:
        pass

    with pytest.raises(UnknownDependenciesError) as caught:
        await NestFactory.create_application_context(DataModule)
    error = caught.value
    assert (error.target, error.token, error.index, error.module) == (
        Service,
        Repo,
        0,
        "DataModule",
    )
    assert str(error).startswith(
        "Nest can't resolve dependencies of the Service (?, DB_URL). Please make sure that the "
        "argument Repo at index [0] is available in the DataModule context."
    )


async def test_string_types_inside_annotated_are_resolved_only_when_they_are_the_token() -> None:
    class Cache:
        pass

    class User:
        def __init__(
            self,
            cache: Annotated["Cache", Inject(optional=True)],
            other: Annotated["Undefined | None", Inject("OTHER")] = None,  # noqa: F821
        ) -> None:
            self.cache, self.other = cache, other

    @Module(providers=[Cache, User, Provider("OTHER", use_value="o")])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(User).cache is app.get(Cache)
    assert app.get(User).other == "o"
