"""An in-memory transport: the MQTT transport's behaviour with no broker, for unit tests.

It uses the same codec and the same server and client bases as the MQTT transport, and routes
by MQTT's topic rules (``+``, ``#``, ``$share/<group>/``, ``<topic>/reply``; see
``nestpy.testing._topic_rules``), so a controller tested here behaves the same over Mosquitto.
Messages are delivered on the next turn of the event loop, as over a network.

It models what a handler can see of an MQTT 5 message: a record (``MqttRecordBuilder(...)
.build()``, recognised by its shape, so that the core never imports the MQTT package) is
unpacked as ``ClientMqtt`` does; its QoS is delivered as a broker would (the lower of the
publish and the subscription QoS); its properties and user properties (merged over the client's
``user_properties``) reach ``ctx.get_packet().properties``, as over MQTT 5.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, ClassVar

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import ConnectionLostError
from nestpy.microservices.server import Server
from nestpy.microservices.transports import Transport, TransportImplementation
from nestpy.testing._topic_rules import (
    first_match,
    matches,
    reply_topic,
    shared,
    shared_group,
    unshared,
)

PROPERTY_NAMES = (
    "response_topic",
    "correlation_data",
    "content_type",
    "message_expiry_interval",
    "payload_format_indicator",
    "subscription_identifier",
    "topic_alias",
)
"""The PUBLISH properties besides ``user_properties``, as ``MqttPacket.properties`` names them."""


def packet_properties(
    properties: Mapping[str, Any] | None = None, user_properties: Mapping[str, str] | None = None
) -> SimpleNamespace:
    """Properties as a receiver sees them: every name present, ``user_properties`` a dict.

    ``topic_alias`` and ``subscription_identifier`` are the broker's business: never forwarded.
    """
    values = {name: None for name in PROPERTY_NAMES}
    users: dict[str, str] = {}
    for key, value in (properties or {}).items():
        name = "user_properties" if key in ("userProperties", "UserProperty") else key
        if name == "user_properties":
            pairs = value.items() if isinstance(value, Mapping) else value
            users.update((str(k), str(v)) for k, v in pairs)
        elif name in values and name not in ("topic_alias", "subscription_identifier"):
            values[name] = value
    merged = {**(user_properties or {}), **users}
    return SimpleNamespace(user_properties=merged, **values)


@dataclass(frozen=True, slots=True)
class InMemoryPacket:
    """A delivered message, with ``MqttPacket``'s fields: ``topic``, ``payload``, ``qos``,
    ``retain``, ``dup``, ``mid`` and ``properties`` (``properties.user_properties`` is a dict)."""

    topic: str
    payload: bytes
    qos: int = 0
    retain: bool = False
    dup: bool = False
    mid: int = 0
    properties: SimpleNamespace = field(default_factory=packet_properties)
    raw: None = None
    """``MqttPacket.raw`` is paho's message; there is none in memory."""


Deliver = Callable[[InMemoryPacket], None]


@dataclass(slots=True)
class _Subscription:
    topic_filter: str
    group: str | None
    qos: int
    deliver: Deliver


