"""DI bootstrap benchmark: a synthetic graph of 200 modules, 2,000 providers, depth 10.

Run: ``.venv/bin/python benchmarks/di_bootstrap.py``. Prints the bootstrap time of
``NestFactory.create_application_context`` (scan, encapsulation, type hints, compilation to
dependency-injector, instantiation of every provider, init hooks) next to the same graph
written by hand as dependency-injector containers (one ``DynamicContainer`` per module,
``Singleton``/``Factory`` providers wired to each other, every singleton built), and the cost
of a cached singleton ``get()``. Targets: at most 1.5x the hand-written containers, ``get()``
at most 200 ns.
"""

from __future__ import annotations

import asyncio
import pathlib
import statistics
import sys
import time
import types
from typing import Any

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from dependency_injector import containers, providers

from nestpy import Injectable, Module, NestFactory, Scope
from nestpy.common.metadata import get_injectable_metadata, get_module_metadata

MODULES = 200
PROVIDERS_PER_MODULE = 10
DEPTH = 10


def build_graph() -> type[Any]:
    """Root module at depth 0; 199 modules spread over depths 1-9, 10 providers each.

    Every provider depends on the previous one of its module; the first one also depends on
    what two imported modules export. Half the hints are strings (evaluated at bootstrap).
    One provider in ten is transient.
    """
    namespace = types.ModuleType("di_bootstrap_graph")
    sys.modules[namespace.__name__] = namespace
    levels: list[list[int]] = [[0]]
    rest = list(range(1, MODULES))
    per_level = -(-len(rest) // (DEPTH - 1))
    levels += [rest[i : i + per_level] for i in range(0, len(rest), per_level)]
    modules: dict[int, type[Any]] = {}
    for depth in range(len(levels) - 1, -1, -1):
        below = levels[depth + 1] if depth + 1 < len(levels) else []
        for position, index in enumerate(levels[depth]):
            if depth == 0:
                imports = [modules[i] for i in below]  # the root imports every feature module
            elif below:
                picks = {below[position % len(below)], below[(position + 1) % len(below)]}
                imports = [modules[i] for i in sorted(picks)]
            else:
                imports = []
            modules[index] = _module(namespace, index, imports)
    return modules[0]


def _module(namespace: types.ModuleType, index: int, imports: list[type[Any]]) -> type[Any]:
    providers = []
    for number in range(PROVIDERS_PER_MODULE):
        name = f"P{index}_{number}"
        params = []
        if number > 0:
            previous = f"P{index}_{number - 1}"
            params.append(f"prev: '{previous}'" if number % 2 else f"prev: {previous}")
        elif imports:
            params += [f"d{i}: {m.exported.__name__}" for i, m in enumerate(imports[:2])]
        signature = ", ".join(["self", *params])
        source = f"class {name}:\n    def __init__({signature}) -> None:\n        self.args = ()\n"
        exec(source, vars(namespace))
        cls = getattr(namespace, name)
        if number == 3:
            cls = Injectable(scope=Scope.TRANSIENT)(cls)
        providers.append(cls)
    module = type(f"Module{index}", (), {"__module__": namespace.__name__})
    module.exported = providers[-1]  # type: ignore[attr-defined]
    setattr(namespace, module.__name__, module)
    return Module(imports=imports, providers=providers, exports=[providers[-1]])(module)


def hand_written(root: type[Any]) -> list[containers.DynamicContainer]:
    """The graph as a developer would write it with dependency-injector: one container per
    module, each provider wired to the provider objects it needs, then every singleton built.

    The wiring (which provider feeds which argument) is read from the classes once, outside
    the timed part: by hand, it is written in the source.
    """
    built: dict[type[Any], containers.DynamicContainer] = {}
    exported: dict[type[Any], Any] = {}
    singletons: list[Any] = []

    def build(module: type[Any]) -> None:
        if module in built:
            return
        meta = get_module_metadata(module)
        assert meta is not None
        for child in meta.imports:
            build(child)
        container = containers.DynamicContainer()
        previous: Any = None
        for number, cls in enumerate(meta.providers):
            args = [exported[child] for child in meta.imports[:2]] if number == 0 else [previous]
            injectable = get_injectable_metadata(cls)
            transient = injectable is not None and injectable.scope is Scope.TRANSIENT
            provider = (providers.Factory if transient else providers.Singleton)(cls, *args)
            if not transient:
                singletons.append(provider)
            setattr(container, cls.__name__, provider)
            previous = provider
        exported[module] = previous
        built[module] = container

    build(root)
    for provider in singletons:
        provider()
    return list(built.values())


async def main() -> None:
    root = build_graph()
    baseline: list[float] = []
    times: list[float] = []
    app = None
    for _ in range(7):  # interleaved: a busy machine slows both alike
        started = time.perf_counter()
        hand_written(root)
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        app = await NestFactory.create_application_context(root)
        times.append(time.perf_counter() - started)
        await app.close()
    assert app is not None
    token = root.exported  # type: ignore[attr-defined]
    app.get(token)
    calls = 200_000
    rounds = []
    for _ in range(5):  # best of five rounds: the least disturbed by other processes
        started = time.perf_counter()
        for _ in range(calls):
            app.get(token)
        rounds.append((time.perf_counter() - started) / calls)
    per_get = min(rounds)
    print(f"graph: {MODULES} modules, {MODULES * PROVIDERS_PER_MODULE} providers, depth {DEPTH}")
    best, median = min(times) * 1000, statistics.median(times) * 1000
    hand_best, hand_median = min(baseline) * 1000, statistics.median(baseline) * 1000
    print(
        f"hand-written dependency-injector containers: best {hand_best:.0f} ms, median "
        f"{hand_median:.0f} ms"
    )
    print(
        f"nestpy bootstrap: best {best:.0f} ms, median {median:.0f} ms "
        f"({best / hand_best:.2f}x the hand-written best; target <= 1.5x)"
    )
    print(f"first (cold) nestpy bootstrap, type hints read: {times[0] * 1000:.0f} ms")
    print(f"get() of a cached singleton: {per_get * 1e9:.0f} ns per call (target <= 200 ns)")


if __name__ == "__main__":
    asyncio.run(main())
