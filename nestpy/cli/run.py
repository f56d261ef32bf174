"""``nestpy run``: start a microservice from a module path and serve until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from nestpy.cli.loader import CliError
from nestpy.common.dynamic_module import DynamicModule
from nestpy.microservices.microservice import create_microservice
from nestpy.microservices.transports import Transport

logger = logging.getLogger("nestpy.cli")

TRANSPORTS = {"mqtt": Transport.MQTT, "in-memory": Transport.IN_MEMORY}


def transport_options(transport: Transport, flags: dict[str, Any], workers: int = 1) -> Any:
    """The options of ``transport``: for MQTT, ``MqttOptions`` from ``NESTPY_MQTT_*`` and the
    connection ``flags`` (which win)."""
    from nestpy.cli.connection import ENV_PREFIX, mqtt_options

    if transport is Transport.IN_MEMORY:
        if flags:
            msg = "--url, --protocol-version and --username apply to the mqtt transport only."
            raise CliError(msg)
        if workers > 1:
            msg = "--workers needs the mqtt transport (its workers share an MQTT subscription)."
            raise CliError(msg)
        if any(name.startswith(ENV_PREFIX) for name in os.environ):
            mqtt_options()  # the application's MQTT clients read them: report them here too
        return None
    return mqtt_options(flags)


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
    module: type[Any] | DynamicModule,
    transport: Transport,
    options: Any,
    workers: int = 1,
    **extra: Any,
) -> int:
    """The ``run`` command; returns the exit status. ``extra`` goes to ``create_microservice``."""
    asyncio.run(serve(module, transport, options, workers=workers, **extra))
    return 0
