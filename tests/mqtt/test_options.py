"""MqttOptions: defaults, validation messages, environment variables, secrets."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from nestpy_mqtt.options import MqttOptions, TlsOptions, new_client_id


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("NESTPY_MQTT_"):
            monkeypatch.delenv(name)


def test_defaults_match_nest() -> None:
    opts = MqttOptions()
    assert opts.url == "mqtt://localhost:1883"
    assert (opts.host, opts.port, opts.scheme, opts.transport) == (
        "localhost",
        1883,
        "mqtt",
        "tcp",
    )
    assert opts.protocol_version == 4
    assert opts.client_id is None
    assert opts.clean_session is True
    assert opts.keepalive == 60
    assert opts.tls is None
    assert opts.subscribe_options.qos == 0
    assert opts.connect_timeout is None
    assert (opts.reconnect_min_delay, opts.reconnect_max_delay) == (1.0, 30.0)


def test_random_client_ids() -> None:
    a, b = new_client_id(), new_client_id()
    assert re.fullmatch(r"nestpy_[0-9a-f]{8}", a)
    assert a != b


@pytest.mark.parametrize(
    ("url", "host", "port", "tls", "transport"),
    [
        ("mqtt://broker", "broker", 1883, False, "tcp"),
        ("tcp://broker:1884", "broker", 1884, False, "tcp"),
        ("mqtts://broker", "broker", 8883, True, "tcp"),
        ("ssl://broker:8884", "broker", 8884, True, "tcp"),
        ("ws://broker:9001", "broker", 9001, False, "websockets"),
        ("wss://broker", "broker", 443, True, "websockets"),
    ],
)
def test_url_schemes(url: str, host: str, port: int, tls: bool, transport: str) -> None:
    opts = MqttOptions(url=url)
    assert (opts.host, opts.port, opts.tls is not None, opts.transport) == (
        host,
        port,
        tls,
        transport,
    )


def test_mqtts_enables_verified_tls_by_default() -> None:
    tls = MqttOptions(url="mqtts://broker").tls
    assert tls == TlsOptions()
    assert tls is not None
    assert tls.cert_reqs == "required"
    assert tls.insecure is False


def test_websocket_path() -> None:
    assert MqttOptions(url="ws://b:9001").websocket_path == "/mqtt"
    assert MqttOptions(url="ws://b:9001/custom").websocket_path == "/custom"
    assert MqttOptions(url="ws://b", ws_path="/x").websocket_path == "/x"


def test_bad_url_scheme_message() -> None:
    with pytest.raises(ValidationError) as info:
        MqttOptions(url="http://broker:1883")
    text = str(info.value)
    assert "unsupported URL scheme 'http'" in text
    assert "mqtt, tcp, mqtts, ssl, ws, wss" in text


def test_bad_url_does_not_echo_the_password() -> None:
    with pytest.raises(ValidationError) as info:
        MqttOptions(url="http://bob:hunter2@broker")
    assert "hunter2" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"protocol_version": 3}, "protocol_version must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0)"),
        ({"url": "mqtt://"}, "missing host"),
        ({"url": "mqtt://h:99999"}, "invalid port"),
        ({"keepalive": -1}, "greater than or equal to 0"),
        ({"subscribe_options": {"qos": 3}}, "less than or equal to 2"),
        ({"shared_group": "a/b"}, "shared_group 'a/b' must be non-empty"),
        ({"reconnect_min_delay": 5, "reconnect_max_delay": 1}, "must not be smaller"),
        ({"urll": "x"}, "Extra inputs are not permitted"),
        ({"tls": {"verify": False}}, "Extra inputs are not permitted"),
    ],
)
def test_validation_errors_are_clear(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        MqttOptions(**kwargs)  # type: ignore[arg-type]


def test_aliases() -> None:
    assert MqttOptions(clean_start=False).clean_session is False  # type: ignore[call-arg]
    assert MqttOptions(clean=False).clean_session is False  # type: ignore[call-arg]
    assert MqttOptions(tls=True).tls == TlsOptions()
    sub = MqttOptions(subscribe_options={"qos": 1, "nl": True, "rap": True, "rh": 2})
    assert sub.subscribe_options.model_dump() == {
        "qos": 1,
        "no_local": True,
        "retain_as_published": True,
        "retain_handling": 2,
    }


def test_password_is_secret() -> None:
    opts = MqttOptions(username="bob", password="hunter2")
    assert "hunter2" not in repr(opts)
    assert "hunter2" not in str(opts)
    assert opts.password is not None
    assert opts.password.get_secret_value() == "hunter2"
    tls = TlsOptions(keyfile_password="k3y")
    assert "k3y" not in repr(tls)


def test_credentials_in_url_move_to_fields() -> None:
    opts = MqttOptions(url="mqtts://bob:s%40cret@broker:8883")
    assert opts.url == "mqtts://broker:8883"
    assert opts.username == "bob"
    assert opts.password is not None
    assert opts.password.get_secret_value() == "s@cret"
    assert "s@cret" not in repr(opts)
    explicit = MqttOptions(url="mqtt://u:p@h", username="other")
    assert explicit.username == "other"


def test_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NESTPY_MQTT_URL", "mqtt://env-broker:1999")
    monkeypatch.setenv("NESTPY_MQTT_PROTOCOL_VERSION", "5")
    monkeypatch.setenv("NESTPY_MQTT_CLIENT_ID", "svc-1")
    monkeypatch.setenv("NESTPY_MQTT_PASSWORD", "from-env")
    monkeypatch.setenv("NESTPY_MQTT_SUBSCRIBE_OPTIONS__QOS", "1")
    monkeypatch.setenv("NESTPY_MQTT_USER_PROPERTIES", '{"tenant": "t"}')
    monkeypatch.setenv("NESTPY_MQTT_REQUEST_TIMEOUT", "2.5")
    monkeypatch.setenv("NESTPY_MQTT_TLS__CA_CERTS", "/etc/ca.pem")
    opts = MqttOptions()
    assert (opts.host, opts.port, opts.protocol_version, opts.client_id) == (
        "env-broker",
        1999,
        5,
        "svc-1",
    )
    assert opts.password is not None
    assert opts.password.get_secret_value() == "from-env"
    assert "from-env" not in repr(opts)
    assert opts.subscribe_options.qos == 1
    assert opts.user_properties == {"tenant": "t"}
    assert opts.request_timeout == 2.5
    assert opts.tls is not None
    assert opts.tls.ca_certs == "/etc/ca.pem"
    # explicit arguments win over the environment
    assert MqttOptions(protocol_version=4).protocol_version == 4


def test_bad_environment_value_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NESTPY_MQTT_PROTOCOL_VERSION", "6")
    with pytest.raises(ValidationError, match="protocol_version must be 4"):
        MqttOptions()


def test_unknown_prefixed_environment_variables_are_ignored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NESTPY_MQTT_SOMETHING_ELSE", "x")
    assert MqttOptions().url == "mqtt://localhost:1883"


def test_mqtt_server_and_client_are_observable_transports() -> None:
    from nestpy.microservices import ObservableTransport
    from nestpy_mqtt import ClientMqtt, ServerMqtt

    assert isinstance(ServerMqtt(MqttOptions()), ObservableTransport)
    assert isinstance(ClientMqtt(MqttOptions()), ObservableTransport)
