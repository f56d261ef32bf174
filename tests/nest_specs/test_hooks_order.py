"""Ports of nestjs/nest ``integration/hooks/e2e``: the "should sort components within a single
module by injection hierarchy" case of ``on-module-init``, ``on-app-bootstrap``,
``on-module-destroy``, ``before-app-shutdown`` and ``on-app-shutdown`` specs."""

from __future__ import annotations

import pytest

from nestpy import Injectable, Module
from nestpy.testing import Test

calls: list[tuple[str, str]] = []


class Hooks:
    def on_module_init(self) -> None:
        calls.append(("on_module_init", type(self).__name__))

    def on_application_bootstrap(self) -> None:
        calls.append(("on_application_bootstrap", type(self).__name__))

    def on_module_destroy(self) -> None:
        calls.append(("on_module_destroy", type(self).__name__))

    def before_application_shutdown(self, signal: str | None = None) -> None:
        calls.append(("before_application_shutdown", type(self).__name__))

    def on_application_shutdown(self, signal: str | None = None) -> None:
        calls.append(("on_application_shutdown", type(self).__name__))


@Injectable()
class A(Hooks): ...


@Injectable()
class AHost(Hooks):
    def __init__(self, a: A) -> None:
        self.a = a


@Injectable()
class Composition(Hooks):
    def __init__(self, a: A, host: AHost) -> None:
        self.a = a
        self.host = host


@Module(providers=[AHost, A, Composition])
class AModule: ...


DESC = ["A", "AHost", "Composition"]
ASC = DESC[::-1]


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        pytest.param("on_module_init", DESC, id="on-module-init.spec.ts DESC"),
        pytest.param("on_application_bootstrap", DESC, id="on-app-bootstrap.spec.ts DESC"),
        pytest.param("on_module_destroy", ASC, id="on-module-destroy.spec.ts ASC"),
        pytest.param("before_application_shutdown", ASC, id="before-app-shutdown.spec.ts ASC"),
        pytest.param("on_application_shutdown", ASC, id="on-app-shutdown.spec.ts ASC"),
    ],
)
async def test_sorts_components_within_a_single_module_by_injection_hierarchy(
    hook: str, expected: list[str]
) -> None:
    """it('should sort components within a single module by injection hierarchy - DESC order')
    for the init hooks, '... - ASC order' for the shutdown hooks."""
    calls.clear()
    module = await Test.create_testing_module(imports=[AModule]).compile()
    await module.close()
    assert [name for called, name in calls if called == hook] == expected
