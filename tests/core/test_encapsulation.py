from typing import Annotated

import pytest

from nestpy import (
    Controller,
    Global,
    Inject,
    Injectable,
    InvalidModuleError,
    Module,
    NestFactory,
    Provider,
    UnknownDependenciesError,
    UnknownExportError,
    forward_ref,
)
from nestpy.core.errors.exceptions import (
    InjectableInImportsError,
    UndefinedForwardRefError,
    UndefinedModuleError,
)


@Injectable()
class B:
    pass


@Injectable()
class A:
    def __init__(self, b: B) -> None:
        self.b = b


async def test_conformance_25_a_provider_that_is_not_exported_is_not_visible() -> None:
    @Module(providers=[B])
    class Other:
        pass

    @Module(imports=[Other], providers=[A])
    class M:
        pass

    with pytest.raises(UnknownDependenciesError) as caught:
        await NestFactory.create_application_context(M)
    assert str(caught.value) == (
        "Nest can't resolve dependencies of the A (?). Please make sure that the argument B at "
        "index [0] is available in the M context.\n"
        "\n"
        "Potential solutions:\n"
        "- Is M a valid nestpy module?\n"
        "- If B is a provider, is it part of the current M?\n"
        "- If B is exported from a separate @Module, is that module imported within M?\n"
        "  @Module(\n"
        "      imports=[...],  # the Module containing B\n"
        "  )\n"
    )


async def test_the_issue_example_error_names_the_string_token_in_quotes() -> None:
    @Injectable()
    class Repo:
        pass

    @Injectable()
    class Service:
        def __init__(
            self,
            repo: Repo,
            url: Annotated[str, Inject("DB_URL")],
            cache: Annotated[object, Inject("CACHE")] = None,
        ) -> None:
            pass

    @Module(providers=[Repo, Service], exports=[Service])
    class DataModule:
        pass

    with pytest.raises(UnknownDependenciesError) as caught:
        await NestFactory.create_application_context(DataModule)
    assert str(caught.value) == (
        "Nest can't resolve dependencies of the Service (Repo, ?, CACHE). Please make sure that "
        'the argument "DB_URL" at index [1] is available in the DataModule context.\n'
        "\n"
        "Potential solutions:\n"
        "- Is DataModule a valid nestpy module?\n"
        '- If "DB_URL" is a provider, is it part of the current DataModule?\n'
        '- If "DB_URL" is exported from a separate @Module, is that module imported within '
        "DataModule?\n"
        "  @Module(\n"
        '      imports=[...],  # the Module containing "DB_URL"\n'
        "  )\n"
    )


async def test_exported_providers_of_imported_modules_are_visible() -> None:
    @Module(providers=[B], exports=[B])
    class Other:
        pass

    @Module(imports=[Other], providers=[A])
    class M:
        pass

    app = await NestFactory.create_application_context(M)
    assert app.get(A).b is app.get(B)


async def test_exports_are_not_transitive_without_re_export() -> None:
    @Module(providers=[B], exports=[B])
    class Leaf:
        pass

    @Module(imports=[Leaf])
    class Middle:
        pass

    @Module(imports=[Middle], providers=[A])
    class Top:
        pass

    with pytest.raises(UnknownDependenciesError, match="available in the Top context"):
        await NestFactory.create_application_context(Top)


async def test_a_re_exported_module_exposes_its_exports_to_the_importer() -> None:
    @Module(providers=[B], exports=[B])
    class Common:
        pass

    @Module(imports=[Common], exports=[Common])
    class Core:
        pass

    @Module(imports=[Core], providers=[A])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(A).b is app.get(B)


async def test_global_module_exports_are_visible_everywhere() -> None:
    @Global()
    @Module(providers=[B], exports=[B])
    class Shared:
        pass

    @Module(providers=[A])
    class Feature:
        pass

    @Module(imports=[Shared, Feature])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(A).b is app.get(B)


async def test_a_global_module_does_not_expose_what_it_does_not_export() -> None:
    @Global()
    @Module(providers=[B])
    class Shared:
        pass

    @Module(imports=[Shared], providers=[A])
    class App:
        pass

    with pytest.raises(UnknownDependenciesError, match="argument B at index"):
        await NestFactory.create_application_context(App)


