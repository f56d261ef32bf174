"""``LazyModuleLoader``: add a module to a running application, on demand (Nest's lazy loading).

>>> @Injectable()
... class Reports:
...     def __init__(self, loader: LazyModuleLoader) -> None:
...         self.loader = loader
...
...     async def pdf(self) -> bytes:
...         from app.pdf import PdfModule, PdfService   # imported only when needed
...         module_ref = await self.loader.load(lambda: PdfModule)
...         return module_ref.get(PdfService).render()

A loaded module is scanned, linked and instantiated like the application's modules; modules it
imports that are already loaded are shared (their instances too), and loading it again returns
the same ``ModuleRef``. As in Nest, lifecycle hooks do not run in lazily loaded modules.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from nestpy.common.dynamic_module import DynamicModule
from nestpy.common.providers import Provider
from nestpy.common.tokens import Token
from nestpy.core.module_ref import ModuleRef
from nestpy.core.module_token import module_key

if TYPE_CHECKING:
    from nestpy.core.injector import Injector


class LazyModuleLoader:
    """Injectable in every module: ``await loader.load(lambda: SomeModule)``."""

    def __init__(
        self,
        module_overrides: Mapping[Any, Any] | None = None,
        provider_overrides: Mapping[Token, Provider] | None = None,
    ) -> None:
        self._module_overrides = dict(module_overrides or {})
        self._provider_overrides = dict(provider_overrides or {})
        self._injector: Injector | None = None
        self._lock = asyncio.Lock()

    def bind(self, injector: Injector) -> None:
        """Attach the running application (done once, at bootstrap)."""
        self._injector = injector

    async def load(self, load_module: Callable[[], Any]) -> ModuleRef:
        """Load the module ``load_module()`` returns (or resolves to); its ``ModuleRef``."""
        definition = load_module()
        if inspect.isawaitable(definition):
            definition = await definition
        async with self._lock:
            collecting = gc.isenabled()
            gc.disable()
            try:
                return await self._load(definition)
            finally:
                if collecting:
                    gc.enable()

    async def _load(self, definition: Any) -> ModuleRef:
        from nestpy.core.factory import wire  # the bootstrap pipeline, run on new modules
        from nestpy.core.instance_loader import load_instances
        from nestpy.core.scanner import Scanner

        injector = self._injector
        if injector is None:
            msg = "LazyModuleLoader is used before the application finished bootstrapping"
            raise RuntimeError(msg)
        modules = injector.modules
        known = set(modules.nodes)
        scanner = Scanner(
            module_overrides=self._module_overrides, provider_overrides=self._provider_overrides
        )
        scanner.container = modules  # scan into the running application's modules
        scanner.scan(definition)
        nodes = [node for key, node in modules.nodes.items() if key not in known]
        if nodes:
            refs, reader, order = wire(modules, nodes, injector.core, self._provider_overrides)
            injector.add_modules(nodes, order, reader)
            for new_ref in refs:
                new_ref.bind(injector)
            await load_instances([record for record in order if record.instance is None])
        replaced = self._module_overrides.get(definition, definition)
        if isinstance(replaced, DynamicModule):
            key = module_key(replaced.module, replaced)
        else:
            key = module_key(replaced, None)
        record = modules.nodes[key].providers[ModuleRef]
        ref: ModuleRef = record.instance if record.instance is not None else record.spec.use_value
        return ref
