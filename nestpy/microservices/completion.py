"""How a received message's handling ends: ``Outcome``, the ``done`` callback a transport
passes to ``Server.handle_packet`` (acknowledgements), and the job that carries it through
the backlog."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from enum import IntEnum
from typing import Any

from nestpy.microservices.codec import IncomingRequest

__all__ = ["DoneFn", "Job", "Outcome", "ReplyFn", "answer", "finish", "split_done"]

logger = logging.getLogger("nestpy.microservices.server")

ReplyFn = Callable[[bytes], object]
"""Publishes one reply packet to where the request came from."""


class Outcome(IntEnum):
    """How a message's handling ended (what ``done`` receives); false only for NOT_TAKEN."""

    NOT_TAKEN = 0
    """The server shut down before a handler finished it: a transport with acknowledgements
    leaves it unacknowledged, for redelivery."""
    HANDLED = 1
    """A handler ran: it returned, raised (the caller got the error) or timed out."""
    SKIPPED = 2
    """Over without a handler running: dropped (invalid, too large, expired), shed
    (``max_backlog``), no handler for it, or its time ran out in the backlog."""


DoneFn = Callable[[Outcome], object]
"""Called exactly once when a message's handling is over, with its ``Outcome``."""


def split_done(done: DoneFn | None, parts: int) -> DoneFn | None:
    """A ``done`` for each of ``parts`` jobs of one message: ``done`` runs after the last."""
    if done is None or parts == 1:
        return done
    left = [parts]
    outcomes: set[Outcome] = set()

    def part(outcome: Outcome) -> None:
        left[0] -= 1
        outcomes.add(outcome)
        if left[0] == 0:
            if Outcome.NOT_TAKEN in outcomes:
                done(Outcome.NOT_TAKEN)
            else:
                done(Outcome.HANDLED if Outcome.HANDLED in outcomes else Outcome.SKIPPED)

    return part


def settle_before(settle: Callable[[], object], reply: ReplyFn) -> ReplyFn:
    """``reply`` for the last packet of a request: ``settle()`` runs first, so that a
    transport's acknowledgement leaves in the same write as the reply, ahead of it."""

    def last(message: bytes) -> None:
        settle()
        reply(message)

    return last


def answer(done: DoneFn | None, reply: ReplyFn) -> ReplyFn:
    """``reply`` that reports ``done`` (HANDLED) before sending the last packet of a request."""
    return reply if done is None else settle_before(lambda: finish(done), reply)


def finish(done: DoneFn | None, outcome: Outcome = Outcome.HANDLED) -> None:
    """Call ``done`` with ``outcome`` (if any); a failing callback is logged, never raised."""
    if done is not None:
        try:
            done(outcome)
        except Exception:
            logger.exception("A message's completion callback failed")


class Job:
    """A handler call waiting for (or holding) a concurrency slot."""

    __slots__ = ("done", "expires", "packet", "received", "run")

    def __init__(
        self,
        run: Callable[[Job], Coroutine[Any, Any, Outcome | None]],
        packet: IncomingRequest,
        done: DoneFn | None,
        received: float,
        expires: float | None,
    ) -> None:
        self.run = run
        self.packet = packet
        self.done = done
        self.received = received  # the loop time the message arrived
        self.expires = expires  # loop time after which nobody wants it (MQTT 5 expiry)

    def settle(self, outcome: Outcome = Outcome.HANDLED) -> None:
        """Report the outcome (once; later calls do nothing)."""
        done, self.done = self.done, None
        finish(done, outcome)

    def answer(self, reply: ReplyFn) -> ReplyFn:
        """``reply`` for the last packet of a request, settling the job first."""
        return settle_before(self.settle, reply)