async def test_a_module_imported_twice_is_one_module_with_shared_instances() -> None:
    @Module(providers=[B], exports=[B])
    class Shared:
        pass

    class One:
        def __init__(self, b: B) -> None:
            self.b = b

    class Two:
        def __init__(self, b: B) -> None:
            self.b = b

    @Module(imports=[Shared], providers=[One], exports=[One])
    class First:
        pass

    @Module(imports=[Shared], providers=[Two], exports=[Two])
    class Second:
        pass

    @Module(imports=[First, Second])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(One).b is app.get(Two).b


async def test_own_providers_shadow_imported_ones() -> None:
    @Module(providers=[Provider("X", use_value="imported")], exports=["X"])
    class Other:
        pass

    class User:
        def __init__(self, x: Annotated[str, Inject("X")]) -> None:
            self.x = x

    @Module(imports=[Other], providers=[User, Provider("X", use_value="own")])
    class App:
        pass

    app = await NestFactory.create_application_context(App)
    assert app.get(User).x == "own"


async def test_exporting_what_the_module_neither_provides_nor_imports_fails() -> None:
    @Module(providers=[A], exports=[A, B])
    class M:
        pass

    with pytest.raises(UnknownExportError) as caught:
        await NestFactory.create_application_context(M)
    assert (caught.value.token, caught.value.module) == (B, "M")
    assert str(caught.value) == (
        "Nest cannot export a provider/module that is not a part of the currently processed "
        "module (M). Please verify whether the exported B is available in this particular "
        "context.\n"
        "\n"
        "Possible Solutions:\n"
        "- Is B part of the relevant providers/imports within M?\n"
    )


async def test_exporting_a_token_of_an_imported_module_requires_re_exporting_the_module() -> None:
    @Module(providers=[B], exports=[B])
    class Other:
        pass

    @Module(imports=[Other], exports=[B])
    class M:
        pass

    with pytest.raises(UnknownExportError, match="the exported B is available"):
        await NestFactory.create_application_context(M)


async def test_none_in_imports_fails() -> None:
    @Module(providers=[B])
    class Fine:
        pass

    @Module(imports=[Fine, None])
    class Sub:
        pass

    @Module(imports=[Sub])
    class App:
        pass

    with pytest.raises(UndefinedModuleError) as caught:
        await NestFactory.create_application_context(App)
    assert str(caught.value) == (
        "Nest cannot create the Sub instance.\n"
        'The module at index [1] of the Sub "imports" array is undefined.\n'
        "\n"
        "Potential causes:\n"
        "- A circular dependency between modules. Use forward_ref() to avoid it.\n"
        '- The module at index [1] is of type "None". Check your import statements and the '
        "type of the module.\n"
        "\n"
        "Scope [App -> Sub]"
    )


async def test_a_forward_ref_import_that_returns_none_fails() -> None:
    @Module(imports=[forward_ref(lambda: None)])
    class App:
        pass

    with pytest.raises(UndefinedForwardRefError) as caught:
        await NestFactory.create_application_context(App)
    assert str(caught.value) == (
        "Nest cannot create the module instance. Often, this is because of a circular "
        "dependency between modules. Use forward_ref() to avoid it.\n"
        "\n"
        "Scope [App]"
    )


@pytest.mark.parametrize("decorator", [Injectable(), Controller()])
async def test_an_injectable_or_controller_in_imports_fails(decorator) -> None:  # type: ignore[no-untyped-def]
    @decorator
    class Thing:
        pass

    @Module(imports=[Thing])
    class App:
        pass

    with pytest.raises(InjectableInImportsError) as caught:
        await NestFactory.create_application_context(App)
    assert isinstance(caught.value, InvalidModuleError)
    assert str(caught.value) == (
        "Classes annotated with @Injectable() and @Controller() decorators must not appear in "
        'the "imports" array of a module.\n'
        'Please remove "Thing" (including forwarded occurrences, if any) from all of the '
        '"imports" arrays.\n'
        "\n"
        "Scope [App]"
    )


async def test_something_else_in_imports_fails() -> None:
    class NotAModule:
        pass

    @Module(imports=[NotAModule])
    class App:
        pass

    with pytest.raises(InvalidModuleError) as caught:
        await NestFactory.create_application_context(App)
    assert str(caught.value) == (
        "Nest cannot create the App instance.\n"
        f'Received an unexpected value at index [0] of the App "imports" array: {NotAModule!r}. '
        "Expected a class decorated with @Module() or a DynamicModule.\n"
        "\n"
        "Scope [App]"
    )
