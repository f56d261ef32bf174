"""``tests/mqtt`` on the path, for its ``transport_support`` helpers (brokers come from
``tests/conftest.py``)."""

import sys
from pathlib import Path

_MQTT_TESTS = Path(__file__).parents[1] / "mqtt"
if str(_MQTT_TESTS) not in sys.path:
    sys.path.insert(0, str(_MQTT_TESTS))

from transport_support import harness  # noqa: E402, F401 - shared fixtures
