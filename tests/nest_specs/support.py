"""Serving a module in memory, as Nest's specs do with ``createNestMicroservice`` + a client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from nestpy.microservices import NestMicroservice
from nestpy.testing import InMemoryClient, InMemoryOptions, Test, TestingModule


@dataclass
class Served:
    module: TestingModule
    app: NestMicroservice
    client: InMemoryClient

    async def send(self, pattern: str, data: Any = None) -> Any:
        return await self.client.send(pattern, {} if data is None else data, timeout=10)


@asynccontextmanager
async def serve(
    *imports: Any,
    configure: Callable[[NestMicroservice], Any] | None = None,
    builder: Callable[[Any], Any] | None = None,
) -> AsyncIterator[Served]:
    """Compile a testing module importing ``imports``, listen in memory, yield a client."""
    testing = Test.create_testing_module(imports=list(imports))
    if builder is not None:
        testing = builder(testing)
    module = await testing.compile()
    app = await module.create_microservice(listen=False)
    if configure is not None:
        configure(app)
    await app.listen()
    client = InMemoryClient(InMemoryOptions(broker=module.in_memory_broker))
    try:
        yield Served(module, app, client)
    finally:
        await client.close()
        await app.close()
