"""``MqttOptions``: every connection setting, validated, and readable from ``NESTPY_MQTT_*``.

Environment variables use the ``NESTPY_MQTT_`` prefix and ``__`` for nested fields, e.g.
``NESTPY_MQTT_URL=mqtts://broker:8883``, ``NESTPY_MQTT_PROTOCOL_VERSION=5``,
``NESTPY_MQTT_SUBSCRIBE_OPTIONS__QOS=1``, ``NESTPY_MQTT_USER_PROPERTIES='{"tenant": "t"}'``.
Explicit arguments win over the environment.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from nestpy_mqtt._url import SCHEMES, RejectedUrl, redact_url, split_credentials
from nestpy_mqtt.ack import AckPolicy

__all__ = [
    "MqttOptions",
    "SubscribeOptionsModel",
    "TlsOptions",
    "WillOptions",
    "new_client_id",
    "redact_url",
]

TLS_SCHEMES = frozenset({"mqtts", "ssl", "wss"})
QoS = Annotated[int, Field(ge=0, le=2)]


def new_client_id() -> str:
    """Return a random client id, ``nestpy_`` followed by 8 hex digits (like ``mqttjs_...``)."""
    return "nestpy_" + secrets.token_hex(4)


def _secret(value: Any) -> Any:
    return SecretStr(value) if isinstance(value, str) else value


class TlsOptions(BaseModel):
    """TLS settings; certificate verification is on unless switched off explicitly."""

    model_config = ConfigDict(extra="forbid")

    ca_certs: str | None = None
    """CA bundle file; ``None`` uses the system's default trust store."""
    certfile: str | None = None
    keyfile: str | None = None
    keyfile_password: SecretStr | None = None
    cert_reqs: Literal["required", "optional", "none"] = "required"
    insecure: bool = False
    """Skip the host name check (certificates are still verified unless ``cert_reqs='none'``)."""
    ciphers: str | None = None


class WillOptions(BaseModel):
    """The last-will message the broker publishes if the connection dies uncleanly."""

    model_config = ConfigDict(extra="forbid")

    topic: str = Field(min_length=1)
    payload: str | bytes = b""
    qos: QoS = 0
    retain: bool = False
    properties: dict[str, Any] | None = None
    """MQTT 5 will properties, snake_case (``will_delay_interval``, ``user_properties``...)."""


class SubscribeOptionsModel(BaseModel):
    """Default subscription options (Nest's names ``nl``, ``rap``, ``rh`` are accepted)."""

    model_config = ConfigDict(extra="forbid")

    qos: QoS = 0
    no_local: bool = False
    retain_as_published: bool = False
    retain_handling: QoS = 0

    @model_validator(mode="before")
    @classmethod
    def _nest_names(cls, data: Any) -> Any:
        if isinstance(data, dict):
            renames = {"nl": "no_local", "rap": "retain_as_published", "rh": "retain_handling"}
            data = {renames.get(k, k): v for k, v in data.items()}
        return data