class InMemoryBroker:
    """Routes published messages to matching subscriptions; one message per shared group.

    A message is delivered with the lower of its publish QoS and the subscription's QoS, as
    MQTT brokers do; nothing is lost, so QoS changes what the handler sees, not delivery.
    Retained messages are not kept: ``retain`` is False on every delivery, as on a live
    delivery over MQTT.
    """

    _default: ClassVar[InMemoryBroker | None] = None

    def __init__(self) -> None:
        self._subscriptions: list[_Subscription] = []
        self._turns = itertools.count()
        self._mids = itertools.count(1)
        self.published: deque[tuple[str, bytes]] = deque(maxlen=10_000)
        """The last messages published, for tests that check what went over the wire."""

    @classmethod
    def default(cls) -> InMemoryBroker:
        """The process-wide broker used when no broker is given."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def subscribe(self, topic_filter: str, deliver: Deliver, qos: int = 0) -> None:
        """Deliver messages matching ``topic_filter`` (``$share/<group>/...`` allowed) as
        ``InMemoryPacket``s, at most at ``qos``."""
        self._subscriptions.append(
            _Subscription(unshared(topic_filter), shared_group(topic_filter), qos, deliver)
        )

    def unsubscribe_all(self, deliver: Deliver) -> None:
        """Remove every subscription of ``deliver``."""
        # Bound methods are equal, never identical, so compare with ==.
        self._subscriptions = [s for s in self._subscriptions if s.deliver != deliver]

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        properties: SimpleNamespace | None = None,
    ) -> None:
        """Queue ``payload`` for every matching subscriber (one member of each shared group)."""
        self.published.append((topic, payload))
        groups: dict[str, list[_Subscription]] = {}
        loop = asyncio.get_running_loop()
        props = properties if properties is not None else packet_properties()
        for subscription in self._subscriptions:
            if not matches(subscription.topic_filter, topic):
                continue
            if subscription.group is None:
                loop.call_soon(
                    subscription.deliver, self._packet(topic, payload, qos, subscription, props)
                )
            else:
                groups.setdefault(subscription.group, []).append(subscription)
        turn = next(self._turns)
        for members in groups.values():
            chosen = members[turn % len(members)]
            loop.call_soon(chosen.deliver, self._packet(topic, payload, qos, chosen, props))

    def _packet(
        self,
        topic: str,
        payload: bytes,
        qos: int,
        subscription: _Subscription,
        properties: SimpleNamespace,
    ) -> InMemoryPacket:
        granted = min(qos, subscription.qos)
        mid = next(self._mids) if granted else 0
        return InMemoryPacket(topic, payload, granted, False, False, mid, properties)


class InMemoryContext(BaseRpcContext):
    """The context of an in-memory message, as ``MqttContext``: ``get_topic()`` and
    ``get_packet()`` (``.qos``, ``.retain``, ``.dup``, ``.mid``, ``.properties``)."""

    __slots__ = ()

    def __init__(self, topic: str, packet: InMemoryPacket | None = None) -> None:
        super().__init__(topic, packet if packet is not None else InMemoryPacket(topic, b""))

    def get_topic(self) -> str:
        """The topic the message was published on."""
        return str(self.args[0])

    def get_packet(self) -> InMemoryPacket:
        """The delivered packet."""
        packet: InMemoryPacket = self.args[1]
        return packet

    @property
    def user_properties(self) -> dict[str, str]:
        """The user properties of the packet."""
        return dict(self.get_packet().properties.user_properties)

    def __repr__(self) -> str:
        return f"InMemoryContext(topic={self.args[0]!r})"


def unpack_record(data: Any) -> tuple[Any, Any]:
    """Split an ``MqttRecord`` (anything with ``.data`` and ``.options.qos``) into its data
    and its options, as ``ClientMqtt`` does; other data is sent as it is."""
    options = getattr(data, "options", None)
    if hasattr(data, "data") and hasattr(options, "qos") and hasattr(options, "properties"):
        return data.data, options
    return data, None


@dataclass
class InMemoryOptions:
    """Options of the in-memory transport; all servers and clients share one broker by default."""

    broker: InMemoryBroker = field(default_factory=InMemoryBroker.default)
    shared_group: str | None = None
    user_properties: dict[str, str] | None = None
    """A client's user properties, sent with each message (a record's own win on a clash)."""
    request_timeout: float | None = 5.0
    max_concurrency: int | None = None
    handler_timeout: float | None = None
    max_payload_bytes: int | None = None


class InMemoryServer(Server):
    """A server on an ``InMemoryBroker``."""

    transport_id = Transport.IN_MEMORY

    def __init__(self, options: InMemoryOptions | None = None) -> None:
        self.options = options or InMemoryOptions()
        super().__init__(
            max_concurrency=self.options.max_concurrency,
            handler_timeout=self.options.handler_timeout,
            max_payload_bytes=self.options.max_payload_bytes,
        )

    def match_route(self, route: str) -> str | None:
        """Exact routes first, then wildcards and shared keys, as the MQTT server does."""
        if route in self.handlers:
            return route
        return first_match(self.handlers, route)

    async def listen(self) -> None:
        """Subscribe every handler route on the broker."""
        group = self.options.shared_group
        for route, entry in self.handlers.items():
            first = entry[0] if isinstance(entry, list) else entry
            qos = first.extras.get("qos", 0)
            self.options.broker.subscribe(
                shared(group, route) if group else route, self._deliver, qos
            )

    def _deliver(self, packet: InMemoryPacket) -> None:
        broker = self.options.broker
        topic = packet.topic
        self.handle_packet(
            topic,
            packet.payload,
            InMemoryContext(topic, packet),
            lambda reply: broker.publish(reply_topic(topic), reply),
        )

    async def close(self) -> None:
        """Unsubscribe and let in-flight handlers finish."""
        self.options.broker.unsubscribe_all(self._deliver)
        await self.drain(timeout=5.0)


class InMemoryClient(ClientProxy):
    """A client on an ``InMemoryBroker``; it subscribes ``<route>/reply`` once per route."""

    def __init__(self, options: InMemoryOptions | None = None) -> None:
        self.options = options or InMemoryOptions()
        super().__init__(request_timeout=self.options.request_timeout)
        self._reply_routes: set[str] = set()

    async def connect(self) -> None:
        """Nothing to connect to."""

    async def close(self) -> None:
        """Fail the pending requests and forget the reply subscriptions, as ``ClientMqtt``."""
        self.fail_pending(ConnectionLostError("The client was closed."))
        self.options.broker.unsubscribe_all(self._on_reply)
        self._reply_routes.clear()

    def _on_reply(self, packet: InMemoryPacket) -> None:
        self.handle_response(packet.payload)

    def _unpack_record(self, data: Any) -> tuple[Any, Any]:
        return unpack_record(data)

    def _publish(self, route: str, payload: bytes, options: Any) -> None:
        qos = (getattr(options, "qos", None) or 0) if options is not None else 0
        record_properties = getattr(options, "properties", None) if options is not None else None
        properties = packet_properties(record_properties, self.options.user_properties)
        self.options.broker.publish(route, payload, qos, properties)

    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None:
        if route not in self._reply_routes:
            self._reply_routes.add(route)
            self.options.broker.subscribe(reply_topic(route), self._on_reply)
        self._publish(route, payload, options)

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        self._publish(route, payload, options)


IN_MEMORY = TransportImplementation(InMemoryServer, InMemoryClient)
"""``Transport.IN_MEMORY`` (the ``in_memory`` entry point of ``nestpy.transports``)."""
