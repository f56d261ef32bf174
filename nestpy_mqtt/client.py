"""``ClientMqtt``: send requests and events to NestJS-compatible MQTT services."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from paho.mqtt.properties import Properties

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.codec import IncomingResponse, decode_response
from nestpy.microservices.exceptions import ConnectionLostError
from nestpy_mqtt._paho_compat import raw_topic
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.properties import (
    ERROR_PROPERTY,
    PackedProperties,
    PublishPropertiesFactory,
    snake_case,
    user_properties_dict,
)
from nestpy_mqtt.record_builder import MqttRecord, MqttRecordOptions
from nestpy_mqtt.status import StatusStream
from nestpy_mqtt.topics import reply_topic

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from nestpy_mqtt.message import MqttMessage

logger = logging.getLogger("nestpy.mqtt.client")

_NO_OPTIONS = MqttRecordOptions()
_MAX_EXPIRY = 0xFFFFFFFF  # MQTT 5's Message Expiry Interval is a four-byte integer


@dataclass(frozen=True, slots=True)
class _RequestOptions:
    """A request's publish options with its PUBLISH properties built (MQTT 5 expiry)."""

    qos: int
    retain: bool
    properties: Properties | None


class ClientMqtt(ClientProxy):
    """An MQTT client proxy.

    Unlike Nest 12's stock client, it subscribes ``<pattern>/reply`` once, at the first request
    on a pattern, and keeps the subscription: no subscribe/unsubscribe per request. When the
    connection drops, the requests already sent fail with ``ConnectionLostError`` instead of
    hanging; requests not sent yet wait for the reconnection, within their timeout. With MQTT 5
    a request carries a Message Expiry Interval of its timeout (rounded up to whole seconds),
    so that the broker drops it once nobody waits for the reply.
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
        self._expiry_properties: dict[int, Properties | None] = {}
        self.serializer = self.options.serializer
        self.deserializer = self.options.deserializer

    @property
    def status(self) -> StatusStream:
        """The connection status: ``connected``, ``disconnected``, ``reconnecting``, ``closed``."""
        return self._connection.status

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Attach a listener to a connection event (``connect``, ``error``, ...)."""
        self._connection.on(event, callback)

    def reply_channel(self, route: str) -> str:
        """Replies to requests on ``route`` come on ``<route>/reply``."""
        return reply_topic(route)

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
                ),
                sent_only=True,
            )

    def _on_message(self, message: MqttMessage) -> None:
        try:
            topic = message.topic
        except UnicodeDecodeError:
            logger.warning("Dropped a reply on a topic that is not UTF-8: %r", raw_topic(message))
            return
        if topic == self.options.reply_topic and self.deserializer is None:
            self.deliver_response(_correlated_reply(message), topic)
            return
        self.handle_response(message.payload, topic)

    def _reply_channel_of(self, route: str) -> str:
        own = self.options.reply_topic
        return own if own is not None else reply_topic(route)

    def _unpack_record(self, data: Any) -> tuple[Any, Any]:
        if isinstance(data, MqttRecord):
            return data.data, data.options
        return data, None

    def _request_options(self, options: Any, timeout: float | None, request_id: str = "") -> Any:
        # MQTT 5: the broker discards the request (queued for a slow or offline service) once
        # its caller has stopped waiting for the reply.
        own = self.options.reply_topic
        if own is not None and request_id:
            return self._correlated_options(options, timeout, own, request_id)
        if not self._properties.enabled or timeout is None or not math.isfinite(timeout):
            return options
        record: MqttRecordOptions = options or _NO_OPTIONS
        expiry = min(max(1, math.ceil(timeout)), _MAX_EXPIRY)
        if record.properties:
            values = record.properties
            if any(
                snake_case(k) == "message_expiry_interval" and v is not None
                for k, v in values.items()
            ):
                return options  # the caller's own expiry wins
            properties = self._properties.build({**values, "message_expiry_interval": expiry})
        elif expiry in self._expiry_properties:
            properties = self._expiry_properties[expiry]
        else:
            built = self._properties.build({"message_expiry_interval": expiry})
            properties = PackedProperties(built) if built is not None else None
            if len(self._expiry_properties) < 64:  # a few distinct timeouts in practice
                self._expiry_properties[expiry] = properties
        return _RequestOptions(record.qos or 0, bool(record.retain), properties)

    def _correlated_options(
        self, options: Any, timeout: float | None, own: str, request_id: str
    ) -> _RequestOptions:
        """A request answered on this client's ``reply_topic``: Response Topic, Correlation
        Data (the request id) and, for a finite timeout, the Message Expiry Interval."""
        record: MqttRecordOptions = options or _NO_OPTIONS
        values = {snake_case(k): v for k, v in (record.properties or {}).items()}
        values["response_topic"] = own
        values["correlation_data"] = request_id.encode()
        if timeout is not None and math.isfinite(timeout):
            values.setdefault(
                "message_expiry_interval", min(max(1, math.ceil(timeout)), _MAX_EXPIRY)
            )
        return _RequestOptions(record.qos or 0, bool(record.retain), self._properties.build(values))

    def _unsent_reason(self) -> str | None:
        if not self._connection.is_connected:
            error = self._connection.last_error
            cause = f" (last error: {error})" if error is not None else ""
            return f"the client is not connected to {self.options.url}{cause}"
        return "the broker has not acknowledged the reply subscription yet"

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
        own = self.options.reply_topic
        key = own if own is not None else route  # one subscription for all, with reply_topic
        subscribed = self._reply_subscriptions.get(key)
        if subscribed is None:
            topic = own if own is not None else reply_topic(route)
            subscribed = asyncio.ensure_future(self._connection.subscribe(topic, 0))
            self._reply_subscriptions[key] = subscribed
        if not subscribed.done():
            try:
                await asyncio.shield(subscribed)
            except BaseException:
                self._reply_subscriptions.pop(key, None)
                raise
        elif subscribed.cancelled() or subscribed.exception() is not None:
            self._reply_subscriptions.pop(key, None)
            subscribed.result()
        if self._reply_subscriptions.get(key) is subscribed:
            self._subscribed_routes.add(route)

    def _publish(self, route: str, payload: bytes, options: Any) -> asyncio.Future[None] | None:
        if type(options) is _RequestOptions:
            return self._connection.publish(
                route,
                payload,
                qos=options.qos,
                retain=options.retain,
                properties=options.properties,
            )
        record: MqttRecordOptions = options or _NO_OPTIONS
        return self._connection.publish(
            route,
            payload,
            qos=record.qos or 0,
            retain=bool(record.retain),
            properties=self._properties.build(record.properties),
        )

    def _publish_now(self, route: str, payload: bytes, options: Any) -> bool:
        # Connected, the reply subscription granted and the write buffer below its limit:
        # publish without a coroutine. A QoS 1 or 2 request takes the slow path, which waits
        # for its acknowledgement.
        connection = self._connection
        if (
            route not in self._subscribed_routes
            or not connection.is_connected
            or connection.write_blocked
        ):
            return False
        if options is not None and options.qos:
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
        acknowledged = self._publish(route, payload, options)
        if acknowledged is not None:
            # QoS 1/2: a refusal (MQTT 5) fails the request at once; across a reconnect paho
            # sends it again, so it counts as sent (a drop fails it) only once acknowledged.
            await acknowledged

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        await self._ensure_connected()
        await self._connection.wait_writable()  # backpressure: max_write_buffer_bytes
        sent = self._publish(route, payload, options)
        if sent is not None:
            await sent


def _correlated_reply(message: MqttMessage) -> IncomingResponse | None:
    """A reply on the client's ``reply_topic``: Nest's reply packet, or the bare JSON value a
    service sends to a bare request (an error when flagged ``error: true``), whose request is
    the Correlation Data."""
    payload = message.payload
    props = getattr(message, "properties", None)
    correlation = getattr(props, "CorrelationData", None) if props is not None else None
    try:
        value = json.loads(payload)
    except ValueError:
        value = payload.decode("utf-8", "replace")
    if (
        isinstance(value, dict)
        and "id" in value
        and {"response", "err", "isDisposed"} & value.keys()
    ):
        return decode_response(payload, message.topic)
    if correlation is None:
        logger.warning("Dropped a reply on %r without Correlation Data", message.topic)
        return None
    request_id = bytes(correlation).decode("utf-8", "replace")
    if user_properties_dict(props).get(ERROR_PROPERTY) == "true":
        return IncomingResponse(request_id, err=value, is_disposed=True)
    return IncomingResponse(request_id, response=value, is_disposed=True)


def _retrieve(task: asyncio.Future[None]) -> None:
    # The callers awaiting it got the error; a failure nobody awaited any more is not news.
    if not task.cancelled():
        task.exception()
