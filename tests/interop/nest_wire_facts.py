"""What NestJS 12 puts on the wire over MQTT, as observed (byte for byte) by test_nest_wire*.py.

Observed with ``@nestjs/microservices`` 12.1.1, ``@nestjs/core``/``@nestjs/common`` 12.5.1 and
``mqtt`` (MQTT.js) 5.16.0 on Node 20, between the stock NestJS client and service of
``nest_app/`` and a Mosquitto 2 broker. ``test_nest_wire.py`` and ``test_nest_wire_v5.py``
assert every constant below against a live Nest, so this file stays true for the pinned
versions; nestpy's tests can assert the same shapes on what nestpy publishes.

Payload constants are ``bytes`` templates in which ``<ID>`` stands for the request id:
``fill(SUM_REPLY, "abc")`` gives the exact payload, and ``match(SUM_REQUEST, payload)`` returns
the id when a payload has exactly that shape (any id), else ``None``.

Facts, with the cases of ``nest-reference.md`` section 5 they correspond to:

* Ids (case 1): 21 lowercase hex characters (npm ``uid``); consecutive ids of one process share
  a sliding window (``f6de32…ae80`` then ``6de32…ae80a``). Treat them as opaque strings: the
  service echoes any string (``"abc"``, ``"r1"``).
* Request (case 1): topic = pattern, payload ``{"pattern":…,"data":…,"id":…}`` in that key
  order, QoS 0, not retained, no MQTT 5 properties unless the user adds some. The client
  SUBSCRIBEs ``<topic>/reply`` (QoS 0) and publishes only after the SUBACK; it UNSUBSCRIBEs the
  reply topic as soon as the request is over (``CLIENT_SUBSCRIBES_PER_REQUEST``).
* Reply (case 2): on ``<concrete request topic>/reply``, ``{"response":…,"isDisposed":true,
  "id":…}``, always QoS 0, not retained, never any MQTT 5 properties (even when the request had
  user properties).
* Object patterns (case 3): the topic is the pattern as JSON with keys sorted by JavaScript's
  ``localeCompare`` (``a`` < ``A`` < ``b`` < ``B``), no spaces; the payload's ``pattern`` keeps
  the caller's object (and key order).
* Streams (cases 5, 6): one packet per value, ``{"response":v,"id":…}``; ``isDisposed`` is merged
  into the last value's packet when the stream completes in the same tick as its last value
  (``from([...])`` **and** ``interval(5).pipe(take(n))``), and sent as a separate
  ``{"isDisposed":true,"id":…}`` only when completion comes in a later tick.
* No value (case 7): ``undefined``, ``EMPTY``, ``take(0)`` and a request that reaches an
  ``@EventPattern`` handler (which does run) all reply ``{"isDisposed":true,"id":…}``: the Nest
  client completes with no value. ``null`` is ``"response":null``.
* Errors (cases 8-10): ``{"err":…,"isDisposed":true,"id":…}``; ``RpcException('bad')`` →
  ``{"status":"error","message":"bad"}``; ``RpcException({code:7})`` → ``{"code":7}``; any other
  exception → ``{"status":"error","message":"Internal server error"}`` (logged by
  ``RpcExceptionsHandler``). A stream that errors after values: values first, then the error
  packet carrying ``isDisposed``. The Nest client errors with ``err`` exactly as sent.
* No handler (case 11): the Nest server only subscribes its handler keys, so a request for an
  unknown pattern gets **no reply at all** (only a client timeout ends it). The "no matching
  message handler" reply, key order id/status/err with a bare string ``err`` and no
  ``isDisposed``, appears only for a topic the broker delivers but Nest's matcher rejects:
  ``sensors//temperature/c`` under ``sensors/+/temperature/+`` (``+`` never matches an empty
  level in Nest). The Nest client errors with that string.
* Events (cases 12, 13): ``{"pattern":…,"data":…}``, no ``id``; an event on a delivered but
  unmatched topic gets no publish, and the service logs ``NO_EVENT_HANDLER_LOG``.
* External publishers (cases 14-16): a non-JSON payload is an event whose data is the text;
  ``{"data":5,"ts":1}`` (no id) is an event whose data is ``5``; ``{"id":"abc","data":2}`` on
  ``sensors/9`` (handler ``sensors/+``) is answered on ``sensors/9/reply`` with id ``abc``.
  Routing uses the topic only: ``{"pattern":"fail_rpc",…,"id":"r1"}`` published on ``sum`` is
  handled by ``sum``.
* Server subscriptions (cases 17, 18): each handler key in its own SUBSCRIBE, verbatim
  (wildcards, object-pattern JSON), in registration order, QoS = ``subscribeOptions.qos``
  (MQTT.js default 0) except where the handler's extras set ``qos`` (``alerts`` → QoS 2).
* MQTT 5 (case 19): the record builder's QoS becomes the PUBLISH QoS; user properties are the
  client-wide ``userProperties`` followed by the record's (record wins on a clash), in that
  order; a send without a record still carries the client-wide ones; events too. The handler
  sees them as ``ctx.getPacket().properties.userProperties`` (an object). On MQTT 3.1.1 they
  are simply not sent (``properties`` is undefined on the server).
* Not a wire fact, but it matters to handlers: in Nest 12 a handler without parameter
  decorators receives only the payload; the context needs ``@Ctx()``.
* Two concurrent sends on one pattern from one stock client (case 4): MQTT.js sends one
  SUBSCRIBE (it skips a subscription that is already pending and calls back at once, so the
  second request is published first). When the first request's SUBACK callback runs after the
  second request's reply came back, that reply's teardown UNSUBSCRIBEs the reply topic and the
  first request's reply is lost: 5 of 30 pairs started together here, and every pair started
  while the previous request's UNSUBSCRIBE was unacknowledged. ``client.js`` therefore starts
  the commands of a ``batch`` one after the other, each once the previous one is published.
  Not asserted (timing-dependent); nestpy's client keeps its reply subscription instead.
"""

