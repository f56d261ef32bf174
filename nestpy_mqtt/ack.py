"""When a received QoS 1/2 message is acknowledged: ``AckPolicy``, and the ordered release of
PUBACK/PUBREC packets (MQTT 3.1.1 section 4.6, MQTT 5 section 4.6: in the order the PUBLISH
packets arrived).

paho-free: ``AckQueue`` is given a function that sends the acknowledgement of ``(mid, qos)``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable
from enum import StrEnum

__all__ = ["AckPolicy", "AckQueue", "PendingAck"]

logger = logging.getLogger("nestpy.mqtt.server")


class AckPolicy(StrEnum):
    """When the service acknowledges a QoS 1/2 message (PUBACK for QoS 1, PUBREC for QoS 2).

    ``AFTER_HANDLER`` (the default): once its handling is over — the handler returned, raised
    and was answered, timed out, or the message was shed or dropped. A service killed while
    the handler runs gets the message again (DUP set) from its persistent session:
    at-least-once delivery, so handlers must be idempotent.
    ``ON_RECEIPT``: as soon as it arrives (at-most-once across a crash; Nest's behaviour).
    ``MANUAL``: when the handler calls ``ctx.ack()`` (``MqttContext``), during or after its
    run.

    Acknowledgements leave in the order the messages arrived, as MQTT requires: one slow
    handler holds back the acknowledgements of the messages that came after it, and the
    broker sends no more than its in-flight window (Mosquitto: ``max_inflight_messages``,
    20) of unacknowledged messages to this client.
    """

    AFTER_HANDLER = "after_handler"
    ON_RECEIPT = "on_receipt"
    MANUAL = "manual"


SendAck = Callable[[int, int], object]
"""Sends the acknowledgement of packet ``mid`` received with ``qos``."""


class PendingAck:
    """The acknowledgement of one received message; ``release()`` says it may go."""

    __slots__ = ("_queue", "mid", "qos", "released")

    def __init__(self, queue: AckQueue | None, mid: int, qos: int) -> None:
        self._queue = queue
        self.mid = mid
        self.qos = qos
        self.released = False

    def release(self) -> None:
        """Let the acknowledgement go (after those of earlier messages). Idempotent; from
        another thread (a ``run_in_thread`` handler) it is handed to the event loop."""
        queue = self._queue
        if queue is not None and queue.loop is not None and not _on(queue.loop):
            queue.loop.call_soon_threadsafe(self.release)
            return
        if self.released:
            return
        self.released = True
        if queue is not None:
            queue.flush()

    def done(self, outcome: int) -> None:
        """``Server.handle_packet``'s ``done``: release unless the server shut down first
        (``Outcome.NOT_TAKEN``, the only false outcome)."""
        if outcome:
            self.release()

    def forget(self) -> None:
        """The connection this message came on is gone: never send its acknowledgement."""
        self._queue = None


def _on(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


class AckQueue:
    """Sends acknowledgements in arrival order, each once its message is released.

    After a reconnect the broker sends the unacknowledged messages again with their original
    packet ids: ``reset()`` forgets the acknowledgements still pending on the old connection,
    so that a late one cannot acknowledge the new copy before it is handled.
    """

    def __init__(self, send: SendAck, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._send = send
        self.loop = loop
        """The loop ``send`` must run on (releases from other threads are moved there)."""
        self._pending: deque[PendingAck] = deque()

    def __len__(self) -> int:
        return len(self._pending)

    def receive(self, mid: int, qos: int) -> PendingAck:
        """Record a received QoS 1/2 message, in arrival order."""
        ack = PendingAck(self, mid, qos)
        self._pending.append(ack)
        return ack

    def flush(self) -> None:
        """Send every released acknowledgement at the head of the queue."""
        pending = self._pending
        while pending and pending[0].released:
            ack = pending.popleft()
            ack.forget()
            self._send(ack.mid, ack.qos)

    def reset(self) -> None:
        """Forget every pending acknowledgement (the connection dropped)."""
        if self._pending:
            logger.debug("%d acknowledgement(s) dropped with the connection", len(self._pending))
        for ack in self._pending:
            ack.forget()
        self._pending.clear()
