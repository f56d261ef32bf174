"""``nestpy run``: start a microservice from a module path and serve until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from nestpy.cli.loader import CliError
from nestpy.common.dynamic_module import DynamicModule
from nestpy.microservices.microservice import create_microservice
from nestpy.microservices.transports import Transport

logger = logging.getLogger("nestpy.cli")

TRANSPORTS = {"mqtt": Transport.MQTT, "in-memory": Transport.IN_MEMORY}


def transport_options(transport: Transport, url: str | None) -> Any:
    """The options of ``transport``: for MQTT, ``MqttOptions`` from ``NESTPY_MQTT_*``, with
    ``url`` (when given) taking precedence."""
    if transport is Transport.IN_MEMORY:
        if url is not None:
            msg = "--url applies to the mqtt transport only."
            raise CliError(msg)
        return None
    from pydantic import ValidationError

    from nestpy_mqtt import MqttOptions  # only the MQTT transport loads paho

    try:
        return MqttOptions(url=url) if url is not None else MqttOptions()
    except ValidationError as exc:
        msg = f"Invalid MQTT options (flags or NESTPY_MQTT_* variables):\n{exc}"
        raise CliError(msg) from None


async def serve(
    module: type[Any] | DynamicModule, transport: Transport, options: Any, **extra: Any
) -> None:
    """Bootstrap ``module``, listen, and close cleanly on SIGTERM or SIGINT."""
    name = module.module.__name__ if isinstance(module, DynamicModule) else module.__name__
    logger.info("Starting Nest microservice %s (%s)...", name, transport.name)
    app = await create_microservice(module, transport=transport, options=options, **extra)
    await app.run()
    logger.info("Nest microservice stopped")


def run(
    module: type[Any] | DynamicModule, transport_name: str, url: str | None, **extra: Any
) -> int:
    """The ``run`` command; returns the exit status. ``extra`` goes to ``create_microservice``."""
    transport = TRANSPORTS[transport_name]
    options = transport_options(transport, url)
    asyncio.run(serve(module, transport, options, **extra))
    return 0
