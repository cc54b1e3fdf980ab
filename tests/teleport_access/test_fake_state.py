"""The fake Auth Service's state machine, without gRPC: Teleport's request and plugin-data rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teleport_access import _convert as convert
from teleport_access._exceptions import (
    AccessDenied,
    AlreadyExists,
    BadParameter,
    CompareFailed,
    NotFound,
)
from teleport_access._models import (
    AccessRequest,
    AccessRequestFilter,
    AccessReview,
    AccessReviewThreshold,
    ClaimMapping,
    RequestConditions,
    RequestState,
    Role,
    RoleConditions,
    User,
)
from teleport_access._proto import event_pb2
from teleport_access.testing._fake_state import Caller, FakeAuthState, WatchFilter

ADMIN = Caller(name="admin", admin=True)
T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def state(clock: Clock) -> FakeAuthState:
    return FakeAuthState(clock=clock)


def requester_role(
    name: str,
    roles: tuple[str, ...],
    *,
    thresholds: tuple[AccessReviewThreshold, ...] = (),
    annotations: dict[str, tuple[str, ...]] | None = None,
    suggested: tuple[str, ...] = (),
    claims: tuple[ClaimMapping, ...] = (),
) -> Role:
    return Role(
        name=name,
        allow=RoleConditions(
            request=RequestConditions(
                roles=roles,
                thresholds=thresholds,
                annotations=annotations or {},
                suggested_reviewers=suggested,
                claims_to_roles=claims,
            )
        ),
    )


def create(state: FakeAuthState, user: str, roles: list[str], **kwargs: object) -> AccessRequest:
    message = state.create_request(ADMIN, user=user, roles=roles, **kwargs)  # type: ignore[arg-type]
    return convert.access_request_from_proto(message)


def review(
    state: FakeAuthState, request_id: str, author: str, proposed: RequestState
) -> AccessRequest:
    message = state.submit_review(
        Caller(name=author), request_id, AccessReview(proposed_state=proposed, reason=author)
    )
    return convert.access_request_from_proto(message)


# --- creation -----------------------------------------------------------------------------------


def test_an_unknown_requester_gets_the_default_threshold_for_each_role(
    state: FakeAuthState, clock: Clock
) -> None:
    request = create(state, "alice", ["admin", "dba"])
    assert request.thresholds == (AccessReviewThreshold(name="default", approve=1, deny=1),)
    assert request.state is RequestState.PENDING
    assert request.created == T0
    assert request.resource_expires == T0 + timedelta(weeks=1)
    assert request.expires == T0 + timedelta(hours=12)
    rtm = state.request_proto(request.id).Spec.RoleThresholdMapping
    assert {role: [list(s.Indexes) for s in sets.Sets] for role, sets in rtm.items()} == {
        "admin": [[0]],
        "dba": [[0]],
    }


def test_a_requester_with_roles_may_only_request_what_they_allow(state: FakeAuthState) -> None:
    state.add_role(requester_role("dev", ("db-*", "^ops-(a|b)$")))
    state.add_user(User(name="alice", roles=("dev",)))
    create(state, "alice", ["db-read", "ops-a"])
    with pytest.raises(BadParameter, match='user "alice" can not request role "ops-c"'):
        create(state, "alice", ["ops-c"])


def test_deny_request_rules_win_over_allow(state: FakeAuthState) -> None:
    role = requester_role("dev", ("*",))
    role = Role(
        name="dev",
        allow=role.allow,
        deny=RoleConditions(request=RequestConditions(roles=("root",))),
    )
    state.add_role(role)
    state.add_user(User(name="alice", roles=("dev",)))
    with pytest.raises(BadParameter, match="can not request role"):
        create(state, "alice", ["root"])


def test_claims_to_roles_allow_requests_through_the_requesters_traits(
    state: FakeAuthState,
) -> None:
    state.add_role(
        requester_role(
            "sso", (), claims=(ClaimMapping(claim="groups", value="sre", roles=("prod",)),)
        )
    )
    state.add_user(User(name="alice", roles=("sso",), traits={"groups": ("sre",)}))
    state.add_user(User(name="bob", roles=("sso",), traits={"groups": ("dev",)}))
    create(state, "alice", ["prod"])
    with pytest.raises(BadParameter):
        create(state, "bob", ["prod"])


def test_system_annotations_expand_traits_and_drop_denied_values(state: FakeAuthState) -> None:
    allow = requester_role(
        "pd",
        ("admin",),
        annotations={
            "pagerduty_services": ("{{internal.pd_services}}", "Ops"),
            "team": ("team-{{external.team}}",),
            "broken": ("{{email.local(external.mail)}}",),
        },
    )
    state.add_role(
        Role(
            name="pd",
            allow=allow.allow,
            deny=RoleConditions(
                request=RequestConditions(annotations={"pagerduty_services": ("Ops",)})
            ),
        )
    )
    state.add_user(
        User(name="alice", roles=("pd",), traits={"pd_services": ("DB", "Web"), "team": ("sre",)})
    )
    request = create(state, "alice", ["admin"])
    assert request.system_annotations == {
        "pagerduty_services": ("DB", "Web"),
        "team": ("team-sre",),
    }


def test_suggested_reviewers_come_from_roles_unless_given(state: FakeAuthState) -> None:
    state.add_role(requester_role("dev", ("admin",), suggested=("bob", "carol", "bob")))
    state.add_user(User(name="alice", roles=("dev",)))
    assert create(state, "alice", ["admin"]).suggested_reviewers == ("bob", "carol")
    given = create(state, "alice", ["admin"], suggested_reviewers=["dave"])
    assert given.suggested_reviewers == ("dave",)


def test_equal_thresholds_are_stored_once_and_sets_combine_per_role(
    state: FakeAuthState,
) -> None:
    two = AccessReviewThreshold(name="two", approve=2, deny=1)
    state.add_role(requester_role("a", ("admin",), thresholds=(two,)))
    state.add_role(requester_role("b", ("admin", "dba"), thresholds=(two,)))
    state.add_role(requester_role("c", ("dba",)))  # no thresholds: the default
    state.add_user(User(name="alice", roles=("a", "b", "c")))
    request = create(state, "alice", ["admin", "dba"])
    assert request.thresholds == (two, AccessReviewThreshold(name="default", approve=1, deny=1))
    rtm = state.request_proto(request.id).Spec.RoleThresholdMapping
    assert [list(s.Indexes) for s in rtm["admin"].Sets] == [[0], [0]]
    assert [list(s.Indexes) for s in rtm["dba"].Sets] == [[0], [1]]


def test_a_request_cannot_be_created_in_the_past(state: FakeAuthState) -> None:
    with pytest.raises(BadParameter, match="in the past"):
        create(state, "alice", ["admin"], resource_expires=T0 - timedelta(seconds=1))


def test_request_ids_are_unique(state: FakeAuthState) -> None:
    create(state, "alice", ["admin"], request_id="r1")
    with pytest.raises(AlreadyExists, match="already exists"):
        create(state, "alice", ["admin"], request_id="r1")


# --- review counting (Teleport's calculateReviewBasedResolution) --------------------------------


def test_every_threshold_set_of_every_role_must_pass_to_approve(state: FakeAuthState) -> None:
    two = AccessReviewThreshold(name="two", approve=2, deny=2)
    state.add_role(requester_role("a", ("admin",), thresholds=(two,)))
    state.add_role(requester_role("c", ("dba",)))
    state.add_user(User(name="alice", roles=("a", "c")))
    request = create(state, "alice", ["admin", "dba"])
    # One approval meets "dba"'s default threshold but only half of "admin"'s.
    assert review(state, request.id, "r1", RequestState.APPROVED).state is RequestState.PENDING
    after = review(state, request.id, "r2", RequestState.APPROVED)
    assert after.state is RequestState.APPROVED
    assert after.resolve_reason == "r2"  # the reason of the review that resolved it


def test_one_denial_meeting_any_deny_count_denies(state: FakeAuthState) -> None:
    request = create(
        state,
        "alice",
        ["admin"],
        thresholds=[AccessReviewThreshold(approve=3, deny=1)],
    )
    review(state, request.id, "r1", RequestState.APPROVED)
    assert review(state, request.id, "r2", RequestState.DENIED).state is RequestState.DENIED


def test_any_one_threshold_of_a_set_approves(state: FakeAuthState) -> None:
    request = create(
        state,
        "alice",
        ["admin"],
        thresholds=[
            AccessReviewThreshold(name="many", approve=3, deny=3),
            AccessReviewThreshold(name="few", approve=1, deny=3),
        ],
    )
    assert review(state, request.id, "r1", RequestState.APPROVED).state is RequestState.APPROVED


def test_approval_moves_the_resource_expiry_to_the_access_expiry(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    after = review(state, request.id, "r1", RequestState.APPROVED)
    assert after.resource_expires == request.expires


def test_reviews_record_the_threshold_indexes_they_count_toward(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"], thresholds=[AccessReviewThreshold(approve=2)])
    after = review(state, request.id, "r1", RequestState.APPROVED)
    assert after.reviews[0].threshold_indexes == (0,)
    assert after.reviews[0].created == T0


def test_a_request_without_thresholds_does_not_support_reviews(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"], thresholds=[])
    with pytest.raises(BadParameter, match="does not support reviews"):
        review(state, request.id, "r1", RequestState.APPROVED)


def test_reviewing_an_unknown_request_is_not_found(state: FakeAuthState) -> None:
    with pytest.raises(NotFound):
        review(state, "nope", "r1", RequestState.APPROVED)


def test_the_duplicate_review_check_comes_before_the_resolved_check(state: FakeAuthState) -> None:
    # A plugin retrying its own approval must learn it already reviewed (the Go plugins treat
    # that as success), not that the request is resolved.
    request = create(state, "alice", ["admin"])
    review(state, request.id, "plugin", RequestState.APPROVED)
    with pytest.raises(AccessDenied, match="has already reviewed this request"):
        review(state, request.id, "plugin", RequestState.APPROVED)
    with pytest.raises(AccessDenied, match="has been already approved"):
        review(state, request.id, "other", RequestState.DENIED)


# --- SetAccessRequestState ----------------------------------------------------------------------


def test_a_denied_request_stays_denied(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    state.set_state(ADMIN, request.id, RequestState.DENIED)
    with pytest.raises(BadParameter, match="already denied"):
        state.set_state(ADMIN, request.id, RequestState.APPROVED)


def test_requesters_cannot_set_the_state_of_their_own_requests(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    with pytest.raises(AccessDenied, match="own access request"):
        state.set_state(Caller(name="alice"), request.id, RequestState.APPROVED)


def test_narrowing_to_a_role_that_was_not_requested_is_refused(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    with pytest.raises(BadParameter, match="not a member"):
        state.set_state(ADMIN, request.id, RequestState.APPROVED, roles=["root"])


# --- listing ------------------------------------------------------------------------------------


def test_pages_resume_from_the_next_key_even_when_requests_change_between_pages(
    state: FakeAuthState,
) -> None:
    for i in range(5):
        create(state, f"user{i}", ["admin"], request_id=f"r{i}")
    first = state.list_requests(AccessRequestFilter(), limit=2, start_key="")
    assert [m.Metadata.Name for m in first.requests] == ["r0", "r1"]
    state.delete_request(ADMIN, "r0")
    create(state, "late", ["admin"], request_id="r00")  # sorts before the next key
    second = state.list_requests(AccessRequestFilter(), limit=2, start_key=first.next_key)
    assert [m.Metadata.Name for m in second.requests] == ["r2", "r3"]
    last = state.list_requests(AccessRequestFilter(), limit=2, start_key=second.next_key)
    assert [m.Metadata.Name for m in last.requests] == ["r4"]
    assert last.next_key == ""


def test_listing_sorts_by_user_descending(state: FakeAuthState) -> None:
    for user in ("bob", "alice", "carol"):
        create(state, user, ["admin"])
    page = state.list_requests(
        AccessRequestFilter(), limit=0, start_key="", sort=3, descending=True
    )
    assert [m.Spec.User for m in page.requests] == ["carol", "bob", "alice"]


def test_a_malformed_start_key_is_a_bad_parameter(state: FakeAuthState) -> None:
    with pytest.raises(BadParameter, match="invalid start key"):
        state.list_requests(AccessRequestFilter(), limit=1, start_key="garbage")


def test_the_needs_review_scope_hides_own_and_reviewed_requests(state: FakeAuthState) -> None:
    mine = create(state, "bob", ["admin"], thresholds=[AccessReviewThreshold(approve=5)])
    reviewed = create(state, "alice", ["admin"], thresholds=[AccessReviewThreshold(approve=5)])
    waiting = create(state, "alice", ["dba"])
    review(state, reviewed.id, "bob", RequestState.APPROVED)
    page = state.list_requests(
        AccessRequestFilter(), limit=0, start_key="", scope=2, requester="bob"
    )
    assert [m.Metadata.Name for m in page.requests] == [waiting.id]
    assert mine.id not in [m.Metadata.Name for m in page.requests]


# --- expiry and events --------------------------------------------------------------------------


def test_requests_past_their_resource_expiry_are_deleted_with_an_event(
    state: FakeAuthState, clock: Clock
) -> None:
    events: list[event_pb2.Event] = []
    state.subscribe(events.append)
    request = create(state, "alice", ["admin"], resource_expires=T0 + timedelta(minutes=5))
    clock.now = T0 + timedelta(minutes=4)
    assert state.expire_due() == []
    clock.now = T0 + timedelta(minutes=5)
    assert state.expire_due() == [request.id]
    assert [e.Type for e in events] == [event_pb2.PUT, event_pb2.DELETE]
    assert events[1].ResourceHeader.Metadata.Name == request.id


def test_plugin_data_is_purged_an_hour_after_the_access_expiry(
    state: FakeAuthState, clock: Clock
) -> None:
    request = create(state, "alice", ["admin"], expires=T0 + timedelta(hours=2))
    state.update_plugin_data(
        kind="access_request", resource=request.id, plugin="pd", set_={"a": "1"}, expect={}
    )
    state.expire(request.id)
    clock.now = T0 + timedelta(hours=2, minutes=59)
    state.expire_due()
    assert state.plugin_data(request.id, "pd") == {"a": "1"}
    clock.now = T0 + timedelta(hours=3)
    state.expire_due()
    assert state.plugin_data(request.id, "pd") is None


def test_only_puts_are_filtered_by_a_watch_filter() -> None:
    flt = WatchFilter.parse({"user": "alice", "state": "PENDING"})
    assert flt.matches(AccessRequest(id="x", user="alice", state=RequestState.PENDING))
    assert not flt.matches(AccessRequest(id="x", user="alice", state=RequestState.APPROVED))
    assert not flt.matches(AccessRequest(id="x", user="bob", state=RequestState.PENDING))


def test_a_watch_filter_refuses_unknown_keys_and_states() -> None:
    with pytest.raises(BadParameter, match="unknown filter key"):
        WatchFilter.parse({"owner": "x"})
    with pytest.raises(BadParameter, match="unknown request state"):
        WatchFilter.parse({"state": "PROMOTED"})


# --- plugin data --------------------------------------------------------------------------------


def test_expectations_against_absent_data_must_all_be_empty(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    with pytest.raises(CompareFailed, match='field "a"'):
        state.update_plugin_data(
            kind="access_request",
            resource=request.id,
            plugin="pd",
            set_={"a": "1"},
            expect={"a": "0"},
        )
    state.update_plugin_data(
        kind="access_request", resource=request.id, plugin="pd", set_={"a": "1"}, expect={"a": ""}
    )
    assert state.plugin_data(request.id, "pd") == {"a": "1"}


def test_only_access_request_plugin_data_is_supported(state: FakeAuthState) -> None:
    with pytest.raises(BadParameter, match="unsupported resource kind"):
        state.get_plugin_data(kind="node")


def test_plugin_entries_are_separate(state: FakeAuthState) -> None:
    request = create(state, "alice", ["admin"])
    for plugin in ("pd", "slack"):
        state.update_plugin_data(
            kind="access_request", resource=request.id, plugin=plugin, set_={"k": plugin}, expect={}
        )
    (item,) = state.get_plugin_data(kind="access_request", resource=request.id, plugin="pd")
    assert {name: dict(e.Data) for name, e in item.Spec.Entries.items()} == {
        "pd": {"k": "pd"},
        "slack": {"k": "slack"},
    }
    assert state.get_plugin_data(kind="access_request", resource=request.id, plugin="jira") == []
