"""Acknowledgement bookkeeping for ``MqttConnection``: SUBACK, UNSUBACK and PUBACK futures,
and restoring subscriptions after a reconnect.

paho-free: the connection passes in functions that send SUBSCRIBE/UNSUBSCRIBE and return
``(rc, mid)``; reason codes are only read through ``.is_failure``, ``.value`` and ``str()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from nestpy_mqtt.errors import MqttConnectionLostError, MqttPublishError, MqttSubscribeError

__all__ = ["PublishTracker", "Subscription", "SubscriptionTracker"]

logger = logging.getLogger("nestpy.mqtt.connection")

_NO_CONN = 4  # paho MQTTErrorCode.MQTT_ERR_NO_CONN


@dataclass(frozen=True)
class Subscription:
    """One subscription: a topic filter and its options (MQTT 5 flags ignored on 3.1.1)."""

    topic: str
    qos: int = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: int = 0


def describe(code: Any) -> str:
    """``Not authorized (0x87)``: a reason code's name and value."""
    return f"{code} (0x{int(code.value):02X})"


class _Dropped(Exception):
    """The connection dropped before the acknowledgement: try again after the reconnect."""


class ConnectionState(Protocol):
    """What the tracker needs to know about its connection."""

    url: str
    client_id: str
    name: str

    @property
    def is_connected(self) -> bool: ...

    def owns(self, tracker: SubscriptionTracker) -> bool: ...

    async def wait_connected(self) -> None: ...

    def report_error(self, error: BaseException) -> None: ...


SendSubscribe = Callable[[Sequence[Subscription]], tuple[int, int | None]]
SendUnsubscribe = Callable[[str], tuple[int, int | None]]


