"""A FastAPI app and a nestpy MQTT microservice in one process, sharing their providers
(Nest's hybrid application: ``app.connectMicroservice(...)``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI
from pydantic import BaseModel

from nestpy import Controller, Injectable, Module
from nestpy.microservices import EventPattern, MessagePattern, Transport
from nestpy.ops import create_ops_app, inject, nestpy_lifespan
from nestpy_mqtt import MqttOptions


class Visit(BaseModel):
    page: str


@Injectable()
class VisitCounter:
    """One instance, used by the MQTT handlers and by the HTTP routes alike."""

    def __init__(self) -> None:
        self.pages: dict[str, int] = {}

    def record(self, page: str) -> int:
        self.pages[page] = self.pages.get(page, 0) + 1
        return self.pages[page]


@Controller()
class VisitsController:
    def __init__(self, counter: VisitCounter) -> None:
        self.counter = counter

    @EventPattern("visits/recorded")
    def recorded(self, visit: Visit) -> None:
        self.counter.record(visit.page)

    @MessagePattern("visits/count")
    def count(self, page: str) -> int:
        return self.counter.pages.get(page, 0)


@Module(controllers=[VisitsController], providers=[VisitCounter])
class AppModule:
    pass


def create_app(options: MqttOptions | None = None) -> FastAPI:
    """The FastAPI app; its lifespan boots ``AppModule`` and its MQTT microservice."""
    nestpy = nestpy_lifespan(
        AppModule,
        microservices=[{"transport": Transport.MQTT, "options": options or MqttOptions()}],
    )
    app = FastAPI(title="visits", lifespan=nestpy)
    app.mount("/ops", create_ops_app(nestpy.indicators))  # /ops/livez, /ops/readyz, /ops/metrics

    @app.get("/visits/{page}")
    def visits(
        page: str, counter: Annotated[VisitCounter, Depends(inject(VisitCounter))]
    ) -> dict[str, int]:
        return {page: counter.pages.get(page, 0)}

    @app.post("/visits")
    def record(
        visit: Visit, counter: Annotated[VisitCounter, Depends(inject(VisitCounter))]
    ) -> dict[str, int]:
        return {visit.page: counter.record(visit.page)}

    return app
