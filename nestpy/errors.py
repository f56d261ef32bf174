"""The root of every error nestpy raises.

Hierarchy (each area defines its subclasses next to the code that raises them)::

    NestpyError
    ├── nestpy.core.errors.exceptions.*          DI and module errors, raised at bootstrap
    ├── nestpy.microservices.exceptions.*        ConnectionLostError, RequestTimeoutError, ...
    └── nestpy_mqtt.errors.*                     MqttConnectionError, MqttSubscribeError, ...

Subclasses also inherit the matching built-in exception (``LookupError``, ``ValueError``,
``ConnectionError``, ``TimeoutError``) so that generic ``except`` clauses keep working.
"""

from __future__ import annotations


class NestpyError(Exception):
    """Base class of every error raised by nestpy."""
