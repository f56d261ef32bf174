"""MQTT's side of ``workers=N``: the processes share the subscriptions of one shared group.

``create_microservice(..., transport=Transport.MQTT, workers=N)`` builds its ``ServerMqtt`` with
``with_shared_group(options, N)``; the processes themselves are ``nestpy.microservices.workers``'
business (``WorkerPool``), which knows nothing of MQTT.
"""

from __future__ import annotations

from nestpy_mqtt.options import MqttOptions
from nestpy_mqtt.topics import check_group

__all__ = ["DEFAULT_GROUP", "with_shared_group"]

DEFAULT_GROUP = "nestpy"
"""The shared subscription group when the options name none."""


def with_shared_group(
    options: MqttOptions | None, workers: int, group: str = DEFAULT_GROUP
) -> MqttOptions:
    """``options`` with a shared group when ``workers`` > 1 and none is set (a copy).

    ``None`` stands for ``MqttOptions()``. Raises ``ValueError`` for ``workers`` < 1, a group
    name with ``/``, ``+`` or ``#``, or options that are not ``MqttOptions`` (only MQTT shares
    subscriptions between processes).

    >>> with_shared_group(MqttOptions(), 2).shared_group
    'nestpy'
    """
    if workers < 1:
        msg = f"workers must be at least 1, got {workers}"
        raise ValueError(msg)
    if options is None:
        options = MqttOptions()
    if not isinstance(options, MqttOptions):
        msg = (
            f"workers > 1 needs a transport with shared subscriptions (Transport.MQTT with "
            f"MqttOptions), got options of type {type(options).__name__}"
        )
        raise ValueError(msg)
    if workers == 1 or options.shared_group is not None:
        return options
    return options.model_copy(update={"shared_group": check_group(group)})
