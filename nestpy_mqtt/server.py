"""``ServerMqtt``: a microservice server on MQTT, speaking NestJS's wire format."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nestpy.microservices.codec import encode_json
from nestpy.microservices.patterns import route_from_channel
from nestpy.microservices.serializers import payload_bytes
from nestpy.microservices.server import DoneFn, HandlerEntry, Outcome, Server
from nestpy.microservices.transports import Transport
from nestpy_mqtt.ack import AckPolicy, PendingAck
from nestpy_mqtt.connection import MqttConnection
from nestpy_mqtt.context import MqttContext
from nestpy_mqtt.errors import MqttNotInitializedError, MqttPublishError
from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.properties import ERROR_PROPERTY, PublishPropertiesFactory
from nestpy_mqtt.status import StatusStream
from nestpy_mqtt.topics import HandlerMatcher, reply_topic, shared_subscription

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

    from nestpy_mqtt.message import MqttMessage

logger = logging.getLogger("nestpy.mqtt.server")

_MAX_CACHED_REPLIES = 1024
NOT_INITIALIZED = 'Not initialized. Please call the "listen" method before accessing the server.'
"""Nest's message, with nestpy's method name (Nest adds ``"/"startAllMicroservices"``)."""


class ServerMqtt(Server):
    """Subscribes every handler pattern (with its QoS) and answers on ``<topic>/reply``.

    ``max_concurrency`` bounds the handler calls running at once (a flood queues instead of
    exhausting memory); ``drain_timeout`` bounds how long ``close()`` waits for in-flight
    handlers to finish and reply before disconnecting; ``handler_timeout`` is the default
    time a handler may take to reply; ``max_payload_bytes`` drops larger messages unparsed;
    ``max_backlog`` bounds the messages waiting for a ``max_concurrency`` slot (beyond it a
    request gets a "Service overloaded" error reply, an event is dropped and logged).
    QoS 1/2 messages are acknowledged as ``options.ack_policy`` (or the pattern's
    ``ack_policy=``) says: by default once the handler has finished (``AckPolicy``).
    """

    transport_id = Transport.MQTT

    def __init__(
        self,
        options: MqttOptions | None = None,
        *,
        max_concurrency: int | None = None,
        drain_timeout: float = 10.0,
        handler_timeout: float | None = None,
        max_payload_bytes: int | None = None,
        max_backlog: int | None = None,
    ) -> None:
        self.options = options or MqttOptions()
        super().__init__(
            max_concurrency=max_concurrency,
            handler_timeout=handler_timeout,
            max_payload_bytes=max_payload_bytes,
            max_backlog=max_backlog,
        )
        self.drain_timeout = drain_timeout
        self._matcher = HandlerMatcher()
        self._ack_policies: dict[str, AckPolicy] = {}
        self._reply_qos: dict[str, int] = {}  # routes whose replies are not QoS 0
        self.deserializer = self.options.deserializer
        self._serializer = self.options.serializer
        self._response_topics = self.options.protocol_version == 5 and (
            self.options.use_response_topic
        )
        self._properties = PublishPropertiesFactory(
            self.options.protocol_version, self.options.user_properties
        )
        self._requests = itertools.count(1)
        self._replies: dict[str, Callable[[bytes], None]] = {}
        """QoS 0 repliers by topic (``_reply_to``), made once per topic (bounded)."""
        self._connection = MqttConnection(
            self.options, on_message=self._on_message, name="server", manual_ack=True
        )

    @property
    def status(self) -> StatusStream:
        """The connection status: ``connected``, ``disconnected``, ``reconnecting``, ``closed``."""
        return self._connection.status

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Attach a listener to a connection event (``connect``, ``error``, ...)."""
        self._connection.on(event, callback)

    def unwrap(self) -> mqtt.Client:
        """The underlying paho client (after ``listen()``)."""
        try:
            return self._connection.unwrap()
        except MqttNotInitializedError:
            raise MqttNotInitializedError(NOT_INITIALIZED) from None

    def match_route(self, route: str) -> str | None:
        """An exact key wins, else the first wildcard or ``$share`` key that matches (Nest)."""
        if route in self._entries:
            return route
        return self._matcher.match(route)

    def subscription_topic(self, route: str) -> str:
        """The topic filter subscribed for a handler route (with the shared group, if any)."""
        group = self.options.shared_group
        return shared_subscription(group, route) if group else route

    async def listen(self) -> None:
        """Connect and subscribe every handler route; returns once all subscriptions are granted."""
        self._matcher = HandlerMatcher(self.handlers)
        self._ack_policies = {
            route: self._policy_of(entry) for route, entry in self.handlers.items()
        }
        self._reply_qos = {
            route: entry.extras["reply_qos"]
            for route, entry in self.handlers.items()
            if not isinstance(entry, list) and entry.extras.get("reply_qos")
        }
        await self._connection.connect()
        defaults = self.options.subscribe_options
        for route, entry in self.handlers.items():
            first = entry[0] if isinstance(entry, list) else entry
            qos = first.extras.get("qos", defaults.qos)
            await self._connection.subscribe(
                self.subscription_topic(route),
                qos,
                no_local=defaults.no_local,
                retain_as_published=defaults.retain_as_published,
                retain_handling=defaults.retain_handling,
            )
            logger.info("Mapped {%s} (QoS %d)", self.subscription_topic(route), qos)

    def _policy_of(self, entry: HandlerEntry) -> AckPolicy:
        first = entry[0] if isinstance(entry, list) else entry
        value = first.extras.get("ack_policy")
        if value is None:
            return self.options.ack_policy
        try:
            return AckPolicy(value)
        except ValueError:
            choices = ", ".join(f"AckPolicy.{p.name}" for p in AckPolicy)
            msg = (
                f"{first.method_name}: ack_policy={value!r} is not an acknowledgement policy; "
                f"use one of {choices} (from nestpy_mqtt)"
            )
            raise ValueError(msg) from None

    def _on_message(self, message: MqttMessage) -> None:
        if message.qos and (acks := self._connection.acks) is not None:
            ack = acks.receive(message.mid, message.qos)
            try:
                self._on_acked_message(message, ack)
            except BaseException:
                ack.release()  # never hold back the acknowledgements behind this one
                raise
            return
        topic = message.topic
        qos = 0
        if self._reply_qos:
            key = self.match_route(route_from_channel(topic))
            qos = self._reply_qos.get(key, 0) if key is not None else 0
        if self._response_topics:
            replier = self._replier(topic, message, qos)
            if replier is not None:
                reply, request_id = replier
                self.handle_packet(
                    topic,
                    message.payload,
                    MqttContext(topic, message),
                    reply,
                    request_id=request_id,
                )
            return
        self.handle_packet(
            topic, message.payload, MqttContext(topic, message), self._reply_for(topic, qos)
        )

    def _on_acked_message(self, message: MqttMessage, ack: PendingAck) -> None:
        topic = message.topic
        key = self.match_route(route_from_channel(topic))
        policy = self.options.ack_policy if key is None else self._ack_policies.get(key)
        done: DoneFn | None = ack.done
        context_ack: PendingAck | None = None
        if policy is AckPolicy.ON_RECEIPT:
            ack.release()
            done = None
        elif policy is AckPolicy.MANUAL:
            context_ack = ack
            done = self._manual_done(ack, topic)
        expires_in: float | None = None
        if self.options.protocol_version == 5:
            expiry = getattr(message.properties, "MessageExpiryInterval", None)
            if expiry is not None:
                expires_in = float(expiry)
        qos = self._reply_qos.get(key, 0) if key is not None else 0
        reply, request_id = self._reply_for(topic, qos), None
        if self._response_topics:
            replier = self._replier(topic, message, qos)
            if replier is None:
                if done is not None:
                    done(Outcome.SKIPPED)
                return
            reply, request_id = replier
        self.handle_packet(
            topic,
            message.payload,
            MqttContext(topic, message, context_ack),
            reply,
            done,
            expires_in=expires_in,
            request_id=request_id,
        )

    def _replier(
        self, topic: str, message: MqttMessage, qos: int
    ) -> tuple[Callable[[bytes], None], str | None] | None:
        """Where a message's replies go: its MQTT 5 Response Topic when it has one (with a
        request id for a bare payload), else ``<topic>/reply``; None to drop the message."""
        props = getattr(message, "properties", None)
        response_topic = getattr(props, "ResponseTopic", None) if props is not None else None
        if response_topic is None:
            return self._reply_for(topic, qos), None
        if not _is_topic_name(response_topic):
            logger.warning(
                "Dropped a message on %r: its Response Topic %r is not a topic name "
                "(empty, or with a wildcard)",
                topic,
                response_topic,
            )
            return None
        correlation = getattr(props, "CorrelationData", None)
        request_id = f"mqtt5-request-{next(self._requests)}"
        return self._answer_on(response_topic, correlation, request_id, qos), request_id

    @staticmethod
    def _manual_done(ack: PendingAck, topic: str) -> DoneFn:
        def done(outcome: Outcome) -> None:
            if outcome is Outcome.SKIPPED:
                ack.release()  # no handler ran, so none will call ctx.ack()
            elif outcome and not ack.released:
                logger.warning(
                    "The handler of a message on %r (packet id %d) finished under "
                    "AckPolicy.MANUAL without calling ctx.ack(): until it does, the "
                    "acknowledgements of every later message wait",
                    topic,
                    ack.mid,
                )

        return done

    def _reply_for(self, topic: str, qos: int) -> Callable[[bytes], None]:
        """``_reply_to(topic, qos)``; for QoS 0 made once per topic (1,024 topics kept at most)."""
        if qos:
            return self._reply_to(topic, qos)
        reply = self._replies.get(topic)
        if reply is None:
            if len(self._replies) >= _MAX_CACHED_REPLIES:
                self._replies.clear()
            reply = self._replies[topic] = self._reply_to(topic)
        return reply

    def _reply_to(self, topic: str, qos: int = 0) -> Callable[[bytes], None]:
        # Made once per topic for QoS 0 (``_replies``): what it calls is looked up per reply.
        connection = self._connection
        reply_to = reply_topic(topic)
        if qos:

            def reply_qos(payload: bytes) -> None:
                try:
                    sent = connection.publish(reply_to, payload, qos)
                except MqttPublishError as exc:
                    logger.warning("A reply was lost: %s", exc)
                    return
                if sent is not None:
                    sent.add_done_callback(_log_lost_reply)

            return reply_qos

        if self._serializer is not None:

            def reply_serialized(payload: bytes) -> None:
                try:
                    connection.publish(reply_to, self._serialized(payload, reply_to), qos)
                except MqttPublishError as exc:
                    logger.warning("A reply was lost: %s", exc)

            return reply_serialized

        def reply(payload: bytes) -> None:
            # A reply ready while the link is down is lost (QoS 0 is not queued): say so once,
            # instead of failing the handler's task and replying again with an error.
            try:
                connection.publish(reply_to, payload)
            except MqttPublishError as exc:
                logger.warning("A reply was lost: %s", exc)

        return reply

    def _serialized(self, packet: bytes, channel: str) -> bytes:
        """A Nest reply packet rewritten by ``options.serializer``."""
        value = json.loads(packet)
        return payload_bytes(self._serializer.serialize(value, {"channel": channel}))

    def _answer_on(
        self, response_topic: str, correlation: bytes | None, request_id: str, qos: int
    ) -> Callable[[bytes], None]:
        """Replies on an MQTT 5 Response Topic, with the request's Correlation Data. A bare
        request (``request_id`` in the packet) gets the bare JSON value; an error is flagged
        with the user property ``error: true``. A Nest request gets Nest's reply packets."""
        publish = self._connection.publish
        base: dict[str, Any] = {}
        if correlation is not None:
            base["correlation_data"] = correlation
        plain = self._properties.build(base)
        failed = self._properties.build({**base, "user_properties": {ERROR_PROPERTY: "true"}})
        answered = False

        def reply(payload: bytes) -> None:
            nonlocal answered
            properties = plain
            try:
                value = json.loads(payload)
            except ValueError:
                value = None
            if isinstance(value, dict) and value.get("id") == request_id:
                if "err" in value:
                    body, properties = value["err"], failed
                elif "response" in value:
                    body = value["response"]
                elif answered:
                    return  # the end of a stream whose values went out already
                else:
                    body = None
                answered = True
                payload = encode_json(body).encode("utf-8", "surrogatepass")
            elif self._serializer is not None:
                payload = self._serialized(payload, response_topic)
            try:
                sent = publish(response_topic, payload, qos, properties=properties)
            except MqttPublishError as exc:
                logger.warning("A reply was lost: %s", exc)
                return
            if sent is not None:
                sent.add_done_callback(_log_lost_reply)

        return reply

    async def close(self) -> None:
        """Stop taking messages, let in-flight handlers reply (``drain_timeout``), disconnect.

        With a clean session the handler topics are unsubscribed first, so that the broker
        stops delivering here (in a shared group, the other instances take the messages);
        a persistent session keeps its subscriptions, to queue messages for the next start.
        """
        if self.options.clean_session and self._connection.is_connected:
            await self._unsubscribe_all(min(self.drain_timeout, 5.0))
        self.stop_accepting()
        await self.drain(self.drain_timeout)
        await self._connection.close()

    async def _unsubscribe_all(self, timeout: float) -> None:
        topics = [self.subscription_topic(route) for route in self.handlers]
        try:
            async with asyncio.timeout(timeout):
                await asyncio.gather(*(self._connection.unsubscribe(t) for t in topics))
        except Exception as exc:  # the broker is gone or slow: close anyway
            logger.warning("Shutdown: could not unsubscribe the handler topics: %r", exc)


def _log_lost_reply(sent: asyncio.Future[None]) -> None:
    """A QoS 1/2 reply the broker refused, or lost at ``close()``: logged, not raised."""
    if not sent.cancelled() and (exc := sent.exception()) is not None:
        logger.warning("A reply was lost: %s", exc)


def _is_topic_name(topic: Any) -> bool:
    """A topic one may publish on: a non-empty string without wildcards or NUL."""
    return isinstance(topic, str) and bool(topic) and not any(c in topic for c in "+#\0")
