"""Whatever the Auth Service streams, the event decoding gives models (or nothing), never a crash.

The wire: grpc decodes each `WatchEvents` message with `Event.FromString`; for bytes that do not
decode it hands over None, which `AuthClient` turns into an `APIError`. Then
`watch_message_from_event` converts the message. The properties:

* arbitrary bytes either fail to decode with protobuf's `DecodeError` or decode into an `Event`
  that converts without raising;
* `Event`s with every field filled with random values of its type (random timestamps, enum
  numbers no version defines, huge integers, odd strings, nested messages), and byte-level
  mutations of them, convert into a `WatchInit`, `AccessRequestPut`, `AccessRequestDelete` or
  None, never an exception; the same holds for `AccessRequestV3` messages (listings, Get);
* over a real gRPC stream, grpc.aio hands a message that does not decode over as None (the
  client turns that into an `APIError`; see tests/teleport_access/test_client_undecodable.py).
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from hypothesis import given
from hypothesis import strategies as st

from teleport_access._convert import access_request_from_proto, watch_message_from_event
from teleport_access._models import (
    AccessMonitoringRuleDelete,
    AccessMonitoringRulePut,
    AccessRequest,
    AccessRequestDelete,
    AccessRequestPut,
    WatchInit,
)
from teleport_access._proto import event_pb2, types_pb2

from ._settings import FUZZ

FD = _descriptor.FieldDescriptor

#: Strings that matter to the conversion: kinds, request states, Go's zero time, odd text.
STRINGS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["access_request", "role", "user", "PENDING", "APPROVED", "", "\x00", "é"]),
)
_INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
#: Timestamp seconds worth trying: Go's zero time, the epoch, datetime's limits and beyond.
SECONDS = st.one_of(
    st.sampled_from([-62135596800, 0, 253402300799, 253402300800, -(2**63), 2**63 - 1]),
    st.integers(-(2**63), 2**63 - 1),
)


def scalar(field: Any) -> st.SearchStrategy[Any]:
    if field.type in _INT_RANGES:
        low, high = _INT_RANGES[field.type]
        if field.name == "seconds":
            return SECONDS
        return st.one_of(st.integers(low, high), st.sampled_from([0, 1, -1 if low else 2, high]))
    if field.type == FD.TYPE_ENUM:  # open enums: any int32, defined or not
        return st.integers(-(2**31), 2**31 - 1) | st.sampled_from(
            [value.number for value in field.enum_type.values]
        )
    if field.type == FD.TYPE_BOOL:
        return st.booleans()
    if field.type == FD.TYPE_STRING:
        return STRINGS
    if field.type == FD.TYPE_BYTES:
        return st.binary(max_size=16)
    if field.type in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        return st.floats(width=32 if field.type == FD.TYPE_FLOAT else 64)
    raise AssertionError(f"unhandled field type {field.type} of {field.full_name}")


def fill(message: _message.Message, data: st.DataObject, depth: int) -> None:
    """Set a random selection of `message`'s fields to random values of their types."""
    fields: list[Any] = list(message.DESCRIPTOR.fields)
    for field in fields:
        if not data.draw(st.booleans()):
            continue
        is_message = field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)
        if is_message and field.message_type.GetOptions().map_entry:
            entry: Any = field.message_type
            key_field = entry.fields_by_name["key"]
            value_field = entry.fields_by_name["value"]
            target = getattr(message, field.name)
            for _ in range(data.draw(st.integers(0, 2))):
                key = data.draw(scalar(key_field))
                if value_field.type == FD.TYPE_MESSAGE:
                    if depth > 0:
                        fill(target[key], data, depth - 1)
                else:
                    target[key] = data.draw(scalar(value_field))
        elif is_message:
            if depth <= 0:
                continue
            if field.is_repeated:
                for _ in range(data.draw(st.integers(0, 2))):
                    fill(getattr(message, field.name).add(), data, depth - 1)
            else:
                child = getattr(message, field.name)
                child.SetInParent()
                fill(child, data, depth - 1)
        elif field.is_repeated:
            getattr(message, field.name).extend(data.draw(st.lists(scalar(field), max_size=3)))
        else:
            setattr(message, field.name, data.draw(scalar(field)))


