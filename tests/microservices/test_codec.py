from pydantic import BaseModel

from nestpy.microservices.codec import (
    MISSING,
    decode_request,
    decode_response,
    encode_event,
    encode_no_handler,
    encode_request,
    encode_response,
)


def test_request_and_event_packets_are_byte_identical_to_nest():
    assert encode_request("sum", [1, 2, 3], "abc") == b'{"pattern":"sum","data":[1,2,3],"id":"abc"}'
    assert encode_request({"cmd": "sum"}, "é", "1") == (
        '{"pattern":{"cmd":"sum"},"data":"é","id":"1"}'.encode()
    )
    assert encode_event("user_created", {"a": 1}) == b'{"pattern":"user_created","data":{"a":1}}'


def test_reply_packets_keep_nest_key_order():
    assert encode_response("i", response=6, is_disposed=True) == (
        b'{"response":6,"isDisposed":true,"id":"i"}'
    )
    assert encode_response("i", response=None) == b'{"response":null,"id":"i"}'
    assert encode_response("i", is_disposed=True) == b'{"isDisposed":true,"id":"i"}'
    assert encode_response("i", err={"status": "error", "message": "bad"}, is_disposed=True) == (
        b'{"err":{"status":"error","message":"bad"},"isDisposed":true,"id":"i"}'
    )
    assert encode_no_handler("i") == (
        b'{"id":"i","status":"error","err":"There is no matching message handler defined in '
        b'the remote service."}'
    )


def test_models_are_encoded_as_json_objects():
    class Point(BaseModel):
        x: int

    assert encode_response("i", response=Point(x=1), is_disposed=True).startswith(
        b'{"response":{"x":1}'
    )


def test_incoming_requests_follow_nest_deserializer_rules():
    request = decode_request(b'{"pattern":"sum","data":[1],"id":"7"}', "sum")
    assert (request.pattern, request.data, request.id) == ("sum", [1], "7")
    raw = decode_request(b"ON", "lamp/1")
    assert (raw.pattern, raw.data, raw.id) == ("lamp/1", "ON", None)
    cropped = decode_request(b'{"data":5,"ts":1}', "t")
    assert (cropped.data, cropped.id) == (5, None)
    foreign = decode_request(b'{"temp":5}', "t")
    assert foreign.data == {"temp": 5}
    assert decode_request(b"", "t").data == ""
    assert decode_request(b"\xff\xfe", "t").data == "\ufffd\ufffd"


def test_incoming_replies():
    reply = decode_response(b'{"response":6,"isDisposed":true,"id":"i"}')
    assert reply is not None
    assert (reply.id, reply.response, reply.err, reply.is_disposed) == ("i", 6, MISSING, True)
    no_handler = decode_response(encode_no_handler("i"))
    assert no_handler is not None
    assert no_handler.err.startswith("There is no matching message handler")
    external = decode_response(b'{"id":"i","value":1}')
    assert external is not None
    assert (external.response, external.is_disposed) == ({"id": "i", "value": 1}, True)
    assert decode_response(b"not json") is None
    assert decode_response(b"[1,2]") is None


def test_a_reply_nested_too_deeply_is_dropped():
    assert decode_response(b"[" * 100_000 + b"]" * 100_000) is None