class MqttOptions(BaseSettings):
    """Connection options for MQTT servers and clients.

    Example::

        MqttOptions(url="mqtt://localhost:1883", protocol_version=5,
                    user_properties={"tenant": "t"}, subscribe_options={"qos": 1})
    """

    model_config = SettingsConfigDict(
        env_prefix="NESTPY_MQTT_",
        env_nested_delimiter="__",
        extra="forbid",
        hide_input_in_errors=True,  # never echo a password back in a validation error
    )

    url: str = "mqtt://localhost:1883"
    """``mqtt``/``tcp``, ``mqtts``/``ssl`` (TLS), ``ws``, ``wss``; credentials in the URL are
    moved to ``username``/``password``."""
    protocol_version: int = 4
    """4 = MQTT 3.1.1 (Nest's default), 5 = MQTT 5.0."""
    client_id: str | None = None
    """``None``: each connection draws its own random ``nestpy_xxxxxxxx`` id."""
    clean_session: bool = True
    """Clean session (3.1.1) / clean start (5). Also accepted as ``clean_start`` or ``clean``."""
    session_expiry_interval: int | None = Field(default=None, ge=0)
    keepalive: int = Field(default=60, ge=0, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: TlsOptions | None = None
    will: WillOptions | None = None
    user_properties: dict[str, str] | None = None
    """Client-wide MQTT 5 user properties, merged under each record's own."""
    connect_properties: dict[str, Any] | None = None
    """Extra MQTT 5 CONNECT properties, snake_case (``receive_maximum``...)."""
    subscribe_options: SubscribeOptionsModel = Field(default_factory=SubscribeOptionsModel)
    shared_group: str | None = None
    """Subscribe every handler as ``$share/<group>/<pattern>``."""
    request_timeout: float | None = Field(default=30.0, gt=0)
    """A client's default ``send()`` timeout in seconds; ``None``: no limit (Nest has none)."""
    connect_timeout: float | None = Field(default=None, gt=0)
    """Give up connecting after this many seconds; ``None`` retries forever."""
    handshake_timeout: float = Field(default=10.0, gt=0)
    """Per attempt: TCP/TLS connect plus waiting for CONNACK."""
    reconnect_min_delay: float = Field(default=1.0, gt=0)
    reconnect_max_delay: float = Field(default=30.0, gt=0)
    max_inflight_messages: int = Field(default=20, ge=0)
    max_queued_messages: int = Field(default=0, ge=0)
    """0 = unlimited."""
    max_write_buffer_bytes: int = Field(default=4 << 20, ge=0)
    """Bytes waiting to be written to the socket above which ``emit()`` and ``send()`` wait
    until half of it has drained (backpressure on a slow link); 0 = unbounded. Default 4 MiB."""
    fast_path: bool = True
    """nestpy's buffered socket and QoS 0 PUBLISH reader/writer under paho (TCP, TLS and
    WebSockets, MQTT 5 properties included). Off, or when the installed paho lacks what it
    needs (one warning), paho's own path is used."""
    ws_path: str | None = None
    """WebSocket path; default: the URL's path, else ``/mqtt``."""
    ws_headers: dict[str, SecretStr] | None = None
    """Headers of the WebSocket handshake (``{"Authorization": "Bearer ..."}``); secrets: never
    shown in ``repr()``, dumps or errors (``ws_header_values()`` gives the real values)."""
    ack_policy: AckPolicy = AckPolicy.AFTER_HANDLER
    """Servers: when a received QoS 1/2 message is acknowledged (``AckPolicy``); a pattern's
    ``@MessagePattern(..., ack_policy=...)`` overrides it. Env: ``NESTPY_MQTT_ACK_POLICY``."""
    serializer: Any = None
    """Writes outgoing packets: ``serialize(packet, options=None) -> bytes | str`` (Nest's
    role; ``nestpy.microservices.serializers``). ``None``: Nest's JSON envelope."""
    deserializer: Any = None
    """Reads incoming payloads: ``deserialize(payload: bytes, {"channel": topic})``. ``None``:
    Nest's envelope (a server's ``@...Pattern(envelope=False)`` reads whole payloads)."""
    reply_topic: str | None = None
    """Clients, MQTT 5: receive every reply on this one topic (its own, e.g.
    ``replies/<client id>``), matched by Correlation Data, instead of ``<pattern>/reply``:
    broker ACLs can then let only this client read its replies."""
    use_response_topic: bool = False
    """Servers, MQTT 5: answer a message carrying a Response Topic there, with its Correlation
    Data (a bare payload from a plain MQTT 5 client is then a request too). Off by default:
    Nest ignores Response Topics and answers on ``<topic>/reply``, and so does nestpy unless
    this is ``True`` (env ``NESTPY_MQTT_USE_RESPONSE_TOPIC``)."""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for alias in ("clean_start", "clean"):
                if alias in data:
                    data = dict(data)
                    data.setdefault("clean_session", data.pop(alias))
            if data.get("tls") is True:
                data = {**data, "tls": {}}
            elif data.get("tls") is False:
                data = {**data, "tls": None}
        return data

    @field_validator("ack_policy", mode="before")
    @classmethod
    def _ack_policy_name(cls, value: Any) -> Any:
        # ``MANUAL``, ``manual`` and ``after-handler`` all name a policy.
        if isinstance(value, str) and not isinstance(value, AckPolicy):
            return value.strip().lower().replace("-", "_")
        return value

    @field_validator("protocol_version")
    @classmethod
    def _check_version(cls, value: int) -> int:
        if value not in (4, 5):
            msg = f"protocol_version must be 4 (MQTT 3.1.1) or 5 (MQTT 5.0), not {value}"
            raise ValueError(msg)
        return value

    @model_validator(mode="before")
    @classmethod
    def _hide_secrets(cls, data: Any) -> Any:
        # Runs before any field is validated, so that no error (not even its ``input``, which
        # ``hide_input_in_errors`` leaves in ``errors()``) holds a password: credentials leave
        # the URL, and passwords and WebSocket headers become ``SecretStr`` at once.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        url = data.get("url")
        if isinstance(url, str):
            try:
                data["url"], user, password = split_credentials(url)
            except ValueError as exc:
                data["url"] = RejectedUrl(url, str(exc))
            else:
                if user is not None and data.get("username") is None:
                    data["username"] = user
                if password is not None and data.get("password") is None:
                    data["password"] = password
        if "password" in data:
            data["password"] = _secret(data["password"])
        headers = data.get("ws_headers")
        if isinstance(headers, dict):
            data["ws_headers"] = {name: _secret(value) for name, value in headers.items()}
        tls = data.get("tls")
        if isinstance(tls, dict) and "keyfile_password" in tls:
            data["tls"] = {**tls, "keyfile_password": _secret(tls["keyfile_password"])}
        return data

    @field_validator("url", mode="before")
    @classmethod
    def _check_url(cls, value: Any) -> Any:
        if isinstance(value, RejectedUrl):
            raise ValueError(value.reason)
        if not isinstance(value, str):
            return value  # pydantic's own type error
        parts = urlsplit(value)  # no user-info left (see _hide_secrets)
        if parts.scheme not in SCHEMES:
            msg = (
                f"unsupported URL scheme {parts.scheme!r} in {value!r}: "
                f"use one of {', '.join(SCHEMES)} (e.g. mqtt://localhost:1883)"
            )
            raise ValueError(msg)
        try:
            parts.port  # noqa: B018 - raises on a malformed port
        except ValueError as exc:
            msg = f"invalid port in {value!r}: {exc}"
            raise ValueError(msg) from None
        if not parts.hostname:
            msg = f"missing host in {value!r} (e.g. mqtt://localhost:1883)"
            raise ValueError(msg)
        return value

    @field_validator("serializer")
    @classmethod
    def _check_serializer(cls, value: Any) -> Any:
        if value is not None and not callable(getattr(value, "serialize", None)):
            msg = (
                f"serializer {value!r} has no serialize(value, options=None) method; "
                "see nestpy.microservices.serializers"
            )
            raise ValueError(msg)
        return value

    @field_validator("deserializer")
    @classmethod
    def _check_deserializer(cls, value: Any) -> Any:
        if value is not None and not callable(getattr(value, "deserialize", None)):
            msg = (
                f"deserializer {value!r} has no deserialize(value, options=None) method; "
                "see nestpy.microservices.serializers"
            )
            raise ValueError(msg)
        return value

    @field_validator("reply_topic")
    @classmethod
    def _check_reply_topic(cls, value: str | None) -> str | None:
        if value is not None and (not value or "+" in value or "#" in value or "\0" in value):
            msg = f"reply_topic {value!r} must be a topic name: non-empty, without '+' or '#'"
            raise ValueError(msg)
        return value

    @field_validator("shared_group")
    @classmethod
    def _check_group(cls, value: str | None) -> str | None:
        if value is not None and (not value or any(c in value for c in "/+#")):
            msg = f"shared_group {value!r} must be non-empty, without '/', '+' or '#'"
            raise ValueError(msg)
        return value

    @field_validator("reconnect_max_delay")
    @classmethod
    def _check_delays(cls, value: float, info: ValidationInfo) -> float:
        # A field validator, not a model one: a model error's ``input`` is every option given.
        low = info.data.get("reconnect_min_delay")
        if low is not None and value < low:
            msg = (
                f"reconnect_max_delay ({value}) must not be smaller than "
                f"reconnect_min_delay ({low})"
            )
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _normalise(self) -> MqttOptions:
        if self.reply_topic is not None and self.protocol_version != 5:
            msg = (
                "reply_topic needs MQTT 5 (Response Topic and Correlation Data): "
                "set protocol_version=5"
            )
            raise ValueError(msg)
        parts = urlsplit(self.url)
        if parts.scheme in TLS_SCHEMES and self.tls is None:
            self.tls = TlsOptions()
        return self

    def ws_header_values(self) -> dict[str, str] | None:
        """The WebSocket handshake headers with their real values (for the client library)."""
        if self.ws_headers is None:
            return None
        return {name: value.get_secret_value() for name, value in self.ws_headers.items()}

    @property
    def scheme(self) -> str:
        """The URL scheme (``mqtt``, ``mqtts``, ``tcp``, ``ssl``, ``ws``, ``wss``)."""
        return urlsplit(self.url).scheme

    @property
    def host(self) -> str:
        """The broker host name or address."""
        return urlsplit(self.url).hostname or "localhost"

    @property
    def port(self) -> int:
        """The broker port: the URL's, else the scheme's default (1883, 8883, 80, 443)."""
        parts = urlsplit(self.url)
        return parts.port or SCHEMES[parts.scheme]

    @property
    def transport(self) -> Literal["tcp", "websockets"]:
        """``websockets`` for ``ws``/``wss`` URLs, else ``tcp``."""
        return "websockets" if self.scheme in ("ws", "wss") else "tcp"

    @property
    def websocket_path(self) -> str:
        """The WebSocket path: ``ws_path``, else the URL's path, else ``/mqtt``."""
        return self.ws_path or urlsplit(self.url).path or "/mqtt"
