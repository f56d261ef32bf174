"""Security against real Mosquitto configurations written here: TLS with a CA made by the test
(verification on by default, mutual TLS), username/password, ACLs, and credentials that never
reach a log line, an error message or a ``repr``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from transport_support import Harness, dynsec_broker, make_module

from nestpy import Controller
from nestpy.microservices import MessagePattern, RequestTimeoutError
from nestpy_mqtt import MqttOptions, MqttRecordBuilder
from nestpy_mqtt.errors import MqttConnectionError, MqttPublishError, MqttSubscribeError
from nestpy_mqtt.testing import MosquittoBroker, free_port, tls

pytestmark = pytest.mark.mqtt
SECRET = "s3cret-Pa55word"


@Controller()
class SecureController:
    @MessagePattern("secure/sum")
    def sum(self, data: list[int]) -> int:
        return sum(data)


def make_certificates(directory: Path) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate (CN=alice)."""
    try:
        return tls.make_certificates(directory)
    except tls.OpenSSLNotFoundError:
        pytest.skip("openssl not found")


def tls_broker(
    make: Callable[..., MosquittoBroker], certs: Path, *, mutual: bool = False
) -> tuple[MosquittoBroker, int]:
    port = free_port()
    return make(extra_config=tls.tls_listener(port, certs, mutual=mutual)).start(), port


async def test_tls_with_a_generated_ca(
    broker_factory: Callable[..., MosquittoBroker], tmp_path: Path
) -> None:
    certs = make_certificates(tmp_path)
    _, port = tls_broker(broker_factory, certs)
    url = f"mqtts://127.0.0.1:{port}"
    peers = Harness(url)
    try:
        # verification is on by default: the system trust store does not know the test CA
        untrusted = await peers.app(make_module([SecureController]), listen=False)
        with pytest.raises(MqttConnectionError, match="TLS certificate verification failed"):
            await untrusted.listen()
        # the certificate is for 127.0.0.1, not for "localhost"
        wrong_name = Harness(f"mqtts://localhost:{port}").client(
            tls={"ca_certs": str(certs / "ca.crt")}
        )
        with pytest.raises(MqttConnectionError, match="TLS certificate verification failed"):
            await wrong_name.connect()
        await wrong_name.close()

        tls = {"ca_certs": str(certs / "ca.crt")}
        await peers.app(make_module([SecureController]), tls=tls)
        assert await peers.client(tls=tls).send("secure/sum", [1, 2], timeout=5) == 3
    finally:
        await peers.close()


async def test_mutual_tls(broker_factory: Callable[..., MosquittoBroker], tmp_path: Path) -> None:
    certs = make_certificates(tmp_path)
    _, port = tls_broker(broker_factory, certs, mutual=True)
    peers = Harness(f"mqtts://127.0.0.1:{port}")
    server_only = {"ca_certs": str(certs / "ca.crt")}
    mutual = {
        **server_only,
        "certfile": str(certs / "client.crt"),
        "keyfile": str(certs / "client.key"),
    }
    try:
        anonymous = peers.client(tls=server_only, connect_timeout=1)
        with pytest.raises(MqttConnectionError) as info:
            await anonymous.connect()  # the broker wants a client certificate
        assert f"127.0.0.1:{port}" in str(info.value)
        await peers.app(make_module([SecureController]), tls=mutual)
        assert await peers.client(tls=mutual).send("secure/sum", [2, 3], timeout=5) == 5
    finally:
        await peers.close()


