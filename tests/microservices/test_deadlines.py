"""Deadlines: the request timeouts of a client, one timer per timeout value."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable

from nestpy.microservices.deadlines import Deadlines


class Recorder:
    def __init__(self) -> None:
        self.expired: list[tuple[Hashable, float]] = []
        self.at: dict[Hashable, float] = {}

    def __call__(self, key: Hashable, timeout: float) -> None:
        self.expired.append((key, timeout))
        self.at[key] = asyncio.get_running_loop().time()


async def test_keys_expire_after_their_timeout_in_the_order_they_were_added() -> None:
    loop = asyncio.get_running_loop()
    seen = Recorder()
    deadlines = Deadlines(loop, seen)
    started = {}
    for key in "abc":
        started[key] = loop.time()
        deadlines.add(key, 0.05)
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.1)
    assert seen.expired == [("a", 0.05), ("b", 0.05), ("c", 0.05)]
    assert all(seen.at[k] >= started[k] + 0.05 for k in "abc")  # never early


async def test_a_discarded_key_never_expires_and_the_others_still_do() -> None:
    seen = Recorder()
    deadlines = Deadlines(asyncio.get_running_loop(), seen)
    for key in ("first", "second", "third"):
        deadlines.add(key, 0.03)
    deadlines.discard("first", 0.03)  # the key the timer was set for
    deadlines.discard("third", 0.03)
    deadlines.discard("unknown", 0.03)
    deadlines.discard("second", 9.0)  # another timeout: not this key's clock
    await asyncio.sleep(0.08)
    assert seen.expired == [("second", 0.03)]


async def test_each_timeout_value_keeps_its_own_clock() -> None:
    seen = Recorder()
    deadlines = Deadlines(asyncio.get_running_loop(), seen)
    deadlines.add("slow", 0.12)
    deadlines.add("fast", 0.02)
    await asyncio.sleep(0.06)
    assert seen.expired == [("fast", 0.02)]
    await asyncio.sleep(0.12)
    assert seen.expired == [("fast", 0.02), ("slow", 0.12)]


async def test_keys_added_after_a_timeout_fired_get_a_new_timer() -> None:
    seen = Recorder()
    deadlines = Deadlines(asyncio.get_running_loop(), seen)
    deadlines.add(1, 0.02)
    await asyncio.sleep(0.05)
    deadlines.add(2, 0.02)
    deadlines.discard(1, 0.02)  # expired already: nothing happens
    await asyncio.sleep(0.05)
    assert seen.expired == [(1, 0.02), (2, 0.02)]
