"""teleport_pd_cli.policy.route_notification and plan with a route: Access Monitoring Rules first,
the annotation as fallback, several services never paged."""

from __future__ import annotations

from teleport_access import AccessRequest, AccessRequestPut, RequestState
from teleport_pd_cli.policy import (
    TOO_MANY_RECIPIENTS,
    ConsiderApproval,
    EnsureIncident,
    PolicySettings,
    Route,
    RouteSource,
    RuleMatch,
    Skip,
    plan,
    route_notification,
)

NOTIFY = "pagerduty_notify_service"
ANNOTATED = AccessRequest(
    id="r1",
    user="alice@example.com",
    roles=("editor",),
    state=RequestState.PENDING,
    system_annotations={NOTIFY: ["Teleport Notifications"], "pagerduty_services": ["Service 1"]},
)
BARE = AccessRequest(id="r2", user="alice@example.com", state=RequestState.PENDING)


def route(request: AccessRequest, *matches: RuleMatch) -> Route:
    return route_notification(request, matches, NOTIFY)


def test_one_recipient_overrides_the_annotation() -> None:
    chosen = route(ANNOTATED, RuleMatch(rule="amr", recipients=("Teleport Notifications Two",)))
    assert chosen.service_name == "Teleport Notifications Two"
    assert chosen.source is RouteSource.RULE
    assert chosen.rules == ("amr",)
    assert "access monitoring rule(s) amr" in chosen.describe()


def test_no_matching_rule_falls_back_to_the_annotation() -> None:
    chosen = route(ANNOTATED)
    assert chosen.service_name == "Teleport Notifications"
    assert chosen.source is RouteSource.ANNOTATION


def test_the_same_service_named_by_two_rules_counts_once() -> None:
    chosen = route(
        ANNOTATED,
        RuleMatch(rule="b", recipients=("DB On Call",)),
        RuleMatch(rule="a", recipients=("db on call ",)),
    )
    assert chosen.service_name == "db on call "
    assert chosen.rules == ("a", "b")


def test_several_services_are_not_paged_and_the_warning_names_rules_and_recipients() -> None:
    chosen = route(
        ANNOTATED,
        RuleMatch(rule="db", recipients=("DB",)),
        RuleMatch(rule="web", recipients=("Web",)),
    )
    assert chosen.service_name is None
    assert chosen.source is RouteSource.NONE
    assert chosen.skip is not None
    assert chosen.skip.warning
    assert chosen.skip.why == f"{TOO_MANY_RECIPIENTS}: 'DB' (rule db); 'Web' (rule web)"


def test_a_rule_without_recipients_does_not_route() -> None:
    assert route(ANNOTATED, RuleMatch(rule="empty", recipients=())).source is RouteSource.ANNOTATION


def test_without_rule_or_annotation_the_request_is_not_routed() -> None:
    chosen = route(BARE)
    assert chosen.service_name is None
    assert chosen.skip == Skip(what="notification", why=f"request annotation {NOTIFY} is missing")


def test_plan_pages_the_routed_service_and_still_considers_approval() -> None:
    routed = route(ANNOTATED, RuleMatch(rule="amr", recipients=("Two",)))
    steps = plan(AccessRequestPut(request=ANNOTATED), None, PolicySettings(), route=routed)
    assert isinstance(steps[0], EnsureIncident)
    assert steps[0].service_name == "Two"
    assert isinstance(steps[-1], ConsiderApproval)


def test_plan_with_several_services_skips_the_page_but_not_the_approval() -> None:
    routed = route(
        ANNOTATED, RuleMatch(rule="a", recipients=("A",)), RuleMatch(rule="b", recipients=("B",))
    )
    steps = plan(AccessRequestPut(request=ANNOTATED), None, PolicySettings(), route=routed)
    assert isinstance(steps[0], Skip)
    assert steps[0].warning
    assert isinstance(steps[-1], ConsiderApproval)


def test_a_request_without_annotations_is_paged_when_a_rule_routes_it() -> None:
    routed = route(BARE, RuleMatch(rule="amr", recipients=("Two",)))
    steps = plan(AccessRequestPut(request=BARE), None, PolicySettings(), route=routed)
    assert isinstance(steps[0], EnsureIncident)
    assert steps[0].service_name == "Two"


def test_a_request_without_annotations_or_rule_is_skipped_as_go_does() -> None:
    steps = plan(AccessRequestPut(request=BARE), None, PolicySettings())
    assert steps == [
        Skip(what="event", why="Cannot proceed further. Request is missing any annotations")
    ]
