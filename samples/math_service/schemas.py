"""Payload models of the math service: pydantic validates every incoming message against them."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Division(BaseModel):
    """The payload of ``divide``."""

    dividend: float
    divisor: float


class Reading(BaseModel):
    """A temperature reading, as sensors publish it on ``sensors/<id>/temperature/<unit>``."""

    value: float


class User(BaseModel):
    """The payload of the ``user_created`` event."""

    id: int
    name: str = Field(min_length=1)
