"""Protobuf messages ⇄ the domain models of `teleport_access._models`, both ways.

The one place wire shapes meet the rest of the package. Rules every converter follows:

* Timestamps. Go's zero time (0001-01-01T00:00:00Z, `seconds = -62135596800, nanos = 0`) and an
  absent field both decode to None. On encode, None becomes Go's zero time for the fields Teleport
  declares non-nullable (AccessRequestSpecV3.Created/Expires/MaxDuration/SessionTTL,
  AccessReview.Created), because the Go marshaller always emits them; for nullable fields None
  leaves the field unset. A timestamp is never sent as `seconds = 0` (that would mean 1970).
  Datetimes come out timezone-aware in UTC with microsecond precision; naive datetimes are refused.
* `map<string, []string>` (traits, annotations) travels as `wrappers.LabelValues`.
* Enum values Teleport adds later decode to `RequestState` pseudo-members (`UNKNOWN_<n>`) and
  encode back to the same number. Unknown fields are ignored by the protobuf runtime.
* Durations declared `int64 (casttype) = "Duration"` are nanoseconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from google.protobuf import timestamp_pb2

from teleport_access._models import (
    AccessMonitoringRule,
    AccessMonitoringRuleDelete,
    AccessMonitoringRuleFilter,
    AccessMonitoringRulePut,
    AccessRequest,
    AccessRequestDelete,
    AccessRequestFilter,
    AccessRequestPut,
    AccessReview,
    AccessReviewThreshold,
    AutomaticReview,
    ClaimMapping,
    Notification,
    PluginData,
    RequestConditions,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    Schedule,
    ServerInfo,
    Shift,
    TimeSchedule,
    User,
    WatchInit,
    WatchMessage,
)
from teleport_access._proto import (
    access_monitoring_rules_pb2,
    authservice_pb2,
    event_pb2,
    types_pb2,
    wrappers_pb2,
)

__all__ = [
    "GO_ZERO_SECONDS",
    "KIND_ACCESS_MONITORING_RULE",
    "KIND_ACCESS_REQUEST",
    "KIND_PLUGIN_DATA",
    "access_request_from_proto",
    "access_request_to_proto",
    "delete_event",
    "filter_from_proto",
    "filter_to_proto",
    "init_event",
    "labels_from_proto",
    "labels_to_proto",
    "plugin_data_from_proto",
    "plugin_data_to_proto",
    "put_event",
    "review_from_proto",
    "review_to_proto",
    "role_from_proto",
    "role_to_proto",
    "rule_delete_event",
    "rule_filter_from_proto",
    "rule_filter_to_proto",
    "rule_from_proto",
    "rule_put_event",
    "rule_to_proto",
    "server_info_from_proto",
    "server_info_to_proto",
    "threshold_from_proto",
    "threshold_to_proto",
    "timestamp_to_datetime",
    "user_from_proto",
    "user_to_proto",
    "watch_message_from_event",
]

#: Go's zero `time.Time` as a protobuf Timestamp's seconds (with nanos = 0).
GO_ZERO_SECONDS = -62135596800
KIND_ACCESS_REQUEST = "access_request"
KIND_ACCESS_MONITORING_RULE = "access_monitoring_rule"
KIND_PLUGIN_DATA = "plugin_data"
KIND_WATCH_STATUS = "watch_status"
DEFAULT_NAMESPACE = "default"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- scalars ------------------------------------------------------------------------------------


def timestamp_to_datetime(ts: timestamp_pb2.Timestamp | None) -> datetime | None:
    """A Timestamp as an aware UTC datetime; None for None, Go's zero time, or out of range."""
    if ts is None or (ts.seconds == GO_ZERO_SECONDS and ts.nanos == 0):
        return None
    try:
        return _EPOCH + timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
    except OverflowError:
        # Outside what datetime can hold (Teleport never sends this); treat as unknown.
        return None


