"""MQTT topic logic, shared with the in-memory transport; see ``nestpy.microservices.topics``."""

from nestpy.microservices.topics import *  # noqa: F403
from nestpy.microservices.topics import __all__ as __all__