class SubscriptionTracker:
    """Remembers acknowledged subscriptions and turns SUBACK/UNSUBACK into futures."""

    def __init__(
        self,
        conn: ConnectionState,
        loop: asyncio.AbstractEventLoop,
        send_subscribe: SendSubscribe,
        send_unsubscribe: SendUnsubscribe,
    ) -> None:
        self.active: dict[str, Subscription] = {}
        self._conn = conn
        self._loop = loop
        self._send_subscribe = send_subscribe
        self._send_unsubscribe = send_unsubscribe
        self._pending: dict[int, asyncio.Future[list[Any]]] = {}
        self._unsub_pending: dict[int, asyncio.Future[list[Any]]] = {}

    async def subscribe(self, sub: Subscription) -> int:
        """Subscribe, retrying across reconnects; return the granted QoS."""
        while True:
            await self._wait_connected()
            future = self._send([sub])
            try:
                codes = await future
            except _Dropped:
                continue
            code = codes[0] if codes else None
            if code is not None and code.is_failure:
                raise MqttSubscribeError(
                    sub.topic, describe(code), url=self._conn.url, client_id=self._conn.client_id
                )
            self.active[sub.topic] = sub
            return int(code.value) if code is not None else sub.qos

    async def unsubscribe(self, topic: str) -> None:
        """Unsubscribe (the topic is forgotten at once, so it is never restored)."""
        self.active.pop(topic, None)
        while True:
            await self._wait_connected()
            rc, mid = self._send_unsubscribe(topic)
            if rc == _NO_CONN or mid is None:
                continue
            if rc:
                raise MqttSubscribeError(
                    topic,
                    f"unsubscribe failed (paho error {rc})",
                    url=self._conn.url,
                    client_id=self._conn.client_id,
                )
            future: asyncio.Future[list[Any]] = self._loop.create_future()
            self._unsub_pending[mid] = future
            try:
                codes = await future
            except _Dropped:
                continue
            failed = [c for c in codes if c.is_failure]
            if failed:
                raise MqttSubscribeError(
                    topic,
                    f"unsubscribe refused: {failed[0]}",
                    url=self._conn.url,
                    client_id=self._conn.client_id,
                )
            return

    def restore(self) -> None:
        """Subscribe every remembered topic again, in one SUBSCRIBE (the session was lost)."""
        if not self.active:
            return
        subs = list(self.active.values())
        future = self._send(subs)
        future.add_done_callback(lambda f: self._restored(subs, f))

    def _restored(self, subs: list[Subscription], future: asyncio.Future[list[Any]]) -> None:
        if future.cancelled() or future.exception() is not None:
            return  # dropped again (restored on the next connect) or closed
        for sub, code in zip(subs, future.result(), strict=False):
            if code.is_failure:
                self.active.pop(sub.topic, None)
                error = MqttSubscribeError(
                    sub.topic,
                    f"{code} (while restoring it after a reconnect)",
                    url=self._conn.url,
                    client_id=self._conn.client_id,
                )
                self._conn.report_error(error)
        logger.debug("%s: restored %d subscriptions", self._conn.name, len(subs))

    def connection_dropped(self) -> None:
        """The link went down: pending acknowledgements will never come; retry later."""
        self._fail_all(_Dropped())

    def fail_pending(self, error: BaseException) -> None:
        """The connection is closing: fail every waiter with ``error``."""
        self._fail_all(error)

    def handle_suback(self, _c: Any, _u: Any, mid: int, codes: list[Any], _p: Any) -> None:
        """paho ``on_subscribe`` callback."""
        future = self._pending.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(codes)

    def handle_unsuback(self, _c: Any, _u: Any, mid: int, codes: list[Any], _p: Any) -> None:
        """paho ``on_unsubscribe`` callback."""
        future = self._unsub_pending.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(codes)

    def _fail_all(self, error: BaseException) -> None:
        for pending in (self._pending, self._unsub_pending):
            for future in pending.values():
                if not future.done():
                    future.set_exception(error)
            pending.clear()

    async def _wait_connected(self) -> None:
        conn = self._conn
        while not conn.is_connected:
            if not conn.owns(self):
                msg = "The connection was closed"
                raise MqttConnectionLostError(msg, url=conn.url, client_id=conn.client_id)
            await conn.wait_connected()
        if not conn.owns(self):
            msg = "The connection was closed"
            raise MqttConnectionLostError(msg, url=conn.url, client_id=conn.client_id)

    def _send(self, subs: Sequence[Subscription]) -> asyncio.Future[list[Any]]:
        future: asyncio.Future[list[Any]] = self._loop.create_future()
        try:
            rc, mid = self._send_subscribe(subs)
        except ValueError as exc:  # paho: invalid topic filter or QoS
            raise MqttSubscribeError(
                subs[0].topic,
                f"invalid subscription: {exc}",
                url=self._conn.url,
                client_id=self._conn.client_id,
            ) from None
        if rc == _NO_CONN or mid is None:
            future.set_exception(_Dropped())
        elif rc:
            future.set_exception(
                MqttSubscribeError(
                    subs[0].topic,
                    f"paho error {rc}",
                    url=self._conn.url,
                    client_id=self._conn.client_id,
                )
            )
        else:
            self._pending[mid] = future
        return future


class PublishTracker:
    """QoS 1/2 publish futures, completed by paho's ``on_publish`` (PUBACK/PUBCOMP).

    paho calls ``on_publish`` for every QoS 0 write too, building two objects each time, so the
    callback is installed only while a QoS 1/2 publish is pending.
    """

    def __init__(self, url: str, client_id: str) -> None:
        self.url = url
        self.client_id = client_id
        self._pending: dict[int, tuple[asyncio.Future[None], str]] = {}

    def track(self, client: Any, future: asyncio.Future[None], mid: int, topic: str) -> None:
        """Complete ``future`` when message ``mid`` is acknowledged."""
        if not self._pending:
            client.on_publish = self.handle_puback
        self._pending[mid] = (future, topic)

    def handle_puback(self, client: Any, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        """paho ``on_publish`` callback."""
        entry = self._pending.pop(mid, None)
        if not self._pending:
            client.on_publish = None
        if entry is None or entry[0].done():
            return
        future, topic = entry
        if reason.is_failure:  # MQTT 5 PUBACK/PUBREC reason >= 0x80
            error = MqttPublishError(
                topic, describe(reason), url=self.url, client_id=self.client_id
            )
            future.set_exception(error)
        else:
            future.set_result(None)

    def fail_all(self, error: BaseException) -> None:
        """Fail every pending publish (the connection is closing)."""
        for future, _ in self._pending.values():
            if not future.done():
                future.set_exception(error)
        self._pending.clear()