def _get_time(message: object, field: str) -> datetime | None:
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    value: timestamp_pb2.Timestamp = getattr(message, field)
    return timestamp_to_datetime(value)


def _set_time(message: object, field: str, value: datetime | None, *, nullable: bool) -> None:
    target: timestamp_pb2.Timestamp = getattr(message, field)
    if value is None:
        if nullable:
            message.ClearField(field)  # type: ignore[attr-defined]
        else:
            target.seconds = GO_ZERO_SECONDS
            target.nanos = 0
        return
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field}: naive datetime {value!r}; pass a timezone-aware datetime")
    delta = value - _EPOCH
    seconds = delta.days * 86400 + delta.seconds
    target.seconds = seconds
    target.nanos = delta.microseconds * 1000


def _duration_from_ns(ns: int) -> timedelta | None:
    return None if ns == 0 else timedelta(microseconds=ns // 1000)


def _duration_to_ns(value: timedelta | None) -> int:
    if value is None:
        return 0
    return ((value.days * 86400 + value.seconds) * 1_000_000 + value.microseconds) * 1000


def labels_from_proto(message: wrappers_pb2.LabelValues) -> dict[str, tuple[str, ...]]:
    """`wrappers.LabelValues` (Go `map[string][]string`) as a dict of tuples."""
    return {key: tuple(values.Values) for key, values in message.Values.items()}


def labels_to_proto(
    value: Mapping[str, Iterable[str]] | None, target: wrappers_pb2.LabelValues
) -> None:
    """Fill `target` (cleared first) from a mapping of string lists."""
    target.Clear()
    for key, values in (value or {}).items():
        target.Values[key].Values.extend(values)


def _state(value: int) -> RequestState:
    return RequestState(value)


def _state_number(value: RequestState | int) -> types_pb2.RequestState.ValueType:
    return types_pb2.RequestState.ValueType(int(value))


# --- access requests ----------------------------------------------------------------------------


def threshold_from_proto(message: types_pb2.AccessReviewThreshold) -> AccessReviewThreshold:
    return AccessReviewThreshold(
        name=message.Name, filter=message.Filter, approve=message.Approve, deny=message.Deny
    )


def threshold_to_proto(threshold: AccessReviewThreshold) -> types_pb2.AccessReviewThreshold:
    return types_pb2.AccessReviewThreshold(
        Name=threshold.name,
        Filter=threshold.filter,
        Approve=threshold.approve,
        Deny=threshold.deny,
    )


def review_from_proto(message: types_pb2.AccessReview) -> AccessReview:
    return AccessReview(
        author=message.Author,
        proposed_state=_state(message.ProposedState),
        reason=message.Reason,
        created=_get_time(message, "Created"),
        roles=tuple(message.Roles),
        annotations=labels_from_proto(message.Annotations),
        threshold_indexes=tuple(message.ThresholdIndexes),
    )


def review_to_proto(review: AccessReview) -> types_pb2.AccessReview:
    message = types_pb2.AccessReview(
        Author=review.author,
        Roles=review.roles,
        ProposedState=_state_number(review.proposed_state),
        Reason=review.reason,
        ThresholdIndexes=review.threshold_indexes,
    )
    _set_time(message, "Created", review.created, nullable=False)
    labels_to_proto(review.annotations, message.Annotations)
    return message


def access_request_from_proto(message: types_pb2.AccessRequestV3) -> AccessRequest:
    """Decode an `AccessRequestV3`; the id is `Metadata.Name`."""
    spec = message.Spec
    resource_expires = _get_time(message.Metadata, "Expires")
    if resource_expires is None:
        resource_expires = _get_time(spec, "ResourceExpiry")
    return AccessRequest(
        id=message.Metadata.Name,
        user=spec.User,
        roles=tuple(spec.Roles),
        state=_state(spec.State),
        request_reason=spec.RequestReason,
        resolve_reason=spec.ResolveReason,
        created=_get_time(spec, "Created"),
        expires=_get_time(spec, "Expires"),
        resource_expires=resource_expires,
        max_duration=_get_time(spec, "MaxDuration"),
        system_annotations=labels_from_proto(spec.SystemAnnotations),
        resolve_annotations=labels_from_proto(spec.ResolveAnnotations),
        reviews=tuple(review_from_proto(r) for r in spec.Reviews),
        thresholds=tuple(threshold_from_proto(t) for t in spec.Thresholds),
        suggested_reviewers=tuple(spec.SuggestedReviewers),
    )


def access_request_to_proto(request: AccessRequest) -> types_pb2.AccessRequestV3:
    """Encode an `AccessRequest` as Teleport would send it (kind, version, namespace filled in).

    Fields the model does not carry (role threshold mapping, resource ids, session TTL, ...) are
    left at their zero values; non-nullable timestamps among them are sent as Go's zero time.
    """
    message = types_pb2.AccessRequestV3(Kind=KIND_ACCESS_REQUEST, Version="v3")
    message.Metadata.Name = request.id
    message.Metadata.Namespace = DEFAULT_NAMESPACE
    _set_time(message.Metadata, "Expires", request.resource_expires, nullable=True)
    spec = message.Spec
    spec.User = request.user
    spec.Roles.extend(request.roles)
    spec.State = _state_number(request.state)
    spec.RequestReason = request.request_reason
    spec.ResolveReason = request.resolve_reason
    _set_time(spec, "Created", request.created, nullable=False)
    _set_time(spec, "Expires", request.expires, nullable=False)
    _set_time(spec, "MaxDuration", request.max_duration, nullable=False)
    _set_time(spec, "SessionTTL", None, nullable=False)
    labels_to_proto(request.system_annotations, spec.SystemAnnotations)
    labels_to_proto(request.resolve_annotations, spec.ResolveAnnotations)
    spec.Reviews.extend(review_to_proto(r) for r in request.reviews)
    spec.Thresholds.extend(threshold_to_proto(t) for t in request.thresholds)
    spec.SuggestedReviewers.extend(request.suggested_reviewers)
    return message


def filter_from_proto(message: types_pb2.AccessRequestFilter) -> AccessRequestFilter:
    return AccessRequestFilter(id=message.ID, user=message.User, state=_state(message.State))


def filter_to_proto(value: AccessRequestFilter | None) -> types_pb2.AccessRequestFilter:
    if value is None:
        return types_pb2.AccessRequestFilter()
    return types_pb2.AccessRequestFilter(
        ID=value.id, User=value.user, State=_state_number(value.state)
    )


# --- plugin data --------------------------------------------------------------------------------


def plugin_data_from_proto(message: types_pb2.PluginDataV3) -> list[PluginData]:
    """One `PluginData` per plugin entry of a resource's plugin data, sorted by plugin name."""
    request_id = message.Metadata.Name
    return [
        PluginData(request_id=request_id, plugin=plugin, data=dict(entry.Data))
        for plugin, entry in sorted(message.Spec.Entries.items())
    ]


def plugin_data_to_proto(
    request_id: str,
    entries: Mapping[str, Mapping[str, str]],
    *,
    expires: datetime | None = None,
) -> types_pb2.PluginDataV3:
    message = types_pb2.PluginDataV3(
        Kind=KIND_PLUGIN_DATA, SubKind=KIND_ACCESS_REQUEST, Version="v3"
    )
    message.Metadata.Name = request_id
    message.Metadata.Namespace = DEFAULT_NAMESPACE
    _set_time(message.Metadata, "Expires", expires, nullable=True)
    for plugin, data in entries.items():
        message.Spec.Entries[plugin].Data.update(data)
    return message


# --- roles and users ----------------------------------------------------------------------------


def _claims_from_proto(messages: Iterable[types_pb2.ClaimMapping]) -> tuple[ClaimMapping, ...]:
    return tuple(ClaimMapping(claim=m.Claim, value=m.Value, roles=tuple(m.Roles)) for m in messages)


def _claims_to_proto(claims: Sequence[ClaimMapping]) -> list[types_pb2.ClaimMapping]:
    return [types_pb2.ClaimMapping(Claim=c.claim, Value=c.value, Roles=c.roles) for c in claims]


def _conditions_from_proto(message: types_pb2.RoleConditions) -> RoleConditions:
    request = None
    if message.HasField("Request"):
        r = message.Request
        request = RequestConditions(
            roles=tuple(r.Roles),
            claims_to_roles=_claims_from_proto(r.ClaimsToRoles),
            annotations=labels_from_proto(r.Annotations),
            thresholds=tuple(threshold_from_proto(t) for t in r.Thresholds),
            suggested_reviewers=tuple(r.SuggestedReviewers),
            search_as_roles=tuple(r.SearchAsRoles),
            max_duration=_duration_from_ns(r.MaxDuration),
        )
    review = None
    if message.HasField("ReviewRequests"):
        v = message.ReviewRequests
        review = ReviewConditions(
            roles=tuple(v.Roles),
            claims_to_roles=_claims_from_proto(v.ClaimsToRoles),
            where=v.Where,
            preview_as_roles=tuple(v.PreviewAsRoles),
        )
    return RoleConditions(request=request, review_requests=review)


def _conditions_to_proto(conditions: RoleConditions, target: types_pb2.RoleConditions) -> None:
    if conditions.request is not None:
        r = conditions.request
        target.Request.SetInParent()
        target.Request.Roles.extend(r.roles)
        target.Request.ClaimsToRoles.extend(_claims_to_proto(r.claims_to_roles))
        labels_to_proto(r.annotations, target.Request.Annotations)
        target.Request.Thresholds.extend(threshold_to_proto(t) for t in r.thresholds)
        target.Request.SuggestedReviewers.extend(r.suggested_reviewers)
        target.Request.SearchAsRoles.extend(r.search_as_roles)
        target.Request.MaxDuration = _duration_to_ns(r.max_duration)
    if conditions.review_requests is not None:
        v = conditions.review_requests
        target.ReviewRequests.SetInParent()
        target.ReviewRequests.Roles.extend(v.roles)
        target.ReviewRequests.ClaimsToRoles.extend(_claims_to_proto(v.claims_to_roles))
        target.ReviewRequests.Where = v.where
        target.ReviewRequests.PreviewAsRoles.extend(v.preview_as_roles)


def role_from_proto(message: types_pb2.RoleV6) -> Role:
    return Role(
        name=message.Metadata.Name,
        version=message.Version,
        allow=_conditions_from_proto(message.Spec.Allow),
        deny=_conditions_from_proto(message.Spec.Deny),
    )


def role_to_proto(role: Role) -> types_pb2.RoleV6:
    message = types_pb2.RoleV6(Kind="role", Version=role.version)
    message.Metadata.Name = role.name
    message.Metadata.Namespace = DEFAULT_NAMESPACE
    message.Spec.SetInParent()
    _conditions_to_proto(role.allow, message.Spec.Allow)
    _conditions_to_proto(role.deny, message.Spec.Deny)
    return message


def user_from_proto(message: types_pb2.UserV2) -> User:
    return User(
        name=message.Metadata.Name,
        roles=tuple(message.Spec.Roles),
        traits=labels_from_proto(message.Spec.Traits),
    )


def user_to_proto(user: User) -> types_pb2.UserV2:
    message = types_pb2.UserV2(Kind="user", Version="v2")
    message.Metadata.Name = user.name
    message.Metadata.Namespace = DEFAULT_NAMESPACE
    message.Spec.Roles.extend(user.roles)
    labels_to_proto(user.traits, message.Spec.Traits)
    return message


# --- ping ---------------------------------------------------------------------------------------


def server_info_from_proto(message: authservice_pb2.PingResponse) -> ServerInfo:
    return ServerInfo(
        cluster_name=message.ClusterName,
        server_version=message.ServerVersion,
        proxy_public_addr=message.ProxyPublicAddr,
        advanced_access_workflows=message.ServerFeatures.AdvancedAccessWorkflows,
        remote_addr=message.RemoteAddr,
    )


def server_info_to_proto(info: ServerInfo) -> authservice_pb2.PingResponse:
    message = authservice_pb2.PingResponse(
        ClusterName=info.cluster_name,
        ServerVersion=info.server_version,
        ProxyPublicAddr=info.proxy_public_addr,
        RemoteAddr=info.remote_addr,
    )
    message.ServerFeatures.AdvancedAccessWorkflows = info.advanced_access_workflows
    return message


# --- watch events -------------------------------------------------------------------------------


def watch_message_from_event(event: event_pb2.Event) -> WatchMessage | None:
    """The model for one watch-stream event, or None for events an access-request watch ignores
    (other kinds, oneof members this library does not know)."""
    resource = event.WhichOneof("Resource")
    if event.Type == event_pb2.INIT:
        kinds: tuple[str, ...] = ()
        if resource == "WatchStatus":
            kinds = tuple(k.Kind for k in event.WatchStatus.Spec.Kinds)
        return WatchInit(confirmed_kinds=kinds, status_sent=resource == "WatchStatus")
    if event.Type == event_pb2.PUT and resource == "AccessRequest":
        return AccessRequestPut(request=access_request_from_proto(event.AccessRequest))
    if event.Type == event_pb2.PUT and resource == "AccessMonitoringRule":
        return AccessMonitoringRulePut(rule=rule_from_proto(event.AccessMonitoringRule))
    if event.Type == event_pb2.DELETE and resource == "ResourceHeader":
        header = event.ResourceHeader
        if header.Kind == KIND_ACCESS_REQUEST:
            return AccessRequestDelete(request_id=header.Metadata.Name)
        if header.Kind == KIND_ACCESS_MONITORING_RULE:
            return AccessMonitoringRuleDelete(name=header.Metadata.Name)
    return None


def init_event(kinds: Iterable[types_pb2.WatchKind] | None) -> event_pb2.Event:
    """The INIT event; with `kinds` (newer servers) it carries a WatchStatus confirming them."""
    event = event_pb2.Event(Type=event_pb2.INIT)
    if kinds is not None:
        event.WatchStatus.Kind = KIND_WATCH_STATUS
        event.WatchStatus.Version = "v1"
        event.WatchStatus.Metadata.Name = KIND_WATCH_STATUS
        event.WatchStatus.Spec.Kinds.extend(kinds)
    return event


def put_event(request: types_pb2.AccessRequestV3) -> event_pb2.Event:
    event = event_pb2.Event(Type=event_pb2.PUT)
    event.AccessRequest.CopyFrom(request)
    return event


def delete_event(request_id: str) -> event_pb2.Event:
    """The DELETE event Teleport sends when an access request is deleted or expires."""
    event = event_pb2.Event(Type=event_pb2.DELETE)
    header = event.ResourceHeader
    header.Kind = KIND_ACCESS_REQUEST
    header.Version = "v3"
    header.Metadata.Name = request_id
    header.Metadata.Namespace = DEFAULT_NAMESPACE
    return event


# --- access monitoring rules --------------------------------------------------------------------


def _schedule_from_proto(message: access_monitoring_rules_pb2.Schedule) -> Schedule:
    if not message.HasField("time"):
        return Schedule()
    time = message.time
    return Schedule(
        time=TimeSchedule(
            shifts=tuple(
                Shift(weekday=shift.weekday, start=shift.start, end=shift.end)
                for shift in time.shifts
            ),
            timezone=time.timezone,
        )
    )


def rule_from_proto(
    message: access_monitoring_rules_pb2.AccessMonitoringRule,
) -> AccessMonitoringRule:
    """Decode an `AccessMonitoringRule`; its spec is flattened into the model."""
    spec = message.spec
    metadata = message.metadata
    notification = None
    if spec.HasField("notification"):
        notification = Notification(
            name=spec.notification.name, recipients=tuple(spec.notification.recipients)
        )
    review = None
    if spec.HasField("automatic_review"):
        review = AutomaticReview(
            integration=spec.automatic_review.integration,
            decision=spec.automatic_review.decision,
        )
    return AccessMonitoringRule(
        name=metadata.name,
        subjects=tuple(spec.subjects),
        condition=spec.condition,
        notification=notification,
        automatic_review=review,
        desired_state=spec.desired_state,
        states=tuple(spec.states),
        schedules={name: _schedule_from_proto(value) for name, value in spec.schedules.items()},
        description=metadata.description,
        labels=dict(metadata.labels),
        expires=_get_time(metadata, "expires"),
        revision=metadata.revision,
    )


def rule_to_proto(rule: AccessMonitoringRule) -> access_monitoring_rules_pb2.AccessMonitoringRule:
    """Encode a rule as Teleport stores it (kind and version filled in)."""
    message = access_monitoring_rules_pb2.AccessMonitoringRule(
        kind=KIND_ACCESS_MONITORING_RULE, version="v1"
    )
    metadata = message.metadata
    metadata.name = rule.name
    metadata.namespace = DEFAULT_NAMESPACE
    metadata.description = rule.description
    metadata.labels.update(rule.labels)
    _set_time(metadata, "expires", rule.expires, nullable=True)
    metadata.revision = rule.revision
    spec = message.spec
    spec.subjects.extend(rule.subjects)
    spec.states.extend(rule.states)
    spec.condition = rule.condition
    if rule.notification is not None:
        spec.notification.name = rule.notification.name
        spec.notification.recipients.extend(rule.notification.recipients)
    if rule.automatic_review is not None:
        spec.automatic_review.integration = rule.automatic_review.integration
        spec.automatic_review.decision = rule.automatic_review.decision
    spec.desired_state = rule.desired_state
    for name, schedule in rule.schedules.items():
        target = spec.schedules[name]
        if schedule.time is not None:
            target.time.timezone = schedule.time.timezone
            for shift in schedule.time.shifts:
                target.time.shifts.add(weekday=shift.weekday, start=shift.start, end=shift.end)
    return message


def rule_filter_to_proto(
    rule_filter: AccessMonitoringRuleFilter, *, page_size: int, page_token: str = ""
) -> access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterRequest:
    return access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterRequest(
        page_size=page_size,
        page_token=page_token,
        subjects=list(rule_filter.subjects),
        notification_name=rule_filter.notification_name,
        automatic_review_name=rule_filter.automatic_review_name,
    )


def rule_filter_from_proto(
    message: access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterRequest,
) -> AccessMonitoringRuleFilter:
    return AccessMonitoringRuleFilter(
        subjects=tuple(message.subjects),
        notification_name=message.notification_name,
        automatic_review_name=message.automatic_review_name,
    )


def rule_put_event(rule: access_monitoring_rules_pb2.AccessMonitoringRule) -> event_pb2.Event:
    event = event_pb2.Event(Type=event_pb2.PUT)
    event.AccessMonitoringRule.CopyFrom(rule)
    return event


def rule_delete_event(name: str) -> event_pb2.Event:
    """The DELETE event Teleport sends for a rule: a ResourceHeader built from the key."""
    event = event_pb2.Event(Type=event_pb2.DELETE)
    header = event.ResourceHeader
    header.Kind = KIND_ACCESS_MONITORING_RULE
    header.Version = "v1"
    header.Metadata.Name = name
    header.Metadata.Namespace = DEFAULT_NAMESPACE
    return event
