"""Start the math service: ``python -m samples.math_service``.

The broker and every other option come from the environment through ``MqttOptions``
(``NESTPY_MQTT_URL``, default ``mqtt://localhost:1883``; ``NESTPY_MQTT_PROTOCOL_VERSION=5``;
``NESTPY_MQTT_SHARED_GROUP``...). It serves until SIGTERM or SIGINT (Ctrl-C), lets in-flight
handlers reply, and exits with status 0.
"""

from __future__ import annotations

import asyncio
import logging

from nestpy.microservices import Transport, create_microservice
from nestpy_mqtt import MqttOptions
from samples.math_service.app_module import AppModule


async def serve(options: MqttOptions | None = None) -> None:
    """Run the service until SIGTERM/SIGINT."""
    options = options or MqttOptions()
    app = await create_microservice(AppModule, transport=Transport.MQTT, options=options)
    logging.getLogger("samples.math_service").info(
        "Connecting to %s (MQTT %s)", options.url, "5" if options.protocol_version == 5 else "3.1.1"
    )
    await app.run()


def main() -> None:
    """Entry point of ``python -m samples.math_service``."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s [%(name)s] %(message)s",
        datefmt="%H:%M:%S",
    )
    asyncio.run(serve())


if __name__ == "__main__":
    main()
