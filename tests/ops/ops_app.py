"""A small service for the operations tests (also run by ``nestpy run --app-dir tests/ops``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from pydantic import BaseModel

from nestpy import Controller, Injectable, Module
from nestpy.microservices import EventPattern, MessagePattern, RpcException
from nestpy.ops import HealthIndicator


class Division(BaseModel):
    dividend: float
    divisor: float


class Quotient(BaseModel):
    value: float


@Injectable()
class Database:
    """A stand-in database the tests can take down."""

    def __init__(self) -> None:
        self.up = True
        self.hang = False
        self.users: list[str] = []

    async def ping(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if not self.up:
            raise ConnectionError("database unreachable")


@Injectable()
class DatabaseHealth(HealthIndicator):
    key = "database"
    timeout = 0.5

    def __init__(self, db: Database) -> None:
        self.db = db

    async def check(self) -> dict[str, object]:
        await self.db.ping()
        return {"users": len(self.db.users)}


@Controller()
class OpsController:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.release = asyncio.Event()

    @MessagePattern("ops/sum")
    def sum(self, numbers: list[int]) -> int:
        """Add the numbers."""
        return sum(numbers)

    @MessagePattern("ops/divide", qos=1)
    async def divide(self, division: Division) -> Quotient:
        if division.divisor == 0:
            raise RpcException("Division by zero")
        return Quotient(value=division.dividend / division.divisor)

    @MessagePattern("ops/slow")
    async def slow(self, seconds: float) -> str:
        await asyncio.wait_for(self.release.wait(), seconds)
        return "done"

    @MessagePattern("ops/count")
    async def count(self, n: int) -> AsyncIterator[int]:
        for i in range(n):
            yield i

    @EventPattern("ops/users/+/created")
    def user_created(self, name: str) -> None:
        self.db.users.append(name)


@Module(controllers=[OpsController], providers=[Database, DatabaseHealth])
class AppModule:
    pass
