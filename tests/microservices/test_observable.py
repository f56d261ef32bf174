"""``NestMicroservice.status``/``on``/``unwrap`` go through the ``ObservableTransport`` protocol."""

from collections.abc import Callable
from typing import Any

import pytest

from nestpy import Module
from nestpy.microservices import ObservableTransport, Server, Transport, create_microservice
from nestpy.testing import InMemoryBroker, InMemoryOptions


@Module()
class EmptyModule: ...


class WatchedServer(Server):
    """A custom transport with a connection to watch."""

    def __init__(self) -> None:
        super().__init__()
        self.listeners: list[tuple[str, Callable[..., Any]]] = []

    async def listen(self) -> None: ...

    async def close(self) -> None: ...

    @property
    def status(self) -> str:
        return "connected"

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        self.listeners.append((event, callback))

    def unwrap(self) -> str:
        return "raw client"


async def test_a_custom_server_with_status_on_and_unwrap_is_observable() -> None:
    server = WatchedServer()
    assert isinstance(server, ObservableTransport)
    app = await create_microservice(EmptyModule, strategy=server)
    app.on("error", print)
    assert (app.status, app.unwrap(), server.listeners) == (
        "connected",
        "raw client",
        [("error", print)],
    )
    await app.close()


async def test_a_server_without_a_connection_says_so() -> None:
    app = await create_microservice(
        EmptyModule, transport=Transport.IN_MEMORY, options=InMemoryOptions(broker=InMemoryBroker())
    )
    assert not isinstance(app.server, ObservableTransport)
    with pytest.raises(AttributeError, match=r"InMemoryServer has no status: status, on\(\)"):
        _ = app.status
    with pytest.raises(AttributeError, match=r"InMemoryServer has no unwrap\(\)"):
        app.unwrap()
    with pytest.raises(AttributeError, match=r"InMemoryServer has no on\(\)"):
        app.on("error", print)
    await app.close()
