"""protobuf ⇄ model conversion: round trips, Go zero time, unknown enums, watch events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_access import _convert as convert
from teleport_access._models import (
    AccessRequest,
    AccessRequestDelete,
    AccessRequestFilter,
    AccessRequestPut,
    AccessReview,
    AccessReviewThreshold,
    ClaimMapping,
    PluginData,
    RequestConditions,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    ServerInfo,
    User,
    WatchInit,
)
from teleport_access._proto import event_pb2, types_pb2

GO_ZERO = convert.GO_ZERO_SECONDS

# --- strategies ---------------------------------------------------------------------------------

text = st.text(max_size=12)
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-_.@0123456789", min_size=1, max_size=12)
string_tuples = st.lists(text, max_size=3).map(tuple)
labels = st.dictionaries(names, string_tuples, max_size=3)
# Any instant protobuf Timestamps can carry except Go's zero time itself (which means "unset").
times = st.none() | st.datetimes(
    min_value=datetime(1, 1, 1, 0, 0, 1),
    max_value=datetime(9999, 12, 31, 23, 59, 59),
    timezones=st.just(UTC),
)
states = st.sampled_from(list(RequestState)) | st.integers(5, 1000).map(RequestState)
thresholds = st.builds(
    AccessReviewThreshold,
    name=text,
    filter=text,
    approve=st.integers(0, 2**32 - 1),
    deny=st.integers(0, 2**32 - 1),
)
reviews = st.builds(
    AccessReview,
    author=names,
    proposed_state=states,
    reason=text,
    created=times,
    roles=string_tuples,
    annotations=labels,
    threshold_indexes=st.lists(st.integers(0, 2**32 - 1), max_size=3).map(tuple),
)
requests = st.builds(
    AccessRequest,
    id=names,
    user=text,
    roles=string_tuples,
    state=states,
    request_reason=text,
    resolve_reason=text,
    created=times,
    expires=times,
    resource_expires=times,
    max_duration=times,
    system_annotations=labels,
    resolve_annotations=labels,
    reviews=st.lists(reviews, max_size=3).map(tuple),
    thresholds=st.lists(thresholds, max_size=3).map(tuple),
    suggested_reviewers=string_tuples,
)
claims = st.lists(
    st.builds(ClaimMapping, claim=text, value=text, roles=string_tuples), max_size=2
).map(tuple)
request_conditions = st.builds(
    RequestConditions,
    roles=string_tuples,
    claims_to_roles=claims,
    annotations=labels,
    thresholds=st.lists(thresholds, max_size=2).map(tuple),
    suggested_reviewers=string_tuples,
    search_as_roles=string_tuples,
    max_duration=st.none()
    | st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=3650)),
)
review_conditions = st.builds(
    ReviewConditions,
    roles=string_tuples,
    claims_to_roles=claims,
    where=text,
    preview_as_roles=string_tuples,
)
role_conditions = st.builds(
    RoleConditions,
    request=st.none() | request_conditions,
    review_requests=st.none() | review_conditions,
)
roles = st.builds(
    Role, name=names, version=st.sampled_from(["v5", "v6", "v7"]), allow=role_conditions
)
users = st.builds(User, name=names, roles=string_tuples, traits=labels)


def _wire(message: types_pb2.AccessRequestV3) -> types_pb2.AccessRequestV3:
    return types_pb2.AccessRequestV3.FromString(message.SerializeToString())


# --- round trips --------------------------------------------------------------------------------


@given(requests)
def test_access_request_survives_a_round_trip_through_the_wire(request: AccessRequest) -> None:
    assert convert.access_request_from_proto(_wire(convert.access_request_to_proto(request))) == (
        request
    )


@given(roles)
def test_role_survives_a_round_trip_through_the_wire(role: Role) -> None:
    wire = types_pb2.RoleV6.FromString(convert.role_to_proto(role).SerializeToString())
    assert convert.role_from_proto(wire) == role


@given(users)
def test_user_survives_a_round_trip_through_the_wire(user: User) -> None:
    wire = types_pb2.UserV2.FromString(convert.user_to_proto(user).SerializeToString())
    assert convert.user_from_proto(wire) == user


@given(names, st.dictionaries(names, st.dictionaries(names, text, max_size=3), max_size=3))
def test_plugin_data_survives_a_round_trip(
    request_id: str, entries: dict[str, dict[str, str]]
) -> None:
    message = convert.plugin_data_to_proto(request_id, entries)
    decoded = convert.plugin_data_from_proto(
        types_pb2.PluginDataV3.FromString(message.SerializeToString())
    )
    assert decoded == [
        PluginData(request_id=request_id, plugin=plugin, data=data)
        for plugin, data in sorted(entries.items())
    ]


def test_server_info_survives_a_round_trip() -> None:
    info = ServerInfo(
        cluster_name="c",
        server_version="17.1.0",
        proxy_public_addr="proxy.example.com:443",
        advanced_access_workflows=True,
        remote_addr="127.0.0.1:5555",
    )
    assert convert.server_info_from_proto(convert.server_info_to_proto(info)) == info


def test_filter_survives_a_round_trip() -> None:
    value = AccessRequestFilter(id="a", user="b", state=RequestState.PENDING)
    assert convert.filter_from_proto(convert.filter_to_proto(value)) == value
    assert convert.filter_to_proto(None) == types_pb2.AccessRequestFilter()


# --- timestamps ---------------------------------------------------------------------------------


def test_go_zero_time_decodes_as_none() -> None:
    message = types_pb2.AccessRequestV3()
    message.Spec.Created.seconds = GO_ZERO
    assert convert.access_request_from_proto(message).created is None


def test_absent_timestamp_decodes_as_none() -> None:
    assert convert.access_request_from_proto(types_pb2.AccessRequestV3()).expires is None


def test_unset_non_nullable_timestamps_are_sent_as_go_zero_time() -> None:
    message = convert.access_request_to_proto(AccessRequest(id="r"))
    for field in ("Created", "Expires", "MaxDuration", "SessionTTL"):
        assert message.Spec.HasField(field), field
        assert (getattr(message.Spec, field).seconds, getattr(message.Spec, field).nanos) == (
            GO_ZERO,
            0,
        )
    review = convert.review_to_proto(AccessReview(author="a"))
    assert review.Created.seconds == GO_ZERO


def test_unset_nullable_timestamps_are_left_out() -> None:
    message = convert.access_request_to_proto(AccessRequest(id="r"))
    assert not message.Metadata.HasField("Expires")
    assert not message.Spec.HasField("AssumeStartTime")
    assert not message.Spec.HasField("ResourceExpiry")


def test_timestamps_decode_as_aware_utc_with_microseconds() -> None:
    message = types_pb2.AccessRequestV3()
    message.Spec.Created.seconds = 1_700_000_000
    message.Spec.Created.nanos = 123_456_789
    created = convert.access_request_from_proto(message).created
    assert created == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert created is not None
    assert created.tzinfo is not None


def test_resource_expiry_falls_back_to_the_spec_field_when_metadata_has_none() -> None:
    message = types_pb2.AccessRequestV3()
    message.Spec.ResourceExpiry.seconds = 1_700_000_000
    decoded = convert.access_request_from_proto(message)
    assert decoded.resource_expires == datetime.fromtimestamp(1_700_000_000, UTC)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        convert.access_request_to_proto(AccessRequest(id="r", created=datetime(2024, 1, 1)))


# --- enums and labels ---------------------------------------------------------------------------


def test_unknown_request_state_decodes_as_pseudo_member() -> None:
    message = types_pb2.AccessRequestV3()
    message.Spec.State = types_pb2.RequestState.ValueType(9)
    state = convert.access_request_from_proto(_wire(message)).state
    assert state == 9
    assert state.name == "UNKNOWN_9"


def test_labels_travel_as_label_values() -> None:
    message = convert.access_request_to_proto(
        AccessRequest(id="r", system_annotations={"pagerduty_services": ("a", "b")})
    )
    values = message.Spec.SystemAnnotations.Values
    assert list(values["pagerduty_services"].Values) == ["a", "b"]


def test_kind_version_and_namespace_are_filled_in() -> None:
    message = convert.access_request_to_proto(AccessRequest(id="r"))
    assert (message.Kind, message.Version, message.Metadata.Namespace) == (
        "access_request",
        "v3",
        "default",
    )


# --- watch events -------------------------------------------------------------------------------


def test_init_without_resource_is_watch_init_with_no_kinds() -> None:
    assert convert.watch_message_from_event(event_pb2.Event()) == WatchInit()


def test_init_with_watch_status_lists_the_confirmed_kinds() -> None:
    event = convert.init_event([types_pb2.WatchKind(Kind="access_request")])
    decoded = convert.watch_message_from_event(
        event_pb2.Event.FromString(event.SerializeToString())
    )
    assert decoded == WatchInit(confirmed_kinds=("access_request",), status_sent=True)


def test_put_event_decodes_as_access_request_put() -> None:
    request = AccessRequest(id="r1", user="alice", state=RequestState.PENDING)
    event = convert.put_event(convert.access_request_to_proto(request))
    assert convert.watch_message_from_event(event) == AccessRequestPut(request=request)


def test_delete_event_is_a_resource_header_and_decodes_as_access_request_delete() -> None:
    event = convert.delete_event("r1")
    header = event.ResourceHeader
    assert (header.Kind, header.Version, header.Metadata.Name, header.Metadata.Namespace) == (
        "access_request",
        "v3",
        "r1",
        "default",
    )
    assert convert.watch_message_from_event(event) == AccessRequestDelete(request_id="r1")


def test_events_of_other_kinds_are_ignored() -> None:
    event = event_pb2.Event(Type=event_pb2.DELETE)
    event.ResourceHeader.Kind = "role"
    assert convert.watch_message_from_event(event) is None
    put_user = event_pb2.Event(Type=event_pb2.PUT)
    put_user.User.Metadata.Name = "bob"
    assert convert.watch_message_from_event(put_user) is None