from __future__ import annotations

import re

ID = b"<ID>"
"""Placeholder for the request id in the payload templates below."""

NEST_ID_RE = re.compile(r"[0-9a-f]{21}")
"""The ids the stock Nest 12 client generates (treat ids as opaque; the server echoes any)."""


def fill(template: bytes, request_id: str) -> bytes:
    """The exact payload for ``template`` with ``request_id`` in place of ``<ID>``."""
    return template.replace(ID, request_id.encode())


def match(template: bytes, payload: bytes) -> str | None:
    """The id if ``payload`` is ``template`` with some string id in place of ``<ID>``."""
    head, sep, tail = template.partition(ID)
    if not sep:
        return "" if payload == template else None
    if not (payload.startswith(head) and payload.endswith(tail)):
        return None
    middle = payload[len(head) : len(payload) - len(tail)]
    if b'"' in middle or b"\\" in middle:
        return None
    return middle.decode()


# ---- request / reply (cases 1, 2) -------------------------------------------------------------
SUM_TOPIC = "sum"
SUM_REPLY_TOPIC = "sum/reply"
SUM_REQUEST = b'{"pattern":"sum","data":[1,2,3],"id":"<ID>"}'
"""``client.send('sum', [1, 2, 3])``: QoS 0, no retain, no properties."""
SUM_REPLY = b'{"response":6,"isDisposed":true,"id":"<ID>"}'
"""A handler returning 6 (a plain value or a Promise): one packet, isDisposed merged, id last."""

CLIENT_SUBSCRIBES_PER_REQUEST = (
    ("SUBSCRIBE", "sum/reply", 0),
    ("PUBLISH", "sum", 0),
    ("UNSUBSCRIBE", "sum/reply", None),
)
"""What the broker receives from the stock client for one ``send('sum', …)`` (kind, topic, QoS)."""

