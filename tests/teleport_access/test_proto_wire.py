"""Field numbers and types of the trimmed protos match Teleport's (checked against the public
api/proto/teleport/legacy/... sources), so bytes from a real Auth Service decode correctly."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor

from teleport_access._proto import authservice_pb2, event_pb2, types_pb2, wrappers_pb2

# (message class, field name, number, type); the type column catches e.g. int64 vs Timestamp.
TS = "google.protobuf.Timestamp"
FIELDS = [
    (event_pb2.Event, "Type", 1, "proto.Operation"),
    (event_pb2.Event, "ResourceHeader", 2, "types.ResourceHeader"),
    (event_pb2.Event, "User", 8, "types.UserV2"),
    (event_pb2.Event, "Role", 9, "types.RoleV6"),
    (event_pb2.Event, "AccessRequest", 14, "types.AccessRequestV3"),
    (event_pb2.Event, "WatchStatus", 43, "types.WatchStatusV1"),
    (types_pb2.Metadata, "Name", 1, "string"),
    (types_pb2.Metadata, "Namespace", 2, "string"),
    (types_pb2.Metadata, "Labels", 5, "types.Metadata.LabelsEntry"),
    (types_pb2.Metadata, "Expires", 6, TS),
    (types_pb2.Metadata, "Revision", 8, "string"),
    (types_pb2.AccessRequestSpecV3, "User", 1, "string"),
    (types_pb2.AccessRequestSpecV3, "Roles", 2, "string"),
    (types_pb2.AccessRequestSpecV3, "State", 3, "types.RequestState"),
    (types_pb2.AccessRequestSpecV3, "Created", 4, TS),
    (types_pb2.AccessRequestSpecV3, "Expires", 5, TS),
    (types_pb2.AccessRequestSpecV3, "RequestReason", 6, "string"),
    (types_pb2.AccessRequestSpecV3, "ResolveReason", 7, "string"),
    (types_pb2.AccessRequestSpecV3, "ResolveAnnotations", 8, "wrappers.LabelValues"),
    (types_pb2.AccessRequestSpecV3, "SystemAnnotations", 9, "wrappers.LabelValues"),
    (types_pb2.AccessRequestSpecV3, "Thresholds", 10, "types.AccessReviewThreshold"),
    (types_pb2.AccessRequestSpecV3, "Reviews", 12, "types.AccessReview"),
    (types_pb2.AccessRequestSpecV3, "SuggestedReviewers", 13, "string"),
    (types_pb2.AccessRequestSpecV3, "MaxDuration", 17, TS),
    (types_pb2.AccessRequestSpecV3, "SessionTTL", 18, TS),
    (types_pb2.AccessRequestSpecV3, "AssumeStartTime", 21, TS),
    (types_pb2.AccessRequestSpecV3, "ResourceExpiry", 22, TS),
    (types_pb2.AccessReview, "Author", 1, "string"),
    (types_pb2.AccessReview, "ProposedState", 3, "types.RequestState"),
    (types_pb2.AccessReview, "Created", 5, TS),
    (types_pb2.AccessReview, "Annotations", 6, "wrappers.LabelValues"),
    (types_pb2.AccessReview, "ThresholdIndexes", 7, "uint32"),
    (types_pb2.AccessReviewThreshold, "Approve", 3, "uint32"),
    (types_pb2.AccessReviewThreshold, "Deny", 4, "uint32"),
    (types_pb2.PluginDataUpdateParams, "Set", 4, "types.PluginDataUpdateParams.SetEntry"),
    (types_pb2.PluginDataUpdateParams, "Expect", 5, "types.PluginDataUpdateParams.ExpectEntry"),
    (types_pb2.RoleConditions, "Request", 6, "types.AccessRequestConditions"),
    (types_pb2.RoleConditions, "ReviewRequests", 15, "types.AccessReviewConditions"),
    (types_pb2.AccessRequestConditions, "MaxDuration", 7, "int64"),
    (types_pb2.AccessReviewConditions, "Where", 3, "string"),
    (types_pb2.UserSpecV2, "Roles", 4, "string"),
    (types_pb2.UserSpecV2, "Traits", 5, "wrappers.LabelValues"),
    (types_pb2.WatchKind, "Filter", 4, "types.WatchKind.FilterEntry"),
    (authservice_pb2.PingResponse, "ProxyPublicAddr", 4, "string"),
    (authservice_pb2.PingResponse, "RemoteAddr", 7, "string"),
    (authservice_pb2.PingResponse, "LicenseExpiry", 10, TS),
    (authservice_pb2.Features, "AdvancedAccessWorkflows", 7, "bool"),
    (authservice_pb2.RequestStateSetter, "Annotations", 5, "wrappers.LabelValues"),
    (authservice_pb2.RequestStateSetter, "Roles", 6, "string"),
    (authservice_pb2.ListAccessRequestsRequest, "Limit", 4, "int32"),
    (authservice_pb2.ListAccessRequestsRequest, "StartKey", 5, "string"),
    (authservice_pb2.ListAccessRequestsResponse, "NextKey", 2, "string"),
    (wrappers_pb2.LabelValues, "Values", 1, "wrappers.LabelValues.ValuesEntry"),
]


def _type_name(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    names = {
        FieldDescriptor.TYPE_STRING: "string",
        FieldDescriptor.TYPE_BOOL: "bool",
        FieldDescriptor.TYPE_UINT32: "uint32",
        FieldDescriptor.TYPE_INT32: "int32",
        FieldDescriptor.TYPE_INT64: "int64",
    }
    return names[field.type]


@pytest.mark.parametrize(("message", "name", "number", "type_name"), FIELDS)
def test_field_has_teleports_number_and_type(
    message: type, name: str, number: int, type_name: str
) -> None:
    field = message.DESCRIPTOR.fields_by_name[name]  # type: ignore[attr-defined]
    assert (field.number, _type_name(field)) == (number, type_name)


def test_unknown_event_members_are_skipped_without_error() -> None:
    # An Event carrying oneof member 45 (AccessList), which the trimmed proto does not know:
    # field 45, wire type 2, two bytes of payload.
    data = bytes([0x08, 0x01]) + bytes([0xEA, 0x02, 0x02, 0x0A, 0x00])
    event = event_pb2.Event.FromString(data)
    assert event.Type == event_pb2.PUT
    assert event.WhichOneof("Resource") is None
    assert event.SerializeToString() == data  # unknown fields survive a round trip


def test_request_state_values_match_teleport() -> None:
    assert [types_pb2.NONE, types_pb2.PENDING, types_pb2.APPROVED, types_pb2.DENIED] == [0, 1, 2, 3]
    assert types_pb2.PROMOTED == 4
