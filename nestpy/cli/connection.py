"""The MQTT connection flags of ``run``, ``send`` and ``emit``, and how they are applied.

``nestpy run`` writes its flags into the ``NESTPY_MQTT_*`` variables of its own process before
it imports the application, so that they are the process-wide default of every ``MqttOptions``
built without that setting: the server's, and every client of the application registered
without its own URL (``ClientsModule.register(name=..., transport=Transport.MQTT)``). Worker
processes and the processes ``--reload`` restarts inherit them.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from nestpy.cli.loader import CliError

ENV_PREFIX = "NESTPY_MQTT_"

FLAGS = {
    # argparse dest: (flag, MqttOptions field)
    "url": ("--url", "url"),
    "protocol_version": ("--protocol-version", "protocol_version"),
    "username": ("--username", "username"),
}


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """``--url``, ``--protocol-version`` and ``--username`` (the password: its env variable)."""
    parser.add_argument("--url", help="broker URL, e.g. mqtt://localhost:1883 (NESTPY_MQTT_URL)")
    parser.add_argument(
        "--protocol-version",
        type=int,
        choices=[4, 5],
        help="4 = MQTT 3.1.1, 5 = MQTT 5.0 (NESTPY_MQTT_PROTOCOL_VERSION)",
    )
    parser.add_argument(
        "--username",
        help="broker user name (NESTPY_MQTT_USERNAME; the password: NESTPY_MQTT_PASSWORD)",
    )


def given_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The connection flags given on the command line, by ``MqttOptions`` field."""
    return {
        field: getattr(args, dest)
        for dest, (_, field) in FLAGS.items()
        if getattr(args, dest, None) is not None
    }


def export_flags(values: dict[str, Any]) -> None:
    """Make ``values`` the process-wide default of every ``MqttOptions`` (and child process)."""
    for field, value in values.items():
        os.environ[f"{ENV_PREFIX}{field.upper()}"] = str(value)


def mqtt_options(values: dict[str, Any] | None = None, **extra: Any) -> Any:
    """``MqttOptions`` from the environment and ``values``; invalid settings are a ``CliError``
    naming each flag or env variable, in ``ConfigModule``'s style."""
    from nestpy.config.loader import ConfigValidationError, load_settings
    from nestpy_mqtt import MqttOptions  # only MQTT commands load paho

    values = dict(values or {})
    try:
        return load_settings(MqttOptions, values={**values, **extra})
    except ConfigValidationError as exc:
        flags = {field: flag for flag, field in FLAGS.values() if field in values}
        lines = []
        for error in exc.errors:
            field = error.location.split(".")[0]
            where = flags.get(field, f"env {error.env}")
            lines.append(f"{error.location} ({where}): {error.message}")
        if len(lines) == 1:
            msg = f"invalid MQTT setting {lines[0]}"
        else:
            msg = f"invalid MQTT settings ({len(lines)} errors):" + "".join(
                f"\n  {line}" for line in lines
            )
        raise CliError(msg) from None
