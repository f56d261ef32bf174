"""``client.send(...)`` sends nothing until awaited or iterated (Nest's cold observable): one
dropped unused warns, as Python warns for a coroutine never awaited."""

import gc

import pytest

from nestpy.microservices import RequestTimeoutError
from nestpy.testing import InMemoryBroker, InMemoryClient, InMemoryOptions


@pytest.fixture
def client() -> InMemoryClient:
    return InMemoryClient(InMemoryOptions(broker=InMemoryBroker()))


async def test_a_send_never_awaited_warns_and_names_the_pattern(client: InMemoryClient) -> None:
    with pytest.warns(
        RuntimeWarning,
        match=r"client\.send\('orders/create', \.\.\.\) was never awaited or iterated, so "
        r"nothing was sent: write 'await client\.send\(\.\.\.\)'",
    ):
        client.send("orders/create", {"id": 1})  # dropped at once (reference counting)
    assert not client.options.broker.published


async def test_awaited_or_iterated_streams_do_not_warn(client: InMemoryClient) -> None:
    # filterwarnings = error: any warning would fail this test
    with pytest.raises(RequestTimeoutError):
        await client.send("nobody", 1, timeout=0.01)
    stream = client.send("nobody", 2, timeout=0.01)
    with pytest.raises(RequestTimeoutError):
        async for _ in stream:
            pass
    del stream
    gc.collect()
