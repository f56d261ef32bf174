"""A module graph with one of everything ``nestpy graph`` prints."""

from __future__ import annotations

from pydantic_settings import BaseSettings

from nestpy import Controller, Injectable, Module, Provider, Scope
from nestpy.config import ConfigModule
from nestpy.microservices import ClientsModule, EventPattern, MessagePattern, Transport


class Settings(BaseSettings):
    name: str = "graph"


@Injectable()
class Store: ...


@Injectable(scope=Scope.REQUEST)
class PerMessage: ...


@Module(providers=[Store, Provider("STORE", use_existing=Store)], exports=[Store, "STORE"])
class StoreModule: ...


@Controller()
class SensorController:
    @MessagePattern({"cmd": "sum", "v": 1}, qos=2)
    def sum(self, numbers: list[int]) -> int:
        return sum(numbers)

    @EventPattern("$share/fleet/sensors/+/temperature", Transport.MQTT, qos=1)
    def reading(self, value: float) -> None: ...


@Module(
    imports=[
        ConfigModule.for_root(settings=Settings, is_global=True),
        ClientsModule.register(name="FLEET", transport=Transport.IN_MEMORY),
        StoreModule,
    ],
    providers=[PerMessage, Provider("RETRIES", use_value=3)],
    controllers=[SensorController],
    exports=[StoreModule],
)
class AppModule: ...


@Injectable()
class NeedsStore:
    def __init__(self, store: Store) -> None:
        self.store = store


@Module(providers=[NeedsStore])
class BrokenModule: ...
