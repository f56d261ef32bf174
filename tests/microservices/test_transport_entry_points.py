"""Transports are found through the ``nestpy.transports`` entry-point group.

Each test installs a small distribution (``*.dist-info`` with ``entry_points.txt``) on
``sys.path``, as pip would, so ``importlib.metadata`` finds it like any installed package.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from nestpy import Module
from nestpy.microservices import ClientProxyFactory, Transport, create_microservice, transports
from nestpy.testing import InMemoryClient, InMemoryServer

TRANSPORT_MODULE = textwrap.dedent(
    """
    from nestpy.microservices.transports import TransportImplementation
    from nestpy.testing import InMemoryClient, InMemoryServer

    class RedisLikeServer(InMemoryServer): ...

    class RedisLikeClient(InMemoryClient): ...

    REDIS = TransportImplementation(RedisLikeServer, RedisLikeClient)
    NOT_A_TRANSPORT = object()
    """
)


@Module()
class EmptyModule: ...


@pytest.fixture(autouse=True)
def fresh_lookup() -> Iterator[None]:
    transports._registered.cache_clear()
    transports.implementation.cache_clear()
    yield
    transports._registered.cache_clear()
    transports.implementation.cache_clear()


@pytest.fixture
def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``install(entry_points)``: a distribution ``fake-transports`` with those entry points."""

    def install_distribution(entry_points: str, name: str = "fake_transports") -> None:
        (tmp_path / f"{name}_impl.py").write_text(TRANSPORT_MODULE)
        info = tmp_path / f"{name}-1.0.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text(
            "[nestpy.transports]\n" + entry_points.replace("{impl}", f"{name}_impl")
        )
        monkeypatch.syspath_prepend(str(tmp_path))

    return install_distribution


async def test_a_transport_registered_by_a_distribution_is_used(install) -> None:
    install("redis = {impl}:REDIS\n")
    app = await create_microservice(EmptyModule, transport=Transport.REDIS)
    assert type(app.server).__name__ == "RedisLikeServer"
    client = ClientProxyFactory.create(transport=Transport.REDIS)
    assert type(client).__name__ == "RedisLikeClient"
    assert transports.server_class(Transport.REDIS) is type(app.server)
    await app.close()


async def test_the_built_in_transports_are_found_without_registered_entry_points() -> None:
    # This checkout may run from an install whose metadata predates the entry points.
    assert transports.server_class(Transport.IN_MEMORY) is InMemoryServer
    assert transports.client_class(Transport.IN_MEMORY) is InMemoryClient
    assert transports.server_class(Transport.MQTT).__name__ == "ServerMqtt"


def test_an_unregistered_transport_names_the_supported_ones_and_the_group() -> None:
    with pytest.raises(NotImplementedError) as caught:
        ClientProxyFactory.create(transport=Transport.KAFKA)
    assert str(caught.value) == (
        "Transport.KAFKA is not implemented by nestpy; supported: Transport.MQTT, "
        "Transport.IN_MEMORY. A transport package registers it as 'kafka' in the "
        "'nestpy.transports' entry-point group."
    )


def test_a_transport_whose_package_is_missing_says_what_to_install(install) -> None:
    install("nats = missing_nats_transport:NATS\n", name="nestpy_nats")
    with pytest.raises(ImportError) as caught:
        ClientProxyFactory.create(transport=Transport.NATS)
    message = str(caught.value)
    assert message.startswith(
        "Using Transport.NATS needs the 'missing_nats_transport' package, which could not be "
        "imported (No module named 'missing_nats_transport')."
    )
    assert message.endswith("Install it with `pip install nestpy_nats`.")


def test_an_entry_point_that_is_not_a_transport_is_reported(install) -> None:
    install("grpc = {impl}:NOT_A_TRANSPORT\n")
    with pytest.raises(TypeError, match=r"'grpc' \(fake_transports_impl:NOT_A_TRANSPORT\) is a "):
        transports.implementation(Transport.GRPC)
