"""teleport_pd_cli.policy.approval_checks: every check of the auto-approval, named, in the
daemon's order, whose first failure is always `decide_approval`'s Skip."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from teleport_access._models import AccessRequest, AccessReview, RequestState
from teleport_pd_cli.config import AutoApprovalSettings
from teleport_pd_cli.policy import (
    APPROVAL_CHECKS,
    ApprovalCheck,
    Approve,
    OnCall,
    PagerDutyFacts,
    PagerDutyUser,
    PolicySettings,
    Skip,
    approval_checks,
    decide_approval,
    first_failure,
    oncall_checks,
)
from tests.teleport_pd_cli.test_policy_approval import REQUEST, SERVICES, USER, on_call

ON_CALL = (on_call("escalation_policy-1"),)


def facts(
    user: PagerDutyUser | None = USER, on_calls: Sequence[OnCall] = ON_CALL
) -> PagerDutyFacts:
    return PagerDutyFacts(user=user, services=SERVICES, on_calls=on_calls)


def by_name(checks: Sequence[ApprovalCheck]) -> dict[str, bool | None]:
    return {check.name: check.passed for check in checks}


def decide(
    request: AccessRequest, settings: PolicySettings, given: PagerDutyFacts, plugin_user: str
) -> Approve | Skip:
    return decide_approval(
        request,
        pd_user=given.user,
        services=given.services,
        on_calls=given.on_calls,
        settings=settings,
        plugin_user=plugin_user,
    )


def test_an_approvable_request_passes_every_check_in_the_daemon_s_order() -> None:
    checks = approval_checks(REQUEST, PolicySettings(), plugin_user="plugin", pagerduty=facts())
    assert tuple(check.name for check in checks) == APPROVAL_CHECKS
    assert all(check.passed for check in checks), checks
    assert first_failure(checks) is None


_SCENARIOS: dict[str, tuple[AccessRequest, PolicySettings, PagerDutyFacts]] = {
    "not pending": (attrs.evolve(REQUEST, state=RequestState.DENIED), PolicySettings(), facts()),
    "disabled": (
        REQUEST,
        PolicySettings(auto_approval=AutoApprovalSettings(enabled=False)),
        facts(),
    ),
    "no annotation": (attrs.evolve(REQUEST, system_annotations={}), PolicySettings(), facts()),
    "reviewed": (
        attrs.evolve(
            REQUEST, reviews=(AccessReview(author="plugin", proposed_state=RequestState.APPROVED),)
        ),
        PolicySettings(),
        facts(),
    ),
    "not an email": (attrs.evolve(REQUEST, user="alice"), PolicySettings(), facts()),
    "roles": (
        REQUEST,
        PolicySettings(auto_approval=AutoApprovalSettings(approve_roles=("viewer",))),
        facts(),
    ),
    "no user": (REQUEST, PolicySettings(), facts(user=None)),
    "other user": (
        REQUEST,
        PolicySettings(),
        facts(user=attrs.evolve(USER, email="m" + USER.email)),
    ),
    "no service": (REQUEST, PolicySettings(), PagerDutyFacts(user=USER, services=SERVICES[2:])),
    "not on call": (REQUEST, PolicySettings(), facts(on_calls=(on_call("escalation_policy-3"),))),
    "tier": (
        REQUEST,
        PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=1)),
        facts(on_calls=(on_call("escalation_policy-1", level=2),)),
    ),
}


@pytest.mark.parametrize("scenario", sorted(_SCENARIOS))
def test_the_first_failing_check_is_the_daemon_s_skip(scenario: str) -> None:
    request, settings, given = _SCENARIOS[scenario]
    checks = approval_checks(request, settings, plugin_user="plugin", pagerduty=given)
    failed = first_failure(checks)
    decided = decide(request, settings, given, "plugin")
    assert isinstance(decided, Skip)
    assert failed is not None
    assert failed.skip == decided
    assert failed.detail == decided.why
    # Nothing before the first failure is left unmade.
    before = checks[: checks.index(failed)]
    assert all(check.passed for check in before)


def test_checks_after_a_failure_are_still_made_when_their_facts_exist() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(approve_roles=("viewer",)))
    request = attrs.evolve(REQUEST, state=RequestState.APPROVED)
    checks = by_name(approval_checks(request, settings, pagerduty=facts()))
    assert checks["pending"] is False
    assert checks["approve_roles"] is False
    assert checks["on_call"] is True


def test_pagerduty_is_not_consulted_for_a_requester_that_is_not_an_email() -> None:
    checks = approval_checks(
        attrs.evolve(REQUEST, user="alice"), PolicySettings(), pagerduty=facts()
    )
    made = by_name(checks)
    assert made["requester_email"] is False
    assert [made[name] for name in APPROVAL_CHECKS[6:]] == [None] * 4
    assert "not an exact email" in checks[6].detail


def test_without_pagerduty_s_answers_its_checks_are_not_made() -> None:
    checks = by_name(approval_checks(REQUEST, PolicySettings()))
    assert [checks[name] for name in APPROVAL_CHECKS[:6]] == [True] * 6
    assert [checks[name] for name in APPROVAL_CHECKS[6:]] == [None] * 4


def test_on_call_above_the_tier_limit_passes_on_call_and_fails_the_level() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=2))
    given = facts(on_calls=(on_call("escalation_policy-1", level=3),))
    checks = approval_checks(REQUEST, settings, pagerduty=given)
    made = by_name(checks)
    assert made["on_call"] is True
    assert made["escalation_level"] is False
    assert checks[-2].detail == "on call in escalation policy escalation_policy-1 at level(s) 3"


def test_an_allowed_level_names_the_limit() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=2))
    checks = approval_checks(REQUEST, settings, pagerduty=facts())
    assert checks[-1].detail == "level(s) 1 within max_escalation_level 2"


def test_oncall_checks_are_the_email_and_pagerduty_checks_of_a_request() -> None:
    checks, decision = oncall_checks(
        USER.email, ["Service 2", "Service 1"], PolicySettings(), pagerduty=facts()
    )
    assert tuple(check.name for check in checks) == ("requester_email", *APPROVAL_CHECKS[6:])
    assert all(check.passed for check in checks)
    full = approval_checks(REQUEST, PolicySettings(), pagerduty=facts())
    assert checks[1:] == full[6:]
    assert decision == decide(REQUEST, PolicySettings(), facts(), "")


def test_oncall_checks_do_not_ask_about_an_address_that_is_not_an_email() -> None:
    checks, decision = oncall_checks("alice", ["Service 1"], PolicySettings(), pagerduty=facts())
    assert [check.passed for check in checks] == [False, None, None, None, None]
    assert isinstance(decision, Skip)
    assert decision.why == "'alice' does not look like a valid email"


def test_oncall_checks_name_the_first_failure_as_their_decision() -> None:
    _, decision = oncall_checks(
        USER.email, ["Service 1"], PolicySettings(), pagerduty=facts(on_calls=())
    )
    assert decision == Skip(what="approval", why="user is not on call")
