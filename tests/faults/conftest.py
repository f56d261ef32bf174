"""Fixtures: the private Mosquitto brokers of ``tests/mqtt/conftest.py`` (imported, not copied),
and ``tests/mqtt`` on the path for ``transport_support``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_MQTT_TESTS = Path(__file__).parents[1] / "mqtt"
if str(_MQTT_TESTS) not in sys.path:
    sys.path.insert(0, str(_MQTT_TESTS))


def _mqtt_conftest() -> object:
    name = "nestpy_tests_mqtt_conftest"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, _MQTT_TESTS / "conftest.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_fixtures = _mqtt_conftest()
mqtt_broker = _fixtures.mqtt_broker  # type: ignore[attr-defined]
private_broker = _fixtures.private_broker  # type: ignore[attr-defined]
broker_factory = _fixtures.broker_factory  # type: ignore[attr-defined]
mqtt_version = _fixtures.mqtt_version  # type: ignore[attr-defined]
