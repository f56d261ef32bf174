"""``MqttConnection``: the one owner of a paho client, run on the asyncio loop.

ServerMqtt and ClientMqtt build on this class. It connects with exponential backoff, reconnects
after a drop and restores subscriptions, turns SUBACK/UNSUBACK/PUBACK into awaitables, reports
``MqttStatus`` changes, and maps paho's return codes to ``nestpy_mqtt.errors``.

Threading: everything runs on the event loop thread except the blocking TCP/TLS/WebSocket
handshake of each connection attempt, which runs in the default executor. Incoming messages
reach ``on_message`` synchronously on the loop thread, straight from paho's read; publishes
made there are flushed together right after the read. Call every method from the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from nestpy_mqtt._acks import PublishTracker, Subscription, SubscriptionTracker
from nestpy_mqtt._loop_bridge import LoopBridge
from nestpy_mqtt._paho_client import build_client, reconnect
from nestpy_mqtt._paho_compat import (
    PahoInternals,
    invalid_topic,
    pack_properties,
    raw_topic,
    send_ack,
)
from nestpy_mqtt._reconnect import EVENTS, DropCause, Refused, Supervisor, drop_cause
from nestpy_mqtt._write_gate import WriteGate
from nestpy_mqtt.ack import AckQueue
from nestpy_mqtt.errors import (
    MqttConnectionError,
    MqttConnectionLostError,
    MqttNotInitializedError,
    MqttPublishError,
)
from nestpy_mqtt.message import MqttMessage
from nestpy_mqtt.options import MqttOptions, new_client_id, redact_url
from nestpy_mqtt.properties import PublishPropertiesFactory
from nestpy_mqtt.status import StatusStream

__all__ = ["EVENTS", "NOT_INITIALIZED", "MqttConnection"]

logger = logging.getLogger("nestpy.mqtt.connection")
paho_logger = logging.getLogger("nestpy.mqtt.paho")
"""paho's own log lines (callback errors at ERROR, packets at DEBUG)."""

NOT_INITIALIZED = 'Not initialized. Please call the "connect" method first.'


_BINARY = (bytes, bytearray)


def _subscribe_options(s: Subscription) -> SubscribeOptions:
    return SubscribeOptions(s.qos, s.no_local, s.retain_as_published, s.retain_handling)


