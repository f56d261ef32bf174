"""An in-memory transport: the MQTT transport's behaviour with no broker, for unit tests.

It uses the same codec, the same topic matcher (``+``, ``#``, ``$share/<group>/``) and the same
server and client bases as the MQTT transport, so a controller tested here behaves the same
over Mosquitto. Messages are delivered on the next turn of the event loop, as over a network.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from nestpy.microservices.client_proxy import ClientProxy
from nestpy.microservices.context import BaseRpcContext
from nestpy.microservices.exceptions import ConnectionLostError
from nestpy.microservices.server import Server
from nestpy.microservices.topics import (
    HandlerMatcher,
    match_mqtt_pattern,
    remove_shared_prefix,
    reply_topic,
    shared_subscription,
)
from nestpy.microservices.transports import Transport

Deliver = Callable[[str, bytes], None]


class InMemoryBroker:
    """Routes published messages to matching subscriptions; one message per shared group."""

    _default: ClassVar[InMemoryBroker | None] = None

    def __init__(self) -> None:
        self._subscriptions: list[tuple[str, str | None, Deliver]] = []
        self._turns = itertools.count()
        self.published: deque[tuple[str, bytes]] = deque(maxlen=10_000)
        """The last messages published, for tests that check what went over the wire."""

    @classmethod
    def default(cls) -> InMemoryBroker:
        """The process-wide broker used when no broker is given."""
        if cls._default is None:
            cls._default = cls()
        return cls._default

    def subscribe(self, topic_filter: str, deliver: Deliver) -> None:
        """Deliver messages matching ``topic_filter`` (``$share/<group>/...`` allowed)."""
        group = topic_filter.split("/")[1] if topic_filter.startswith("$share/") else None
        self._subscriptions.append((remove_shared_prefix(topic_filter), group, deliver))

    def unsubscribe_all(self, deliver: Deliver) -> None:
        """Remove every subscription of ``deliver``."""
        # Bound methods are equal, never identical, so compare with ==.
        self._subscriptions = [s for s in self._subscriptions if s[2] != deliver]

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue ``payload`` for every matching subscriber (one member of each shared group)."""
        self.published.append((topic, payload))
        groups: dict[str, list[Deliver]] = {}
        loop = asyncio.get_running_loop()
        for topic_filter, group, deliver in self._subscriptions:
            if not match_mqtt_pattern(topic_filter, topic):
                continue
            if group is None:
                loop.call_soon(deliver, topic, payload)
            else:
                groups.setdefault(group, []).append(deliver)
        turn = next(self._turns)
        for members in groups.values():
            loop.call_soon(members[turn % len(members)], topic, payload)


class InMemoryContext(BaseRpcContext):
    """The context of an in-memory message: ``get_topic()`` like ``MqttContext``."""

    __slots__ = ()

    def get_topic(self) -> str:
        """The topic the message was published on."""
        return str(self.args[0])


@dataclass
class InMemoryOptions:
    """Options of the in-memory transport; all servers and clients share one broker by default."""

    broker: InMemoryBroker = field(default_factory=InMemoryBroker.default)
    shared_group: str | None = None
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
        self._matcher = HandlerMatcher()

    def match_route(self, route: str) -> str | None:
        """Exact routes first, then wildcards and shared keys, as the MQTT server does."""
        if route in self.handlers:
            return route
        if len(self._matcher) != len(self.handlers):
            self._matcher = HandlerMatcher(self.handlers)
        return self._matcher.match(route)

    async def listen(self) -> None:
        """Subscribe every handler route on the broker."""
        group = self.options.shared_group
        for route in self.handlers:
            self.options.broker.subscribe(
                shared_subscription(group, route) if group else route, self._deliver
            )

    def _deliver(self, topic: str, payload: bytes) -> None:
        broker = self.options.broker
        self.handle_packet(
            topic,
            payload,
            InMemoryContext(topic),
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

    def _on_reply(self, topic: str, payload: bytes) -> None:
        self.handle_response(payload)

    async def _publish_request(self, route: str, payload: bytes, options: Any) -> None:
        if route not in self._reply_routes:
            self._reply_routes.add(route)
            self.options.broker.subscribe(reply_topic(route), self._on_reply)
        self.options.broker.publish(route, payload)

    async def _dispatch_event(self, route: str, payload: bytes, options: Any) -> None:
        self.options.broker.publish(route, payload)
