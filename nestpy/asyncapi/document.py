"""Build an AsyncAPI 3.0 document from an application's controllers and transport options."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from nestpy.asyncapi.schemas import SchemaBuilder, identifier
from nestpy.common.dynamic_module import DynamicModule
from nestpy.core.scanner import Scanner
from nestpy.microservices.decorators import pattern_metadata
from nestpy.microservices.transports import Transport

__all__ = ["ASYNCAPI_VERSION", "asyncapi_document", "module_controllers"]

ASYNCAPI_VERSION = "3.0.0"
MQTT_BINDING_VERSION = "0.2.0"
SERVER_ID = "broker"
PROTOCOLS = {"mqtt": "mqtt", "tcp": "mqtt", "mqtts": "secure-mqtt", "ssl": "secure-mqtt",
             "ws": "ws", "wss": "wss"}  # fmt: skip


def module_controllers(module: type[Any] | DynamicModule) -> list[type[Any]]:
    """Every controller class of ``module``'s graph, without instantiating anything."""
    container = Scanner().scan(module)
    return [
        record.token  # type: ignore[misc]
        for node in container.nodes.values()
        for record in node.controllers.values()
    ]


def _handlers(controllers: Iterable[type[Any]]) -> list[tuple[type[Any], str, Any, Any]]:
    found = []
    for cls in controllers:
        names = dict.fromkeys(name for klass in cls.__mro__ for name in vars(klass))
        for name in names:
            member = inspect.getattr_static(cls, name)
            if inspect.isfunction(member):
                found += [(cls, name, member, meta) for meta in pattern_metadata(member)]
    return found


def _server(options: Any) -> dict[str, Any]:
    url = urlsplit(options.url)
    protocol = PROTOCOLS.get(url.scheme, url.scheme)
    host = url.hostname or "localhost"
    port = url.port
    server: dict[str, Any] = {
        "host": f"{host}:{port}" if port else host,
        "protocol": protocol,
        "protocolVersion": "5" if options.protocol_version == 5 else "3.1.1",
        "description": "The MQTT broker (from the service's MqttOptions).",
    }
    if url.path and url.path != "/":
        server["pathname"] = url.path
    binding: dict[str, Any] = {
        "cleanSession": bool(options.clean_session),
        "keepAlive": int(options.keepalive),
        "bindingVersion": MQTT_BINDING_VERSION,
    }
    if options.client_id:
        binding["clientId"] = options.client_id
    if options.session_expiry_interval is not None and options.protocol_version == 5:
        binding["sessionExpiryInterval"] = options.session_expiry_interval
    server["bindings"] = {"mqtt": binding}
    return server


def _request_envelope(data: dict[str, Any], pattern: str, *, event: bool) -> dict[str, Any]:
    properties: dict[str, Any] = {"pattern": {"type": "string", "const": pattern}, "data": data}
    required = ["pattern", "data"]
    if not event:
        properties["id"] = {"type": "string", "description": "Correlates the replies."}
        required.append("id")
    return {"type": "object", "properties": properties, "required": required}


def _reply_envelope(response: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "response": response,
            "err": {"description": "The error, when the handler failed (RpcException)."},
            "isDisposed": {"type": "boolean", "description": "True on the last reply."},
        },
        "required": ["id"],
    }


def asyncapi_document(
    controllers: Iterable[type[Any]],
    *,
    title: str = "nestpy service",
    version: str = "1.0.0",
    options: Any = None,
    transport: Transport = Transport.MQTT,
) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the handlers of ``controllers``.

    Every pattern is a channel (with a ``<pattern>/reply`` channel for ``@MessagePattern``),
    every handler a ``receive`` operation (with its reply), payloads are Nest's JSON packets
    with ``data`` described by the handler's type hints; ``options`` (``MqttOptions``) gives
    the server and its MQTT binding, and the default QoS.
    """
    schemas = SchemaBuilder()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    default_qos = options.subscribe_options.qos if options is not None else 0
    for cls, name, func, meta in _handlers(controllers):
        if meta.transport is not None and meta.transport is not transport:
            continue
        qos = meta.extras.get("qos", default_qos)
        data = schemas.payload(func)
        doc = inspect.getdoc(func)
        for route in meta.routes:
            key = identifier(route)
            request_id = f"{key}.request" if not meta.is_event else f"{key}.event"
            messages[identifier(request_id)] = {
                "name": identifier(request_id),
                "title": f"{route} {'event' if meta.is_event else 'request'}",
                "contentType": "application/json",
                "payload": _request_envelope(data, route, event=meta.is_event),
            }
            channels.setdefault(
                key,
                {
                    "address": route,
                    "title": route,
                    "messages": {},
                },
            )["messages"][identifier(request_id)] = {
                "$ref": f"#/components/messages/{identifier(request_id)}"
            }
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": {"$ref": f"#/channels/{key}"},
                "title": f"{cls.__name__}.{name}",
                "messages": [{"$ref": f"#/channels/{key}/messages/{identifier(request_id)}"}],
                "bindings": {"mqtt": {"qos": qos, "bindingVersion": MQTT_BINDING_VERSION}},
            }
            if doc:
                operation["description"] = doc
            if not meta.is_event:
                reply_key = identifier(f"{route}/reply")
                reply_id = identifier(f"{key}.reply")
                messages[reply_id] = {
                    "name": reply_id,
                    "title": f"{route} reply",
                    "contentType": "application/json",
                    "payload": _reply_envelope(schemas.reply(func)),
                }
                channels[reply_key] = {
                    "address": f"{route}/reply",
                    "title": f"{route}/reply",
                    "messages": {reply_id: {"$ref": f"#/components/messages/{reply_id}"}},
                }
                operation["reply"] = {
                    "channel": {"$ref": f"#/channels/{reply_key}"},
                    "messages": [{"$ref": f"#/channels/{reply_key}/messages/{reply_id}"}],
                }
            op_id = identifier(f"{cls.__name__}.{name}")
            if op_id in operations:
                op_id = identifier(f"{op_id}.{route}")
            operations[op_id] = operation
    document: dict[str, Any] = {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": title,
            "version": version,
            "description": "Generated by nestpy from the handlers' patterns and type hints. "
            "Payloads are NestJS's JSON packets.",
        },
        "defaultContentType": "application/json",
    }
    if options is not None and hasattr(options, "url"):
        document["servers"] = {SERVER_ID: _server(options)}
    document["channels"] = channels
    document["operations"] = operations
    components: dict[str, Any] = {"messages": messages}
    if schemas.components:
        components["schemas"] = schemas.components
    document["components"] = components
    return document