async def test_wrong_password_fails_at_once_for_service_and_client(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    broker = broker_factory(allow_anonymous=False, users={"svc": SECRET}).start()
    peers = Harness(broker.url, mqtt_version)
    try:
        app = await peers.app(
            make_module([SecureController]), listen=False, username="svc", password="wrong"
        )
        with pytest.raises(MqttConnectionError, match="refused the connection: Not authorized"):
            await app.listen()  # no connect_timeout: refusals are not retried
        client = peers.client(username="nobody", password="x")
        with pytest.raises(MqttConnectionError, match="Not authorized"):
            await client.connect()
        await peers.app(make_module([SecureController]), username="svc", password=SECRET)
        good = peers.client(username="svc", password=SECRET)
        assert await good.send("secure/sum", [4], timeout=5) == 4
    finally:
        await peers.close()


async def test_a_refused_subscription_fails_listen_with_the_reason_code(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    broker = dynsec_broker(broker_factory, "svc", SECRET, deny="secure/#")
    peers = Harness(broker.url, mqtt_version)
    try:
        app = await peers.app(
            make_module([SecureController]), listen=False, username="svc", password=SECRET
        )
        with pytest.raises(MqttSubscribeError) as info:
            await app.listen()
        assert "refused the subscription to 'secure/sum'" in str(info.value)
        assert ("Not authorized (0x87)" if mqtt_version == 5 else "0x80") in str(info.value)
    finally:
        await peers.close()


ACL = "user svc\ntopic readwrite secure/#\nuser caller\ntopic read secure/#\ntopic write open/#\n"


async def test_acl_file_publish_denial(
    broker_factory: Callable[..., MosquittoBroker], mqtt_version: int
) -> None:
    """With an ``acl_file``, Mosquitto 2.0 grants every SUBSCRIBE and drops denied deliveries
    silently; a denied QoS 1 publish is refused with PUBACK 0x87 in MQTT 5 only (MQTT 3.1.1
    has no reason codes: the broker acknowledges and drops it). QoS 0 is never acknowledged."""
    users = {"svc": SECRET, "caller": SECRET}
    broker = broker_factory(allow_anonymous=False, users=users, acl=ACL).start()
    peers = Harness(broker.url, mqtt_version)
    try:
        await peers.app(make_module([SecureController]), username="svc", password=SECRET)
        caller = peers.client(username="caller", password=SECRET)
        record = MqttRecordBuilder([1]).set_qos(1).build()
        if mqtt_version == 5:
            with pytest.raises(
                MqttPublishError, match=r"'secure/sum' failed: Not authorized \(0x87\)"
            ):
                await caller.emit("secure/sum", record)
        else:
            await caller.emit("secure/sum", record)  # acknowledged, silently dropped
        with pytest.raises(RequestTimeoutError):  # QoS 0 request: dropped, nobody can know
            await caller.send("secure/sum", [1], timeout=0.5)
    finally:
        await peers.close()


async def test_credentials_are_never_logged_or_shown(
    broker_factory: Callable[..., MosquittoBroker], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = broker_factory(allow_anonymous=False, users={"svc": SECRET}).start()
    errors: list[str] = []
    in_url = MqttOptions(url=f"mqtt://svc:{SECRET}x@127.0.0.1:{broker.port}")
    in_field = MqttOptions(url=broker.url, username="svc", password=SECRET + "y", tls=None)
    down = MqttOptions(
        url=f"mqtt://svc:{SECRET}@127.0.0.1:{free_port()}", connect_timeout=0.3,
        reconnect_min_delay=0.05,
    )  # fmt: skip
    peers = Harness(broker.url)
    try:
        for options in (in_url, in_field, down):
            values: dict[str, Any] = dict(options)
            client = peers.client(**values)
            with pytest.raises(MqttConnectionError) as info:
                await client.connect()
            errors += [str(info.value), repr(info.value), repr(options), str(options)]
            errors.append(options.model_dump_json())
        keyed = MqttOptions(tls={"keyfile": "k.pem", "keyfile_password": SECRET})
        errors += [repr(keyed), str(keyed.tls)]
    finally:
        await peers.close()
    assert "waiting for the MQTT broker" in caplog.text  # the failing connections did log
    for text in [caplog.text, *errors]:
        assert SECRET not in text
    assert "**********" in repr(in_field)
    assert in_url.url == f"mqtt://127.0.0.1:{broker.port}"  # moved out of the URL
