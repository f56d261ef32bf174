"""``ClientMqtt``: send requests and events to NestJS-compatible MQTT services."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.exceptions import ConnectionLostError
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.properties import PublishPropertiesFactory
from nestpy_mqtt.record_builder import MqttRecord, MqttRecordOptions
from nestpy_mqtt.status import StatusStream
from nestpy_mqtt.topics import reply_topic

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

logger = logging.getLogger("nestpy.mqtt.client")

_NO_OPTIONS = MqttRecordOptions()


class ClientMqtt(ClientProxy):
    """An MQTT client proxy.

    Unlike Nest 12's stock client, it subscribes ``<pattern>/reply`` once, at the first request
    on a pattern, and keeps the subscription: no subscribe/unsubscribe per request. When the
    connection drops, pending requests fail with ``ConnectionLostError`` instead of hanging.
    """

    def __init__(self, options: MqttOptions | None = None) -> None:
        self.options = options or MqttOptions()
        super().__init__(request_timeout=self.options.request_timeout)
        self._connection = MqttConnection(self.options, on_message=self._on_message, name="client")
        self._connection.on_connection_lost.append(self._connection_lost)
        self._properties = PublishPropertiesFactory(
            self.options.protocol_version, self.options.user_properties
        )
        self._reply_subscriptions: dict[str, asyncio.Future[int]] = {}
        self._subscribed_routes: set[str] = set()  # reply subscriptions granted (fast path)
        self._connecting: asyncio.Future[None] | None = None

    @property
    def status(self) -> StatusStream:
        """The connection status: ``connected``, ``disconnected``, ``reconnecting``, ``closed``."""
        return self._connection.status

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Attach a listener to a connection event (``connect``, ``error``, ...)."""
        self._connection.on(event, callback)

    def unwrap(self) -> mqtt.Client:
        """The underlying paho client (after ``connect()``)."""
        return self._connection.unwrap()

    async def connect(self) -> None:
        """Connect to the broker; idempotent."""
        await self._connection.connect()

    async def close(self) -> None:
        """Fail pending requests and disconnect; a later ``send`` connects again."""
        self.fail_pending(ConnectionLostError("The client was closed."))
        self._reply_subscriptions.clear()
        self._subscribed_routes.clear()
        await self._connection.close()

    def _connection_lost(self, error: BaseException) -> None:
        if self.pending_requests:
            self.fail_pending(
                ConnectionLostError(
                    f"Connection to {self.options.url} lost while waiting for a reply ({error}); "
                    "the request may or may not have been handled."
                )
            )

    def _on_message(self, message: mqtt.MQTTMessage) -> None:
        self.handle_response(message.payload)

    def _unpack_record(self, data: Any) -> tuple[Any, Any]:
        if isinstance(data, MqttRecord):
            return data.data, data.options
        return data, None

    async def _ensure_connected(self) -> None:
        if self._connection.is_connected:
            return
        # One shared, shielded attempt: a request that times out or is cancelled while the
        # client (re)connects must not cancel the connection's reconnect loop, which
        # MqttConnection.connect() does when its last waiter gives up.
        task = self._connecting
        if task is None or task.done():
            task = self._connecting = asyncio.ensure_future(self._connection.connect())
            task.add_done_callback(_retrieve)
        await asyncio.shield(task)

    async def _ensure_reply_subscription(self, route: str) -> None:
        subscribed = self._reply_subscriptions.get(route)
        if subscribed is None:
            subscribed = asyncio.ensure_future(self._connection.subscribe(reply_topic(route), 0))
            self._reply_subscriptions[route] = subscribed
        if not subscribed.done():
            try:
                await asyncio.shield(subscribed)
            except BaseException:
                self._reply_subscriptions.pop(route, None)
                raise
        elif subscribed.cancelled() or subscribed.exception() is not None:
            self._reply_subscriptions.pop(route, None)
            subscribed.result()
        if self._reply_subscriptions.get(route) is subscribed:
            self._subscribed_routes.add(route)

    def _publish(self, route: str, payload: bytes, options: Any) -> asyncio.Future[None] | None:
        record: MqttRecordOptions = options or _NO_OPTIONS
        return self._connection.publish(
            route,
            payload,
            qos=record.qos or 0,
            retain=bool(record.retain),
            properties=self._properties.build(record.properties),
        )

    def _publish_now(self, route: str, payload: bytes, options: Any) -> bool:
        # Connected and the reply subscription granted: publish without a coroutine.
        connection = self._connection
        if (
            route not in self._subscribed_routes
            or not connection.is_connected
            or connection.write_blocked
        ):
            return False
        self._publish(route, payload, options)
        return True

    def _emit_now(self, route: str, payload: bytes, options: Any) -> asyncio.Future[None] | None:
        if not self._connection.is_connected or self._connection.write_blocked:
            return None
        try:
            sent = self._publish(route, payload, options)
        except Exception as exc:
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            return failed
        if sent is None:  # QoS 0: written in this loop iteration's flush
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done
        return sent

    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None:
        await self._ensure_connected()
        await self._ensure_reply_subscription(route)
        await self._connection.wait_writable()  # backpressure: max_write_buffer_bytes
        self._publish(route, payload, options)

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        await self._ensure_connected()
        await self._connection.wait_writable()  # backpressure: max_write_buffer_bytes
        sent = self._publish(route, payload, options)
        if sent is not None:
            await sent


def _retrieve(task: asyncio.Future[None]) -> None:
    # The callers awaiting it got the error; a failure nobody awaited any more is not news.
    if not task.cancelled():
        task.exception()
