import asyncio
import os
import signal
from typing import Any

from nestpy import Global, Injectable, Module, NestFactory, Provider, Scope

HOOKS = (
    "on_module_init",
    "on_application_bootstrap",
    "on_module_destroy",
    "before_application_shutdown",
    "on_application_shutdown",
)


def recorder(log: list[str], name: str) -> type:
    """A class whose every lifecycle hook appends "<hook>:<name>" to ``log``."""

    def make(hook: str) -> Any:
        if hook in ("before_application_shutdown", "on_application_shutdown"):

            def with_signal(self: object, signal: str | None = None) -> None:
                log.append(f"{hook}:{name}:{signal}")

            return with_signal

        def plain(self: object) -> None:
            log.append(f"{hook}:{name}")

        return plain

    return type(name, (), {hook: make(hook) for hook in HOOKS})


def chain(log: list[str]) -> type:
    """root imports A, which imports B; each module has a provider and a module class hook."""
    b_provider, a_provider, root_provider = (recorder(log, n) for n in ("pB", "pA", "pRoot"))
    b = Module(providers=[b_provider])(recorder(log, "B"))
    a = Module(imports=[b], providers=[a_provider])(recorder(log, "A"))
    return Module(imports=[a], providers=[root_provider])(recorder(log, "Root"))


async def test_conformance_27_init_deepest_first_destroy_in_reverse_module_class_last() -> None:
    log: list[str] = []
    app = await NestFactory.create_application_context(chain(log))
    assert log == [
        "on_module_init:pB",
        "on_module_init:B",
        "on_module_init:pA",
        "on_module_init:A",
        "on_module_init:pRoot",
        "on_module_init:Root",
        "on_application_bootstrap:pB",
        "on_application_bootstrap:B",
        "on_application_bootstrap:pA",
        "on_application_bootstrap:A",
        "on_application_bootstrap:pRoot",
        "on_application_bootstrap:Root",
    ]
    log.clear()
    await app.close()
    assert log == [
        "on_module_destroy:pRoot",
        "on_module_destroy:Root",
        "on_module_destroy:pA",
        "on_module_destroy:A",
        "on_module_destroy:pB",
        "on_module_destroy:B",
        "before_application_shutdown:pRoot:None",
        "before_application_shutdown:Root:None",
        "before_application_shutdown:pA:None",
        "before_application_shutdown:A:None",
        "before_application_shutdown:pB:None",
        "before_application_shutdown:B:None",
        "on_application_shutdown:pRoot:None",
        "on_application_shutdown:Root:None",
        "on_application_shutdown:pA:None",
        "on_application_shutdown:A:None",
        "on_application_shutdown:pB:None",
        "on_application_shutdown:B:None",
    ]


async def test_global_modules_initialise_first() -> None:
    log: list[str] = []
    shared = Global()(Module()(recorder(log, "Shared")))
    leaf = Module()(recorder(log, "Leaf"))
    middle = Module(imports=[leaf])(recorder(log, "Middle"))
    root = Module(imports=[middle, shared])(recorder(log, "Root"))
    await NestFactory.create_application_context(root)
    inits = [entry for entry in log if entry.startswith("on_module_init")]
    assert inits == [
        "on_module_init:Shared",
        "on_module_init:Leaf",
        "on_module_init:Middle",
        "on_module_init:Root",
    ]


async def test_the_longest_import_path_decides_the_distance() -> None:
    log: list[str] = []
    deep = Module()(recorder(log, "Deep"))
    middle = Module(imports=[deep])(recorder(log, "Middle"))
    root = Module(imports=[deep, middle])(recorder(log, "Root"))  # Deep: distance 2, not 1
    await NestFactory.create_application_context(root)
    assert [e for e in log if e.startswith("on_module_init")] == [
        "on_module_init:Deep",
        "on_module_init:Middle",
        "on_module_init:Root",
    ]


async def test_async_hooks_are_awaited_before_the_next_module() -> None:
    log: list[str] = []

    class Slow:
        async def on_module_init(self) -> None:
            await asyncio.sleep(0.01)
            log.append("slow done")

    class Fast:
        def on_module_init(self) -> None:
            log.append("fast")

    inner = Module(providers=[Slow])(type("Inner", (), {}))
    root = Module(imports=[inner], providers=[Fast])(type("Root", (), {}))
    await NestFactory.create_application_context(root)
    assert log == ["slow done", "fast"]


async def test_hooks_within_a_module_run_concurrently() -> None:
    started: list[str] = []

    class One:
        async def on_module_init(self) -> None:
            started.append("one")
            await asyncio.sleep(0.01)
            assert started == ["one", "two"]

    class Two:
        async def on_module_init(self) -> None:
            started.append("two")
            await asyncio.sleep(0.01)

    root = Module(providers=[One, Two])(type("Root", (), {}))
    await NestFactory.create_application_context(root)


async def test_close_is_idempotent_and_passes_no_signal() -> None:
    log: list[str] = []
    app = await NestFactory.create_application_context(chain(log))
    log.clear()
    await asyncio.gather(app.close(), app.close())
    await app.close()
    assert log.count("on_module_destroy:B") == 1


async def test_dispose_callbacks_run_between_before_and_on_application_shutdown() -> None:
    log: list[str] = []
    app = await NestFactory.create_application_context(Module()(recorder(log, "Root")))

    async def dispose() -> None:
        log.append("dispose")

    app.add_dispose_callback(dispose)
    log.clear()
    await app.close()
    assert log == [
        "on_module_destroy:Root",
        "before_application_shutdown:Root:None",
        "dispose",
        "on_application_shutdown:Root:None",
    ]


async def test_hooks_run_on_use_value_objects_once_but_not_on_transient_or_request_scoped() -> None:
    log: list[str] = []
    value = recorder(log, "Value")()
    transient = Injectable(scope=Scope.TRANSIENT)(recorder(log, "Transient"))
    request = Injectable(scope=Scope.REQUEST)(recorder(log, "Request"))

    @Module(
        providers=[
            Provider("V", use_value=value),
            Provider("ALIAS", use_existing="V"),
            transient,
            request,
        ]
    )
    class Root:
        pass

    app = await NestFactory.create_application_context(Root)
    await app.resolve(transient)
    await app.resolve(request, "ctx")
    assert log == ["on_module_init:Value", "on_application_bootstrap:Value"]


async def test_hooks_without_the_signal_parameter_are_called_without_it() -> None:
    log: list[str] = []

    class NoSignal:
        async def on_application_shutdown(self) -> None:
            log.append("shutdown")

    app = await NestFactory.create_application_context(
        Module(providers=[NoSignal])(type("R", (), {}))
    )
    await app.close("SIGTERM")
    assert log == ["shutdown"]


async def test_async_with_closes_the_application() -> None:
    log: list[str] = []
    async with await NestFactory.create_application_context(chain(log)) as app:
        assert app.get  # the context is usable inside
    assert "on_application_shutdown:Root:None" in log


async def test_enable_shutdown_hooks_closes_on_a_signal_and_passes_its_name() -> None:
    log: list[str] = []
    app = await NestFactory.create_application_context(Module()(recorder(log, "Root")))
    app.enable_shutdown_hooks(["SIGUSR1"])
    log.clear()
    os.kill(os.getpid(), signal.SIGUSR1)
    await asyncio.wait_for(app.wait_closed(), timeout=5)
    assert log == [
        "on_module_destroy:Root",
        "before_application_shutdown:Root:SIGUSR1",
        "on_application_shutdown:Root:SIGUSR1",
    ]
    assert not asyncio.get_running_loop().remove_signal_handler(signal.SIGUSR1)  # removed