# ---- object patterns (case 3) -----------------------------------------------------------------
OBJECT_PATTERN = {"cmd": "sum", "a": 1}
OBJECT_TOPIC = '{"a":1,"cmd":"sum"}'
OBJECT_REPLY_TOPIC = '{"a":1,"cmd":"sum"}/reply'
OBJECT_REQUEST = b'{"pattern":{"cmd":"sum","a":1},"data":[4,5],"id":"<ID>"}'
"""The ``pattern`` field keeps the caller's object; only the topic is normalised."""
OBJECT_REPLY = b'{"response":9,"isDisposed":true,"id":"<ID>"}'
MIXED_CASE_PATTERN = {"b": "x", "B": "y", "a": 1, "A": 2}
MIXED_CASE_TOPIC = '{"a":1,"A":2,"b":"x","B":"y"}'
"""``localeCompare`` order: case-insensitive first, lower case before upper case on a tie."""

# ---- streams (cases 5, 6) ---------------------------------------------------------------------
STREAM_SYNC_REPLIES = (
    b'{"response":0,"id":"<ID>"}',
    b'{"response":1,"id":"<ID>"}',
    b'{"response":2,"isDisposed":true,"id":"<ID>"}',
)
"""``from([0, 1, 2])`` (``count_up_sync``, 3)."""
STREAM_TAKE_REPLIES = STREAM_SYNC_REPLIES
"""``interval(5).pipe(take(3))`` (``count_up``, 3): take completes with the last value, so the
flag is merged exactly as for a synchronous stream."""
STREAM_LATE_REPLIES = (
    b'{"response":0,"id":"<ID>"}',
    b'{"response":1,"id":"<ID>"}',
    b'{"isDisposed":true,"id":"<ID>"}',
)
"""Two values, completion 30 ms later (``count_up_late``, 2)."""
STREAM_ERROR_REPLIES = (
    b'{"response":1,"id":"<ID>"}',
    b'{"err":{"status":"error","message":"mid-stream"},"isDisposed":true,"id":"<ID>"}',
)
"""``concat(of(1), throwError(() => new RpcException('mid-stream')))`` (``fail_stream``)."""

# ---- no value, null (case 7) ------------------------------------------------------------------
NO_VALUE_REPLY = b'{"isDisposed":true,"id":"<ID>"}'
"""``undefined``, ``EMPTY``, ``take(0)``, or a request that reached an ``@EventPattern``."""
NULL_REPLY = b'{"response":null,"isDisposed":true,"id":"<ID>"}'
PROMISE_REPLY = b'{"response":{"echoed":"q"},"isDisposed":true,"id":"<ID>"}'
"""An ``async`` handler resolving ``{echoed: 'q'}`` (``async_value``)."""

# ---- errors (cases 8-10) ----------------------------------------------------------------------
RPC_ERROR_STRING_REPLY = b'{"err":{"status":"error","message":"bad"},"isDisposed":true,"id":"<ID>"}'
"""``throw new RpcException('bad')``; the Nest client errors with ``{status, message}``."""
RPC_ERROR_OBJECT_REPLY = b'{"err":{"code":7},"isDisposed":true,"id":"<ID>"}'
"""``throw new RpcException({code: 7})``: the object as is, no ``status`` added."""
INTERNAL_ERROR_REPLY = (
    b'{"err":{"status":"error","message":"Internal server error"},"isDisposed":true,"id":"<ID>"}'
)
"""``throw new Error('x')`` (logged as ``ERROR [RpcExceptionsHandler] Error: x``)."""

# ---- no handler (cases 11, 12) ----------------------------------------------------------------
NO_HANDLER_TOPIC = "sensors//temperature/c"
"""Delivered by the broker to ``sensors/+/temperature/+``, rejected by Nest's matcher."""
NO_HANDLER_REPLY_TOPIC = "sensors//temperature/c/reply"
NO_HANDLER_MESSAGE = "There is no matching message handler defined in the remote service."
NO_HANDLER_REPLY = (
    b'{"id":"<ID>","status":"error",'
    b'"err":"There is no matching message handler defined in the remote service."}'
)
"""Key order id, status, err; ``err`` is a bare string; no ``isDisposed``."""
NO_EVENT_HANDLER_LOG = (
    "There is no matching event handler defined in the remote service. "
    "Event pattern: sensors//temperature/c"
)
"""Logged (logger context ``Server``, level error) for an event on ``NO_HANDLER_TOPIC``."""

