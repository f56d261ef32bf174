"""Every DI error message, in the shape of Nest's ``packages/core/errors/messages.ts``.

Messages that come from Nest keep Nest's wording ("Nest can't resolve dependencies of ..."), so
that Nest users recognise them and search results apply; Python syntax replaces TypeScript.
"""

from __future__ import annotations

from collections.abc import Sequence

_CIRCULAR_MODULES = "A circular dependency between modules. Use forward_ref() to avoid it."


def _scope(scope: Sequence[str]) -> str:
    return f"Scope [{' -> '.join(scope)}]"


def unknown_dependencies_message(
    target: str, dependencies: Sequence[str], index: int, dependency: str, module: str | None
) -> str:
    """A constructor argument nothing provides: the index, the module and what to check."""
    shown = ", ".join("?" if i == index else name for i, name in enumerate(dependencies))
    where = module or "current"
    return (
        f"Nest can't resolve dependencies of the {target} ({shown}). Please make sure that the "
        f"argument {dependency} at index [{index}] is available in the {where} context."
        + _potential_solutions(dependency, module)
    )


def unknown_property_message(target: str, key: str, module: str | None) -> str:
    """A property-injection attribute nothing provides."""
    return (
        f'Nest can\'t resolve dependencies of the {target}. Please make sure that the "{key}" '
        "property is available in the current context." + _potential_solutions(f'"{key}"', module)
    )


def _potential_solutions(dependency: str, module: str | None) -> str:
    first = f"- Is {module} a valid nestpy module?\n" if module else ""
    module = module or "Module"
    return (
        "\n\nPotential solutions:\n"
        f"{first}"
        f"- If {dependency} is a provider, is it part of the current {module}?\n"
        f"- If {dependency} is exported from a separate @Module, is that module imported "
        f"within {module}?\n"
        "  @Module(\n"
        f"      imports=[...],  # the Module containing {dependency}\n"
        "  )\n"
    )


def unknown_export_message(token: str, module: str) -> str:
    """An export that is neither a provider nor an imported module of ``module``."""
    return (
        "Nest cannot export a provider/module that is not a part of the currently processed "
        f"module ({module}). Please verify whether the exported {token} is available in this "
        "particular context.\n\n"
        "Possible Solutions:\n"
        f"- Is {token} part of the relevant providers/imports within {module}?\n"
    )


def undefined_module_message(parent: str, index: int, scope: Sequence[str]) -> str:
    """``None`` in an ``imports`` list."""
    return (
        f"Nest cannot create the {parent} instance.\n"
        f'The module at index [{index}] of the {parent} "imports" array is undefined.\n\n'
        "Potential causes:\n"
        f"- {_CIRCULAR_MODULES}\n"
        f'- The module at index [{index}] is of type "None". Check your import statements and '
        "the type of the module.\n\n"
        f"{_scope(scope)}"
    )


def undefined_forward_ref_message(scope: Sequence[str]) -> str:
    """A ``forward_ref`` in ``imports`` that returned ``None``."""
    return (
        "Nest cannot create the module instance. Often, this is because of a circular "
        "dependency between modules. Use forward_ref() to avoid it.\n\n"
        f"{_scope(scope)}"
    )


def invalid_module_message(parent: str, index: int, value: str, scope: Sequence[str]) -> str:
    """Something in ``imports`` that is neither a module class nor a ``DynamicModule``."""
    return (
        f"Nest cannot create the {parent} instance.\n"
        f'Received an unexpected value at index [{index}] of the {parent} "imports" array: '
        f"{value}. Expected a class decorated with @Module() or a DynamicModule.\n\n"
        f"{_scope(scope)}"
    )


def injectable_in_imports_message(name: str, scope: Sequence[str]) -> str:
    """An ``@Injectable()`` or ``@Controller()`` class placed in ``imports``."""
    return (
        "Classes annotated with @Injectable() and @Controller() decorators must not appear in "
        'the "imports" array of a module.\n'
        f'Please remove "{name}" (including forwarded occurrences, if any) from all of the '
        '"imports" arrays.\n\n'
        f"{_scope(scope)}"
    )


def invalid_provider_entry_message(module: str, array: str, index: int, value: str) -> str:
    """Something in ``providers``/``controllers`` that is neither a class nor a ``Provider``."""
    return (
        f"Nest cannot create the {module} instance.\n"
        f'The item at index [{index}] of the {module} "{array}" array is not valid: {value}. '
        "Expected a class or a Provider(...)."
    )


def invalid_provider_message(token: str, given: Sequence[str], bad_class: str | None) -> str:
    """A ``Provider(...)`` without exactly one ``use_*`` argument, or a non-class ``use_class``."""
    if bad_class is not None:
        return f"Provider({token}): use_class must be a class, got {bad_class}."
    got = ", ".join(given) if given else "none"
    return (
        f"Provider({token}) needs exactly one of use_value, use_class, use_factory or "
        f"use_existing; got {got}."
    )


def unhashable_token_message(token: str) -> str:
    """A ``Provider(...)`` whose token cannot be a dictionary key."""
    return (
        f"Provider({token}): the token must be hashable (a class, a string or another "
        "hashable object)."
    )


def circular_dependency_message(module: str, chain: Sequence[str]) -> str:
    """A provider cycle whose closing edge is not a ``forward_ref`` to a class provider."""
    return (
        f"A circular dependency has been detected inside {module} ({' -> '.join(chain)}). "
        "Please, make sure that each side of a bidirectional relationships are decorated with "
        '"forward_ref()". Note that circular relationships between custom providers (e.g., '
        "factories) are not supported since functions cannot be called more than once."
    )


def unknown_element_message(token: str) -> str:
    """``get()`` of a token nothing provides."""
    return (
        f"Nest could not find {token} element (this provider does not exist in the current context)"
    )


def invalid_class_scope_message(name: str) -> str:
    """``get()`` of a request- or transient-scoped provider."""
    return (
        f"{name} is marked as a scoped provider. Request and transient-scoped providers can't "
        'be used in combination with "get()" method. Please, use "resolve()" instead.'
    )


def invalid_class_message(value: str) -> str:
    """``ModuleRef.create()`` of something that is not a class."""
    return f"ModuleRef cannot instantiate class ({value} is not constructable)."


def invalid_type_hint_message(target: str, parameter: str, index: int, reason: str) -> str:
    """A constructor parameter whose token cannot be read from its type hint."""
    return (
        f"Nest can't resolve dependencies of the {target}: the argument {parameter!r} at index "
        f"[{index}] {reason}.\n\n"
        "Potential solutions:\n"
        f"- Give {parameter!r} a type hint that names a provider class defined at module level "
        f"(forward references must be resolvable when the application bootstraps).\n"
        f"- Or name its token explicitly: Annotated[T, Inject(token)].\n"
        f"- Or give {parameter!r} a default value to make it optional.\n"
    )


def async_transient_message(token: str) -> str:
    """An ``async def`` factory declared transient."""
    return (
        f"The factory of {token} is async and transient-scoped. Async factories are awaited "
        "once at bootstrap (Scope.DEFAULT) or per context id (Scope.REQUEST); make it "
        "synchronous or choose one of those scopes."
    )