def random_event(data: st.DataObject) -> event_pb2.Event:
    event = event_pb2.Event()
    event.Type = data.draw(st.sampled_from([0, 1, 2, 3, 7, -1]))  # type: ignore[assignment]
    member = data.draw(st.sampled_from(["AccessRequest", "ResourceHeader", "WatchStatus", None]))
    if member is not None:
        target = getattr(event, member)
        target.SetInParent()
        fill(target, data, depth=5)
    if data.draw(st.booleans()):
        fill(event, data, depth=2)  # any other members, oneof switches included
    return event


def mutate(data: st.DataObject, raw: bytes) -> bytes:
    """Truncate, flip a byte, or insert bytes: most results no longer decode, some decode oddly."""
    if not raw:
        return data.draw(st.binary(max_size=32))
    position = data.draw(st.integers(0, len(raw) - 1))
    how = data.draw(st.sampled_from(["truncate", "flip", "insert"]))
    if how == "truncate":
        return raw[:position]
    if how == "flip":
        return (
            raw[:position]
            + bytes([raw[position] ^ data.draw(st.integers(1, 255))])
            + raw[position + 1 :]
        )
    return raw[:position] + data.draw(st.binary(min_size=1, max_size=8)) + raw[position:]


def convert_event(raw: bytes) -> object:
    """Decode and convert as the client does; DecodeError is what grpc turns into an error."""
    try:
        event = event_pb2.Event.FromString(raw)
    except _message.DecodeError:
        return "undecodable"
    converted = watch_message_from_event(event)
    assert converted is None or isinstance(
        converted,
        WatchInit
        | AccessRequestPut
        | AccessRequestDelete
        | AccessMonitoringRulePut
        | AccessMonitoringRuleDelete,
    )
    return converted


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_fail_to_decode_or_convert_cleanly(raw: bytes) -> None:
    convert_event(raw)


@FUZZ
@given(data=st.data())
def test_events_with_random_field_values_convert_into_models_or_none(data: st.DataObject) -> None:
    event = random_event(data)
    converted = convert_event(event.SerializeToString())
    if event.Type == event_pb2.PUT and event.WhichOneof("Resource") == "AccessRequest":
        assert isinstance(converted, AccessRequestPut)
        assert converted.request.id == event.AccessRequest.Metadata.Name


@FUZZ
@given(data=st.data())
def test_mutated_event_bytes_fail_to_decode_or_convert_cleanly(data: st.DataObject) -> None:
    convert_event(mutate(data, random_event(data).SerializeToString()))


@FUZZ
@given(data=st.data())
def test_access_requests_with_random_field_values_convert_into_models(
    data: st.DataObject,
) -> None:
    message = types_pb2.AccessRequestV3()
    fill(message, data, depth=5)
    request = access_request_from_proto(
        types_pb2.AccessRequestV3.FromString(message.SerializeToString())
    )
    assert isinstance(request, AccessRequest)
    assert request.id == message.Metadata.Name


async def test_grpc_hands_over_none_for_a_stream_message_that_does_not_decode() -> None:
    """Why `AuthClient` checks every message for None (tests/teleport_access/
    test_client_undecodable.py): grpc.aio logs the DecodeError and yields None, it does not
    raise. If a grpc release starts raising instead, this canary says so."""
    import grpc

    async def watch(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> Any:
        yield event_pb2.Event(Type=event_pb2.INIT).SerializeToString()
        yield b"\xff\xff\xff\xff"  # not an Event

    handler = grpc.method_handlers_generic_handler(
        "proto.AuthService",
        {"WatchEvents": grpc.unary_stream_rpc_method_handler(watch)},
    )
    server = grpc.aio.server()
    server.add_generic_rpc_handlers((handler,))
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            call = channel.unary_stream(
                "/proto.AuthService/WatchEvents",
                request_serializer=lambda message: message,
                response_deserializer=event_pb2.Event.FromString,
            )(b"")
            received = [event async for event in call]
    finally:
        await server.stop(None)
    assert received == [event_pb2.Event(Type=event_pb2.INIT), None]
