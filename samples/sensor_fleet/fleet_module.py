"""One instance of the fleet service: an event handler on ``sensors/+/temperature/+``.

Every instance is the same module with a different name (a dynamic module); started with
``MqttOptions(shared_group="fleet")`` they subscribe ``$share/fleet/sensors/+/temperature/+``
and the broker hands each reading to one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel

from nestpy import Controller, DynamicModule, Inject, Injectable, Module, Provider
from nestpy.microservices import EventPattern
from nestpy_mqtt import MqttContext

INSTANCE_NAME = "INSTANCE_NAME"
TO_CELSIUS = {"c": lambda v: v, "f": lambda v: (v - 32) * 5 / 9, "k": lambda v: v - 273.15}


class Reading(BaseModel):
    """What a sensor publishes: plain JSON (not a Nest packet): ``{"seq": 3, "value": 71.2}``."""

    seq: int
    value: float


@dataclass(frozen=True)
class Handled:
    """One reading, as an instance handled it."""

    seq: int
    sensor: str
    celsius: float


@Injectable()
class HandledLog:
    """The readings this instance handled."""

    def __init__(self, name: Annotated[str, Inject(INSTANCE_NAME)]) -> None:
        self.name = name
        self.readings: list[Handled] = []


@Controller()
class TemperatureController:
    """Handles readings from every sensor, in any unit (``+`` wildcards)."""

    def __init__(self, log: HandledLog) -> None:
        self.log = log

    @EventPattern("sensors/+/temperature/+", qos=1)
    async def reading(self, reading: Reading, ctx: MqttContext) -> None:
        """Raw JSON from a device arrives as an event whose data is the whole payload."""
        _, sensor, _, unit = ctx.get_topic().split("/")
        celsius = round(TO_CELSIUS[unit](reading.value), 1)
        self.log.readings.append(Handled(reading.seq, sensor, celsius))
        print(
            f"  {self.log.name:<8} <- {ctx.get_topic():<28} #{reading.seq:<3} "
            f"{reading.value:7.2f} {unit.upper()} = {celsius:5.1f} C",
            flush=True,
        )


@Module()
class FleetModule:
    """The fleet service; ``FleetModule.for_instance("fleet-1")`` names one instance."""

    @staticmethod
    def for_instance(name: str) -> DynamicModule:
        """The module of one named instance."""
        return DynamicModule(
            module=FleetModule,
            providers=[Provider(INSTANCE_NAME, use_value=name), HandledLog],
            controllers=[TemperatureController],
        )