# ---- events (case 13) -------------------------------------------------------------------------
EVENT_TOPIC = "user_created"
EVENT = b'{"pattern":"user_created","data":{"a":1}}'
"""``client.emit('user_created', {a: 1})``: no id, nothing published in return."""
REQUEST_TO_EVENT_HANDLER_REPLY = NO_VALUE_REPLY
"""``client.send('user_created', 1)``: the event handler runs, the reply carries no value."""

# ---- wildcards (case 17) ----------------------------------------------------------------------
WILDCARD_TOPIC = "sensors/a/temperature/c"
WILDCARD_REPLY_TOPIC = "sensors/a/temperature/c/reply"
WILDCARD_REPLY = (
    b'{"response":{"topic":"sensors/a/temperature/c","data":1},"isDisposed":true,"id":"<ID>"}'
)
"""Handler ``sensors/+/temperature/+`` returning ``{topic: ctx.getTopic(), data}``."""

# ---- external publishers (cases 14-16) --------------------------------------------------------
EXTERNAL_RAW_EVENT = ("lamp/1", b"ON")
"""Non-JSON: ``@EventPattern('lamp/+')`` gets ``data = "ON"``, topic ``lamp/1``."""
EXTERNAL_DATA_EVENT = ("lamp/2", b'{"data":5,"ts":1}')
"""JSON with ``data`` and no ``id``: an event whose data is ``5`` (the rest is dropped)."""
EXTERNAL_REQUEST = ("sensors/9", b'{"id":"abc","data":2}')
EXTERNAL_REPLY = (
    "sensors/9/reply",
    b'{"response":{"topic":"sensors/9","data":2},"isDisposed":true,"id":"abc"}',
)
"""Handler ``sensors/+``: the reply goes to the concrete topic + ``/reply``, id echoed."""
EXTERNAL_MISLABELLED_REQUEST = ("sum", b'{"pattern":"fail_rpc","data":[1,2],"id":"r1"}')
EXTERNAL_MISLABELLED_REPLY = ("sum/reply", b'{"response":3,"isDisposed":true,"id":"r1"}')
"""Routing uses the topic; the ``pattern`` field is ignored."""

# ---- server subscriptions (cases 17, 18) ------------------------------------------------------
SERVER_SUBSCRIPTIONS_DEFAULT = (
    ("sum", 0),
    ('{"a":1,"cmd":"sum"}', 0),
    ("sensors/+/temperature/+", 0),
    ("sensors/+", 0),
    ("user_created", 0),
    ("lamp/+", 0),
    ("alerts", 2),
)
"""Some of ``service.js``'s SUBSCRIBEs (one topic per packet) with default options; ``alerts``
is ``@EventPattern('alerts', {qos: 2})``."""
SERVER_SUBSCRIPTIONS_QOS1 = (("sum", 1), ("sensors/+/temperature/+", 1), ("alerts", 2))
"""The same service with ``subscribeOptions: {qos: 1}``: extras ``qos`` still wins."""

# ---- MQTT 5 user properties (case 19) ---------------------------------------------------------
V5_CLIENT_USER_PROPERTIES = {"tenant": "t"}
"""The client-wide ``userProperties`` option of the MQTT 5 client in test_nest_wire_v5.py."""
V5_RECORD_REQUEST = b'{"pattern":"echo_props","data":":cat:","id":"<ID>"}'
"""``new MqttRecordBuilder(':cat:').setQoS(1).setProperties({userProperties:
{'x-version': '1.0.0'}}).build()``: the JSON ``data`` is the record's data."""
V5_RECORD_REQUEST_QOS = 1
V5_RECORD_USER_PROPERTIES = [("tenant", "t"), ("x-version", "1.0.0")]
"""On the PUBLISH, in this order: client-wide first, then the record's."""
V5_RECORD_REPLY = b'{"response":{"tenant":"t","x-version":"1.0.0"},"isDisposed":true,"id":"<ID>"}'
"""``echo_props`` returns ``ctx.getPacket().properties.userProperties``; the reply PUBLISH
itself has QoS 0 and no properties."""