class MqttConnection:
    """One MQTT connection, driven by the running asyncio loop.

    Example::

        conn = MqttConnection(MqttOptions(url=url), on_message=lambda msg: print(msg.topic))
        await conn.connect()
        await conn.subscribe("sensors/#", qos=1)
        conn.publish("sensors/1", b"21.5")
        await conn.close()
    """

    def __init__(
        self,
        options: MqttOptions,
        *,
        on_message: Callable[[MqttMessage], None],
        name: str = "client",
        manual_ack: bool = False,
    ) -> None:
        self.options = options
        self.name = name
        self.client_id = options.client_id or new_client_id()
        self.url = redact_url(options.url)  # options.url holds no user-info once validated
        self._supervisor = sup = Supervisor(options, self.url, self.client_id, name)
        self.status: StatusStream = sup.status
        """``connected``, ``disconnected``, ``reconnecting``, ``closed``; replays the latest."""
        self.properties = PublishPropertiesFactory(
            options.protocol_version, options.user_properties
        )
        """Builds PUBLISH properties with the client-wide user properties merged in."""
        self.on_connection_lost: list[Callable[[MqttConnectionLostError], None]] = (
            sup.on_connection_lost
        )
        """Called with the error when an established connection drops (not on ``close()``)."""
        self.on_reconnected: list[Callable[[], None]] = sup.on_reconnected
        """Called after a reconnect succeeds (subscriptions are being restored)."""
        self._on_message = on_message
        self._manual_ack = manual_ack
        self.acks: AckQueue | None = None
        """With ``manual_ack=True``: received QoS 1/2 messages are acknowledged through this
        queue (``acks.receive(mid, qos)`` inside ``on_message``, then ``release()``)."""
        self._client: mqtt.Client | None = None
        self._bridge: LoopBridge | None = None
        self._subs: SubscriptionTracker | None = None
        self._pubs = PublishTracker(self.url, self.client_id)
        self._connect_task: asyncio.Task[None] | None = None
        self._initial_attempt = False  # whether _connect_task is connect()'s, not a reconnect
        self._connect_waiters = 0
        self._connack: asyncio.Future[bool] | None = None
        self._drop_cause: DropCause = None  # how the last socket ended (FIN, RST, by us)
        self._connected = self._closing = False
        self._connected_event = asyncio.Event()
        self._close_lock = asyncio.Lock()
        self._write_gate = WriteGate(options.max_write_buffer_bytes)

    # public API -------------------------------------------------------------------------------
    @property
    def is_connected(self) -> bool:
        """Whether the broker has accepted the connection and it is up."""
        return self._connected

    @property
    def subscriptions(self) -> dict[str, Subscription]:
        """The acknowledged subscriptions, by topic filter."""
        return dict(self._subs.active) if self._subs is not None else {}

    def unwrap(self) -> mqtt.Client:
        """Return the paho client; raises before ``connect()`` (Nest's message)."""
        if self._client is None:
            raise MqttNotInitializedError(NOT_INITIALIZED)
        return self._client

    def on(self, event: str, callback: Callable[..., Any]) -> None:
        """Listen to a connection event.

        ``connect(session_present)``, ``disconnect(reason)``, ``reconnect()``, ``close()``,
        ``end()`` (after ``close``), ``offline()``, ``error(exception)``,
        ``message(paho_message)``. Nest's (mqtt.js's) ``packetsend`` and ``packetreceive`` are
        accepted but never emitted.
        """
        self._supervisor.events.on(event, callback)

    async def connect(self) -> None:
        """Connect, retrying with exponential backoff; return at the first CONNACK.

        Idempotent: concurrent and later calls share one attempt. Raises
        ``MqttConnectionError`` when ``connect_timeout`` elapses or the broker refuses the
        credentials or the client id, and ``MqttConnectionLostError`` if ``close()`` interrupts.
        """
        if self._connected:
            return
        loop = asyncio.get_running_loop()
        if self._client is None:
            self._create_client(loop)
        task = self._connect_task
        if task is None or task.done():
            connecting = self._supervisor.connect(self._attempt, initial=True)
            task = self._connect_task = loop.create_task(connecting)
            self._initial_attempt = True
        self._connect_waiters += 1
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                if self._connect_waiters == 1 and not self._connected and self._initial_attempt:
                    # The last caller gave up on the first connection: stop retrying. A
                    # reconnect after a drop belongs to the connection and goes on.
                    task.cancel()
                raise
            msg = "The connection was closed while connecting"
            raise MqttConnectionLostError(msg, url=self.url, client_id=self.client_id) from None
        finally:
            self._connect_waiters -= 1

    async def subscribe(
        self,
        topic: str,
        qos: int = 0,
        *,
        no_local: bool = False,
        retain_as_published: bool = False,
        retain_handling: int = 0,
    ) -> int:
        """Subscribe and wait for the SUBACK; return the granted QoS.

        Raises ``MqttSubscribeError`` when the broker refuses. Waits for a reconnect when the
        link is down. The subscription is restored after a reconnect if the broker did not
        keep the session. The MQTT 5 flags are ignored with MQTT 3.1.1.
        """
        sub = Subscription(topic, qos, no_local, retain_as_published, retain_handling)
        return await self._tracker().subscribe(sub)

    async def unsubscribe(self, topic: str) -> None:
        """Unsubscribe and wait for the UNSUBACK; the topic is no longer restored."""
        await self._tracker().unsubscribe(topic)

    def publish(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> asyncio.Future[None] | None:
        """Queue a message; it is written in this loop iteration's flush. Never blocks.

        QoS 0 returns ``None`` (raises ``MqttPublishError`` while the link is down). QoS 1 and
        2 return a future completed by PUBACK/PUBCOMP; it survives a reconnect (paho resends)
        and fails with ``MqttPublishError`` on an MQTT 5 refusal or ``MqttConnectionLostError``
        on ``close()``. ``properties``: see ``self.properties.build()``.
        """
        if qos == 0 and self._connected and (bridge := self._bridge) is not None:
            # MQTT 3.1.1: paho ignores properties, and so does the bridge
            packed = b"" if properties is None or not bridge.mqtt5 else pack_properties(properties)
            if (
                packed is not None
                and type(payload) in _BINARY
                and bridge.send_publish(topic, payload, retain, packed)
            ):
                return None  # the bridge wrote the packet itself (buffered, nothing queued)
        client = self._client
        if client is None:
            raise MqttPublishError(topic, NOT_INITIALIZED, url=self.url, client_id=self.client_id)
        info = client.publish(topic, payload, qos, retain, properties)
        rc = info.rc
        if qos == 0:
            if rc:
                raise self._publish_error(topic, rc)
            return None
        if rc and rc != MQTTErrorCode.MQTT_ERR_NO_CONN:  # NO_CONN: queued, sent on reconnect
            raise self._publish_error(topic, rc)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pubs.track(client, future, info.mid, topic)
        return future

    @property
    def write_blocked(self) -> bool:
        """Whether a publisher should ``await wait_writable()`` first: more than
        ``max_write_buffer_bytes`` wait to be written, or others wait already (order kept)."""
        bridge = self._bridge  # inline WriteGate.blocked: on every emit() and send()
        return bridge is not None and (bridge.write_full or self._write_gate.waiters > 0)

    async def wait_writable(self) -> None:
        """Wait until the write buffer has drained to half of ``max_write_buffer_bytes``.

        Returns at once when it is below the limit; the link going down also ends the wait
        (the publish then fails or is queued by paho as usual).
        """
        await self._write_gate.wait(self._bridge)

    async def publish_and_wait(
        self,
        topic: str,
        payload: bytes,
        qos: int = 0,
        retain: bool = False,
        properties: Properties | None = None,
    ) -> None:
        """Publish and, for QoS 1 and 2, wait for the broker's acknowledgement."""
        future = self.publish(topic, payload, qos, retain, properties)
        if future is not None:
            await future

    async def close(self) -> None:
        """Send DISCONNECT and release the socket; status becomes ``closed``. Idempotent."""
        async with self._close_lock:
            if self._client is None:
                return
            self._closing = True
            try:
                await self._shutdown(self._client)
            finally:
                self._client = self._bridge = self._subs = None
                self._connected = self._closing = False
                self._connected_event.set()  # wake subscribe() waiters: they see it is closed
            self._supervisor.closed()

    # SubscriptionTracker's view of the connection ---------------------------------------------
    def owns(self, tracker: SubscriptionTracker) -> bool:
        """Whether ``tracker`` belongs to the current, open client."""
        return tracker is self._subs and not self._closing

    async def wait_connected(self) -> None:
        """Wait until connected, or until ``close()`` (callers re-check the state)."""
        await self._connected_event.wait()

    def report_error(self, error: BaseException) -> None:
        """Record an error no caller receives, log it and emit it as ``error``."""
        self._supervisor.report(error)

    @property
    def last_error(self) -> BaseException | None:
        """The latest connection error (also the ones emitted as ``error`` events)."""
        return self._supervisor.last_error

    # internals ---------------------------------------------------------------------------------
    def _tracker(self) -> SubscriptionTracker:
        if self._subs is None:
            msg = "Not connected: call connect() before subscribing"
            raise MqttConnectionError(msg, url=self.url, client_id=self.client_id)
        return self._subs

    def _publish_error(self, topic: str, rc: int) -> MqttPublishError:
        reason = mqtt.error_string(rc)
        if rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            reason = "not connected (the link is down; QoS 0 messages are not queued)"
        return MqttPublishError(topic, reason, url=self.url, client_id=self.client_id)

    def _create_client(self, loop: asyncio.AbstractEventLoop) -> None:
        client = build_client(self.options, self.client_id, manual_ack=self._manual_ack)
        if self._manual_ack:
            self.acks = AckQueue(lambda mid, qos: self._send_ack(client, mid, qos), loop)
        mqtt5 = self.options.protocol_version == 5
        internals = PahoInternals.check(client) if self.options.fast_path else None
        bridge = LoopBridge(loop, client, internals=internals, mqtt5=mqtt5)
        bridge.attach(client)
        self._write_gate.attach(bridge)
        # A failing callback (e.g. one added with unwrap().message_callback_add) is logged by
        # paho and the read goes on: raised out of paho's read, it would leave paho's packet
        # state behind, and the packets read after it would wait (or the same one come again).
        client.suppress_exceptions = True
        client.enable_logger(paho_logger)
        close_socket = bridge.on_socket_close

        def on_socket_close(c: Any, userdata: Any, sock: Any) -> None:
            self._drop_cause = drop_cause(sock)  # before the socket is closed
            close_socket(c, userdata, sock)

        client.on_socket_close = on_socket_close
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = on_message = self._handle_message
        if internals is not None:
            bridge.on_publish = internals.fast_delivery(on_message, mqtt5)
        subs = SubscriptionTracker(self, loop, self._send_subscribe, self._send_unsubscribe)
        client.on_subscribe = subs.handle_suback
        client.on_unsubscribe = subs.handle_unsuback
        self._client, self._bridge, self._subs = client, bridge, subs
        self._connected_event.clear()

    async def _shutdown(self, client: mqtt.Client) -> None:
        if self._connect_task is not None and not self._connect_task.done():
            self._connect_task.cancel()
            with contextlib.suppress(BaseException):
                await self._connect_task
        if self._bridge is not None:
            await self._bridge.disconnect(client)
        lost = MqttConnectionLostError(
            "The connection was closed", url=self.url, client_id=self.client_id
        )
        self._pubs.fail_all(lost)
        if self._subs is not None:
            self._subs.fail_pending(lost)

    def _send_ack(self, client: mqtt.Client, mid: int, qos: int) -> None:
        if client is self._client and self._connected:
            send_ack(client, mid, qos)

    def _send_subscribe(self, subs: Sequence[Subscription]) -> tuple[int, int | None]:
        client = self._client
        if client is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN, None
        if self.options.protocol_version == 4:
            return client.subscribe([(s.topic, s.qos) for s in subs])
        return client.subscribe([(s.topic, _subscribe_options(s)) for s in subs])

    def _send_unsubscribe(self, topic: str) -> tuple[int, int | None]:
        if self._client is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN, None
        return self._client.unsubscribe(topic)

    async def _attempt(self) -> None:
        client, bridge = self._client, self._bridge
        if client is None or bridge is None:
            raise MqttNotInitializedError(NOT_INITIALIZED)
        self._connack = connack = bridge.loop.create_future()
        try:
            await bridge.run_blocking(lambda: reconnect(client))  # blocking: in a thread
            try:
                async with asyncio.timeout(self.options.handshake_timeout):
                    await connack
            except TimeoutError:
                bridge.force_close(client)
                msg = f"no CONNACK within {self.options.handshake_timeout:g} s"
                raise MqttConnectionError(msg, url=self.url, client_id=self.client_id) from None
        finally:
            self._connack = None
            connack.cancel()  # a late result must not be logged as never retrieved

    # paho callbacks (loop thread) -------------------------------------------------------------
    def _handle_message(self, _client: Any, _userdata: Any, message: MqttMessage) -> None:
        bridge = self._bridge
        if bridge is not None:
            bridge.messages += 1
        try:
            self._on_message(message)
        except Exception as exc:
            # Never let an error escape into paho's read: the packets read behind this one
            # would wait for the next socket event (and paho would deliver this one again).
            bad = invalid_topic(message) if isinstance(exc, UnicodeDecodeError) else None
            if bad is not None:
                logger.warning(
                    "%s: dropped a message whose topic is not valid UTF-8: %r", self.name, bad
                )
            else:
                logger.exception(
                    "%s: message handler failed (topic %r)", self.name, raw_topic(message)
                )
        if (events := self._supervisor.events).has("message"):
            events.emit("message", message)

    def _handle_connect(
        self, client: Any, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if client is not self._client:
            return
        connack = self._connack
        if reason.is_failure:
            if connack is not None and not connack.done():
                connack.set_exception(Refused(reason))
            return
        self._connected = True
        self._connected_event.set()
        if connack is not None and not connack.done():
            connack.set_result(flags.session_present)
        if self._subs is not None and not flags.session_present:
            self._subs.restore()
        self._supervisor.connected(flags.session_present)

    def _handle_disconnect(
        self, client: Any, _u: Any, flags: Any, reason: ReasonCode, _p: Any
    ) -> None:
        if client is not self._client:
            return
        was_connected, self._connected = self._connected, False
        self._connected_event.clear()
        if self.acks is not None:
            self.acks.reset()  # the broker sends these messages again, with their packet ids
        if self._subs is not None:
            self._subs.connection_dropped()
        connack = self._connack
        if connack is not None and not connack.done():
            msg = f"The broker closed the connection before CONNACK: {reason}"
            connack.set_exception(MqttConnectionError(msg, url=self.url, client_id=self.client_id))
        if self._closing or not was_connected:
            return
        self._supervisor.dropped(reason, flags.is_disconnect_packet_from_server, self._drop_cause)
        reconnecting = self._supervisor.connect(self._attempt, initial=False)
        self._connect_task = asyncio.get_running_loop().create_task(reconnecting)
        self._initial_attempt = False
