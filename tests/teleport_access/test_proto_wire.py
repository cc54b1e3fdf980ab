"""Field numbers and types of the trimmed protos match Teleport's (checked against the public
api/proto/teleport/legacy/... sources), so bytes from a real Auth Service decode correctly."""

from __future__ import annotations

import pytest
from google.protobuf.descriptor import FieldDescriptor

from teleport_access._proto import (
    access_monitoring_rules_pb2,
    authservice_pb2,
    event_pb2,
    metadata_pb2,
    types_pb2,
    users_service_pb2,
    wrappers_pb2,
)

AMR = access_monitoring_rules_pb2
AMR_PACKAGE = "teleport.accessmonitoringrules.v1"

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
    # Access monitoring rules (api/proto/teleport/accessmonitoringrules/v1, header/v1, users/v1).
    (event_pb2.Event, "AccessMonitoringRule", 54, f"{AMR_PACKAGE}.AccessMonitoringRule"),
    (authservice_pb2.Watch, "AllowPartialSuccess", 2, "bool"),
    (AMR.AccessMonitoringRule, "metadata", 1, "teleport.header.v1.Metadata"),
    (AMR.AccessMonitoringRule, "kind", 2, "string"),
    (AMR.AccessMonitoringRule, "version", 4, "string"),
    (AMR.AccessMonitoringRule, "spec", 5, f"{AMR_PACKAGE}.AccessMonitoringRuleSpec"),
    (AMR.AccessMonitoringRuleSpec, "subjects", 1, "string"),
    (AMR.AccessMonitoringRuleSpec, "states", 2, "string"),
    (AMR.AccessMonitoringRuleSpec, "condition", 3, "string"),
    (AMR.AccessMonitoringRuleSpec, "notification", 4, f"{AMR_PACKAGE}.Notification"),
    (AMR.AccessMonitoringRuleSpec, "automatic_review", 6, f"{AMR_PACKAGE}.AutomaticReview"),
    (AMR.AccessMonitoringRuleSpec, "desired_state", 7, "string"),
    (
        AMR.AccessMonitoringRuleSpec,
        "schedules",
        8,
        f"{AMR_PACKAGE}.AccessMonitoringRuleSpec.SchedulesEntry",
    ),
    (AMR.Notification, "name", 1, "string"),
    (AMR.Notification, "recipients", 2, "string"),
    (AMR.AutomaticReview, "integration", 1, "string"),
    (AMR.AutomaticReview, "decision", 2, "string"),
    (AMR.Schedule, "time", 1, f"{AMR_PACKAGE}.TimeSchedule"),
    (AMR.TimeSchedule, "shifts", 1, f"{AMR_PACKAGE}.TimeSchedule.Shift"),
    (AMR.TimeSchedule, "timezone", 2, "string"),
    (AMR.TimeSchedule.Shift, "weekday", 1, "string"),
    (AMR.TimeSchedule.Shift, "start", 2, "string"),
    (AMR.TimeSchedule.Shift, "end", 3, "string"),
    (AMR.GetAccessMonitoringRuleRequest, "name", 1, "string"),
    (AMR.ListAccessMonitoringRulesRequest, "page_size", 1, "int64"),
    (AMR.ListAccessMonitoringRulesRequest, "page_token", 2, "string"),
    (AMR.ListAccessMonitoringRulesWithFilterRequest, "subjects", 3, "string"),
    (AMR.ListAccessMonitoringRulesWithFilterRequest, "notification_name", 4, "string"),
    (AMR.ListAccessMonitoringRulesWithFilterRequest, "automatic_review_name", 6, "string"),
    (AMR.ListAccessMonitoringRulesWithFilterResponse, "next_page_token", 2, "string"),
    (metadata_pb2.Metadata, "name", 1, "string"),
    (metadata_pb2.Metadata, "labels", 5, "teleport.header.v1.Metadata.LabelsEntry"),
    (metadata_pb2.Metadata, "expires", 6, TS),
    (metadata_pb2.Metadata, "revision", 8, "string"),
    (users_service_pb2.GetUserRequest, "name", 1, "string"),
    (users_service_pb2.GetUserRequest, "current_user", 2, "bool"),
    (users_service_pb2.GetUserRequest, "with_secrets", 3, "bool"),
    (users_service_pb2.GetUserResponse, "user", 1, "types.UserV2"),
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


def test_a_rule_round_trips_through_its_wire_form() -> None:
    from teleport_access import (
        AccessMonitoringRule,
        AutomaticReview,
        Notification,
        Schedule,
        Shift,
        TimeSchedule,
    )
    from teleport_access._convert import rule_from_proto, rule_to_proto

    rule = AccessMonitoringRule(
        name="r",
        subjects=("access_request",),
        condition="true",
        notification=Notification(name="pagerduty", recipients=("A",)),
        automatic_review=AutomaticReview(integration="builtin", decision="DENIED"),
        desired_state="reviewed",
        schedules={
            "s": Schedule(
                time=TimeSchedule(shifts=(Shift(weekday="Monday", start="09:00", end="17:00"),))
            )
        },
        labels={"env": "prod"},
        revision="abc",
    )
    wire = rule_to_proto(rule)
    assert wire.kind == "access_monitoring_rule"
    assert wire.version == "v1"
    assert rule_from_proto(AMR.AccessMonitoringRule.FromString(wire.SerializeToString())) == rule


def test_rule_events_decode_as_rule_puts_and_deletes() -> None:
    from teleport_access import AccessMonitoringRuleDelete, AccessMonitoringRulePut
    from teleport_access._convert import (
        rule_delete_event,
        rule_put_event,
        rule_to_proto,
        watch_message_from_event,
    )
    from teleport_access._models import AccessMonitoringRule

    put = watch_message_from_event(rule_put_event(rule_to_proto(AccessMonitoringRule(name="r"))))
    assert isinstance(put, AccessMonitoringRulePut)
    assert put.name == "r"
    assert watch_message_from_event(rule_delete_event("r")) == AccessMonitoringRuleDelete(name="r")
