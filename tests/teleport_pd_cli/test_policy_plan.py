"""teleport_pd_cli.policy.plan: the steps for every request event, given the plugin data."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from teleport_access._models import (
    AccessRequest,
    AccessRequestDelete,
    AccessRequestPut,
    AccessReview,
    RequestState,
)
from teleport_pd_cli.config import AutoApprovalSettings, RequestAnnotations
from teleport_pd_cli.policy import (
    AdoptIncident,
    ConsiderApproval,
    EnsureIncident,
    PolicySettings,
    PostReviewNotes,
    ResolveIncident,
    Skip,
    Step,
    plan,
    review_note,
)
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag

CREATED = datetime(2021, 6, 1, 13, 27, 17, tzinfo=UTC)
ANNOTATIONS = {
    "pagerduty_notify_service": ["Teleport Notifications"],
    "pagerduty_services": ["Service 2", "Service 1", "Service 2"],
}
PENDING = AccessRequest(
    id="req-1",
    user="requester-oss@example.com",
    roles=("editor",),
    state=RequestState.PENDING,
    request_reason="because of",
    created=CREATED,
    system_annotations=ANNOTATIONS,
)
SETTINGS = PolicySettings()
INCIDENT = PagerDutyData(
    user=PENDING.user, roles=("editor",), created=CREATED, service_id="S1", incident_id="P1"
)


def review(
    author: str, state: RequestState = RequestState.APPROVED, reason: str = "ok"
) -> AccessReview:
    return AccessReview(author=author, proposed_state=state, reason=reason, created=CREATED)


def put(request: AccessRequest) -> AccessRequestPut:
    return AccessRequestPut(request=request)


def kinds(steps: list[Step]) -> list[str]:
    return [type(step).__name__ for step in steps]


# -- pending ------------------------------------------------------------------------------------


def test_a_new_pending_request_gets_an_incident_and_an_approval_check() -> None:
    steps = plan(put(PENDING), None, SETTINGS, plugin_user="plugin")
    assert kinds(steps) == ["EnsureIncident", "ConsiderApproval"]
    ensure = steps[0]
    assert isinstance(ensure, EnsureIncident)
    assert ensure.service_name == "Teleport Notifications"
    assert ensure.incident_key == "teleport-access-request/req-1"
    assert ensure.title == "Access request from requester-oss@example.com"
    assert ensure.body.startswith("requester-oss@example.com requested permissions for roles")
    approval = steps[1]
    assert isinstance(approval, ConsiderApproval)
    assert approval.service_names == ("Service 1", "Service 2")


def test_the_incident_body_carries_the_link_when_the_web_url_is_known() -> None:
    settings = PolicySettings(web_proxy_url="https://teleport.example.com")
    ensure = plan(put(PENDING), None, settings)[0]
    assert isinstance(ensure, EnsureIncident)
    assert "proceed to https://teleport.example.com/web/requests/req-1\n" in ensure.body


def test_the_first_notify_value_is_paged_in_its_original_order() -> None:
    request = attrs.evolve(
        PENDING, system_annotations={"pagerduty_notify_service": ["Zeta", "Alpha"]}
    )
    ensure = plan(put(request), None, SETTINGS)[0]
    assert isinstance(ensure, EnsureIncident)
    assert ensure.service_name == "Zeta"


def test_a_pending_request_whose_incident_is_recorded_only_gets_the_approval_check() -> None:
    steps = plan(put(PENDING), INCIDENT, SETTINGS, plugin_user="plugin")
    assert kinds(steps) == ["ConsiderApproval"]


def test_plugin_data_without_an_incident_id_gets_the_incident_again() -> None:
    claimed = attrs.evolve(INCIDENT, incident_id="", service_id="")
    steps = plan(put(PENDING), claimed, SETTINGS)
    assert kinds(steps) == ["EnsureIncident", "ConsiderApproval"]
    assert "no incident id" in steps[0].why


def test_reviews_of_a_new_request_are_noted_after_the_incident_is_ensured() -> None:
    request = attrs.evolve(PENDING, reviews=(review("r1"), review("r2", RequestState.DENIED)))
    steps = plan(put(request), None, SETTINGS)
    assert kinds(steps) == ["EnsureIncident", "PostReviewNotes", "ConsiderApproval"]
    notes = steps[1]
    assert isinstance(notes, PostReviewNotes)
    assert notes.notes == (review_note(request.reviews[0]), review_note(request.reviews[1]))


def test_only_a_review_beyond_the_stored_count_leads_to_notes() -> None:
    request = attrs.evolve(PENDING, reviews=(review("r1"), review("r2")))
    assert kinds(plan(put(request), attrs.evolve(INCIDENT, reviews_count=2), SETTINGS)) == [
        "ConsiderApproval"
    ]
    steps = plan(put(request), attrs.evolve(INCIDENT, reviews_count=1), SETTINGS)
    assert kinds(steps) == ["PostReviewNotes", "ConsiderApproval"]
    assert "2 review(s), 1 already posted" in steps[0].why


def test_a_request_without_any_annotation_is_skipped_entirely() -> None:
    request = attrs.evolve(PENDING, system_annotations={})
    steps = plan(put(request), None, SETTINGS)
    assert steps == [
        Skip(what="event", why="Cannot proceed further. Request is missing any annotations")
    ]


def test_a_missing_notify_annotation_skips_paging_but_not_approval() -> None:
    request = attrs.evolve(PENDING, system_annotations={"pagerduty_services": ["Service 1"]})
    steps = plan(put(request), None, SETTINGS)
    assert steps[0] == Skip(
        what="notification", why="request annotation pagerduty_notify_service is missing"
    )
    assert isinstance(steps[1], ConsiderApproval)


def test_an_empty_notify_annotation_is_skipped_as_present_but_empty() -> None:
    request = attrs.evolve(
        PENDING, system_annotations={"pagerduty_notify_service": [""], "other": ["x"]}
    )
    assert plan(put(request), None, SETTINGS)[0] == Skip(
        what="notification", why="request annotation pagerduty_notify_service is present but empty"
    )


def test_configured_annotation_names_are_used() -> None:
    settings = PolicySettings(annotations=RequestAnnotations(notify_service="page", services="oc"))
    request = attrs.evolve(PENDING, system_annotations={"page": ["Svc"], "oc": ["A"]})
    steps = plan(put(request), None, settings)
    assert isinstance(steps[0], EnsureIncident)
    assert steps[0].service_name == "Svc"
    assert steps[1] == ConsiderApproval(service_names=("A",), why=steps[1].why)


def test_approval_is_not_reconsidered_once_the_plugin_has_reviewed() -> None:
    request = attrs.evolve(PENDING, reviews=(review("plugin"),))
    steps = plan(
        put(request), attrs.evolve(INCIDENT, reviews_count=1), SETTINGS, plugin_user="plugin"
    )
    assert steps == [Skip(what="approval", why="Already reviewed the request")]


def test_a_missing_services_annotation_skips_the_approval() -> None:
    request = attrs.evolve(
        PENDING, system_annotations={"pagerduty_notify_service": ["Teleport Notifications"]}
    )
    steps = plan(put(request), None, SETTINGS)
    assert steps[-1] == Skip(
        what="approval", why="request annotation pagerduty_services is missing"
    )


def test_a_non_email_requester_is_a_warning_and_no_approval() -> None:
    request = attrs.evolve(PENDING, user="Alice <alice@example.com>")
    skip = plan(put(request), INCIDENT, SETTINGS)[-1]
    assert skip == Skip(
        what="approval",
        why="'Alice <alice@example.com>' does not look like a valid email",
        warning=True,
    )


def test_roles_outside_approve_roles_skip_the_approval_before_any_lookup() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(approve_roles=("dev-*",)))
    request = attrs.evolve(PENDING, roles=("dev-a", "admin"))
    skip = plan(put(request), INCIDENT, settings)[-1]
    assert isinstance(skip, Skip)
    assert "role(s) admin not allowed by approve_roles ['dev-*']" in skip.why


def test_disabled_auto_approval_plans_no_approval() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(enabled=False))
    assert plan(put(PENDING), INCIDENT, settings) == [
        Skip(what="approval", why="auto-approval is disabled in the configuration")
    ]


# -- resolved -----------------------------------------------------------------------------------


def test_an_approved_request_resolves_its_incident_with_the_reason() -> None:
    request = attrs.evolve(PENDING, state=RequestState.APPROVED, resolve_reason="okay")
    steps = plan(put(request), INCIDENT, SETTINGS)
    assert steps == [
        ResolveIncident(
            tag=ResolutionTag.APPROVED,
            reason="okay",
            note="Access request has been approved\nReason: okay",
            why="the request is APPROVED",
        )
    ]


def test_denied_and_promoted_requests_resolve_with_their_tags() -> None:
    for state, tag in [
        (RequestState.DENIED, ResolutionTag.DENIED),
        (RequestState.PROMOTED, ResolutionTag.PROMOTED),
    ]:
        step = plan(put(attrs.evolve(PENDING, state=state)), INCIDENT, SETTINGS)[0]
        assert isinstance(step, ResolveIncident)
        assert step.tag is tag


def test_the_deciding_review_is_noted_before_the_resolution() -> None:
    request = attrs.evolve(
        PENDING,
        state=RequestState.APPROVED,
        resolve_reason="finally okay",
        reviews=(review("r1", reason="okay"), review("r2", reason="finally okay")),
    )
    steps = plan(put(request), attrs.evolve(INCIDENT, reviews_count=1), SETTINGS)
    assert kinds(steps) == ["PostReviewNotes", "ResolveIncident"]


def test_a_resolved_request_without_plugin_data_has_nothing_to_resolve() -> None:
    request = attrs.evolve(PENDING, state=RequestState.APPROVED)
    assert plan(put(request), None, SETTINGS) == [
        Skip(what="resolution", why="no incident was opened for this request")
    ]


def test_an_already_resolved_incident_is_not_resolved_again() -> None:
    request = attrs.evolve(PENDING, state=RequestState.DENIED)
    data = attrs.evolve(INCIDENT, resolution=ResolutionTag.DENIED, resolve_reason="no")
    assert plan(put(request), data, SETTINGS) == [
        Skip(what="resolution", why="the incident is already denied")
    ]


def test_a_resolved_request_whose_incident_was_never_recorded_adopts_it_first() -> None:
    request = attrs.evolve(PENDING, state=RequestState.APPROVED)
    data = attrs.evolve(INCIDENT, incident_id="", service_id="")
    steps = plan(put(request), data, SETTINGS)
    assert kinds(steps) == ["AdoptIncident", "ResolveIncident"]
    assert steps[0] == AdoptIncident(incident_key="teleport-access-request/req-1", why=steps[0].why)


def test_resolved_requests_never_get_an_approval_check() -> None:
    request = attrs.evolve(PENDING, state=RequestState.APPROVED)
    assert not any(
        isinstance(step, ConsiderApproval) for step in plan(put(request), INCIDENT, SETTINGS)
    )


def test_an_unknown_state_is_a_warning_and_nothing_else() -> None:
    request = attrs.evolve(PENDING, state=RequestState.NONE)
    assert plan(put(request), INCIDENT, SETTINGS) == [
        Skip(what="event", why="Unknown request state NONE", warning=True)
    ]


# -- deleted ------------------------------------------------------------------------------------


def test_a_deleted_request_with_an_open_incident_resolves_it_as_expired() -> None:
    steps = plan(AccessRequestDelete(request_id="req-1"), INCIDENT, SETTINGS)
    assert steps == [
        ResolveIncident(
            tag=ResolutionTag.EXPIRED,
            reason="",
            note="Access request has been expired\n",
            why="the request expired or was deleted",
        )
    ]


def test_a_deleted_request_without_plugin_data_is_skipped() -> None:
    steps = plan(AccessRequestDelete(request_id="req-1"), None, SETTINGS)
    assert steps == [Skip(what="resolution", why="no incident was opened for this request")]


def test_a_deleted_request_that_was_resolved_is_not_expired() -> None:
    data = attrs.evolve(INCIDENT, resolution=ResolutionTag.APPROVED)
    steps = plan(AccessRequestDelete(request_id="req-1"), data, SETTINGS)
    assert steps == [Skip(what="resolution", why="the incident is already approved")]


def test_a_deleted_request_whose_incident_was_never_recorded_adopts_it_first() -> None:
    data = attrs.evolve(INCIDENT, incident_id="")
    steps = plan(AccessRequestDelete(request_id="req-1"), data, SETTINGS)
    assert kinds(steps) == ["AdoptIncident", "ResolveIncident"]


def test_every_step_explains_itself() -> None:
    request = attrs.evolve(PENDING, reviews=(review("r1"),))
    events: list[tuple[AccessRequestPut | AccessRequestDelete, PagerDutyData | None]] = [
        (put(request), None),
        (
            put(attrs.evolve(request, state=RequestState.APPROVED)),
            attrs.evolve(INCIDENT, incident_id=""),
        ),
        (AccessRequestDelete(request_id="req-1"), INCIDENT),
    ]
    for event, data in events:
        for step in plan(event, data, SETTINGS):
            assert step.why


# -- page_when_approved = false ---------------------------------------------------------------

APPROVE_FIRST = PolicySettings(auto_approval=AutoApprovalSettings(page_when_approved=False))


def test_by_default_the_incident_comes_before_the_approval() -> None:
    steps = plan(put(PENDING), None, SETTINGS)
    assert [type(step) for step in steps] == [EnsureIncident, ConsiderApproval]
    assert isinstance(steps[0], EnsureIncident)
    assert not steps[0].unless_approved


def test_when_told_the_approval_comes_first_and_the_incident_only_unless_approved() -> None:
    steps = plan(put(PENDING), None, APPROVE_FIRST)
    assert [type(step) for step in steps] == [ConsiderApproval, EnsureIncident]
    assert isinstance(steps[1], EnsureIncident)
    assert steps[1].unless_approved


def test_without_a_possible_approval_the_incident_is_opened_as_usual() -> None:
    no_services = attrs.evolve(
        PENDING, system_annotations={"pagerduty_notify_service": ["Teleport Notifications"]}
    )
    steps = plan(put(no_services), None, APPROVE_FIRST)
    assert isinstance(steps[0], EnsureIncident)
    assert not steps[0].unless_approved
    assert isinstance(steps[-1], Skip)


def test_once_the_incident_exists_the_order_is_the_usual_one() -> None:
    reviewed = attrs.evolve(PENDING, reviews=(review("reviewer1@example.com"),))
    steps = plan(put(reviewed), INCIDENT, APPROVE_FIRST)
    assert [type(step) for step in steps] == [PostReviewNotes, ConsiderApproval]
