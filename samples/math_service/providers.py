"""Providers of the math service: a singleton calculator, a user directory filled by events,
and a request-scoped provider that sees the message being handled."""

from __future__ import annotations

import itertools
import logging
from typing import Annotated, Any

from nestpy import Inject, Injectable, Scope
from nestpy.microservices import CONTEXT, RequestContext
from nestpy_mqtt import MqttContext
from samples.math_service.schemas import User


@Injectable()
class Calculator:
    """Plain arithmetic, injected into the controller (one instance for the application)."""

    def add(self, numbers: list[int]) -> int:
        return sum(numbers)

    def to_celsius(self, value: float, unit: str) -> float:
        if unit == "f":
            return round((value - 32) * 5 / 9, 2)
        if unit == "k":
            return round(value - 273.15, 2)
        return value


logger = logging.getLogger("samples.math_service")


@Injectable()
class UserDirectory:
    """Users announced by ``user_created`` events (one instance for the application)."""

    def __init__(self) -> None:
        self.users: list[User] = []

    def add(self, user: User) -> None:
        self.users.append(user)

    def names(self) -> list[str]:
        return [user.name for user in self.users]

    def on_application_shutdown(self, signal: str | None = None) -> None:
        """Lifecycle hook: runs once the server has stopped, with the signal's name."""
        logger.info("Math service stopped (%s); %d user(s) seen", signal, len(self.users))


@Injectable(scope=Scope.REQUEST)
class RequestInfo:
    """A new instance for every message: it is given the message through ``CONTEXT``."""

    _instances = itertools.count(1)

    def __init__(self, request: Annotated[RequestContext, Inject(CONTEXT)]) -> None:
        self.instance = next(RequestInfo._instances)
        self.request = request

    def describe(self) -> dict[str, Any]:
        context = self.request.context
        return {
            "instance": self.instance,
            "pattern": self.request.pattern,
            "topic": context.get_topic() if isinstance(context, MqttContext) else None,
        }
