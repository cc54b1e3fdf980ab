"""teleport_pd_cli.policy.decide_approval: who gets auto-approved, and every way not to be."""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import pytest

from teleport_access._models import AccessRequest, AccessReview, RequestState
from teleport_pd_cli.config import AutoApprovalSettings
from teleport_pd_cli.policy import (
    Approve,
    OnCall,
    PagerDutyService,
    PagerDutyUser,
    PolicySettings,
    Skip,
    decide_approval,
)

REQUEST = AccessRequest(
    id="req-1",
    user="requester-oss@example.com",
    roles=("editor",),
    state=RequestState.PENDING,
    system_annotations={
        "pagerduty_notify_service": ["Teleport Notifications"],
        "pagerduty_services": ["Service 1", "Service 2"],
    },
)
USER = PagerDutyUser(id="user-1", name="Test User", email="requester-oss@example.com")
SERVICES = (
    PagerDutyService(id="service-2", name="Service 1", escalation_policy_id="escalation_policy-1"),
    PagerDutyService(id="service-3", name="Service 2", escalation_policy_id="escalation_policy-2"),
    PagerDutyService(id="service-4", name="Service 3", escalation_policy_id="escalation_policy-3"),
)
SETTINGS = PolicySettings()


def on_call(policy: str, level: int | None = 1, user: str = "user-1") -> OnCall:
    return OnCall(user_id=user, escalation_policy_id=policy, escalation_level=level)


def decide(
    request: AccessRequest = REQUEST,
    *,
    user: PagerDutyUser | None = USER,
    services: Sequence[PagerDutyService] = SERVICES,
    on_calls: Sequence[OnCall] = (),
    settings: PolicySettings = SETTINGS,
    plugin_user: str = "",
) -> Approve | Skip:
    return decide_approval(
        request,
        pd_user=user,
        services=services,
        on_calls=on_calls,
        settings=settings,
        plugin_user=plugin_user,
    )


def assert_not_approved(result: Approve | Skip) -> Skip:
    assert isinstance(result, Skip), result
    assert result.what == "approval"
    return result


def test_a_user_on_call_for_an_annotated_service_is_approved_with_the_go_reason() -> None:
    result = decide(on_calls=[on_call("escalation_policy-1")])
    assert isinstance(result, Approve)
    assert result.reason == (
        "Access requested by user Test User (requester-oss@example.com) who is on call in "
        "service(s) Service 1"
    )
    assert result.service_names == ("Service 1",)


def test_on_call_in_the_second_annotated_policy_is_approved() -> None:
    result = decide(on_calls=[on_call("escalation_policy-2")])
    assert isinstance(result, Approve)
    assert result.service_names == ("Service 2",)


def test_every_matching_service_is_named_in_annotation_order() -> None:
    result = decide(on_calls=[on_call("escalation_policy-2"), on_call("escalation_policy-1")])
    assert isinstance(result, Approve)
    assert result.reason.endswith("service(s) Service 1,Service 2")


def test_services_sharing_one_policy_are_all_named() -> None:
    services = (
        PagerDutyService(id="a", name="Service 1", escalation_policy_id="ep"),
        PagerDutyService(id="b", name="Service 2", escalation_policy_id="ep"),
    )
    result = decide(services=services, on_calls=[on_call("ep")])
    assert isinstance(result, Approve)
    assert result.service_names == ("Service 1", "Service 2")


def test_service_names_match_case_insensitively_like_pagerduty() -> None:
    services = (PagerDutyService(id="a", name="SERVICE 1", escalation_policy_id="ep"),)
    result = decide(services=services, on_calls=[on_call("ep")])
    assert isinstance(result, Approve)
    assert result.service_names == ("SERVICE 1",)


def test_an_email_differing_only_in_ascii_case_is_the_same_user() -> None:
    user = attrs.evolve(USER, email="Requester-OSS@Example.COM")
    assert isinstance(decide(user=user, on_calls=[on_call("escalation_policy-1")]), Approve)


# -- never approved -----------------------------------------------------------------------------


def test_not_on_call_is_not_approved() -> None:
    assert assert_not_approved(decide(on_calls=[])).why == "user is not on call"


def test_on_call_only_for_a_service_outside_the_annotation_is_not_approved() -> None:
    result = decide(on_calls=[on_call("escalation_policy-3")])
    assert assert_not_approved(result).why == "user is not on call"


def test_on_call_entries_of_another_user_do_not_count() -> None:
    result = decide(on_calls=[on_call("escalation_policy-1", user="user-2")])
    assert assert_not_approved(result).why == "user is not on call"


def test_an_unknown_pagerduty_user_is_not_approved() -> None:
    assert assert_not_approved(decide(user=None)).why == "email is not found"


@pytest.mark.parametrize(
    "email",
    [
        "xrequester-oss@example.com",
        "requester-oss@example.com.evil.test",
        "requester-oss@example.co",
        "requester-oss+x@example.com",
        " requester-oss@example.com",
    ],
)
def test_a_pagerduty_user_whose_email_only_resembles_the_requesters_is_not_approved(
    email: str,
) -> None:
    result = decide(user=attrs.evolve(USER, email=email), on_calls=[on_call("escalation_policy-1")])
    skip = assert_not_approved(result)
    assert skip.warning
    assert "is not the requester" in skip.why


@pytest.mark.parametrize(
    "requester",
    [
        "\u212aate@example.com",  # KELVIN SIGN: Unicode lower-casing makes it "kate@..."
        "kаte@example.com",  # CYRILLIC SMALL A
        "kate\u200b@example.com",  # ZERO WIDTH SPACE
        "KATE@EXAMPLE.COM\u0307",  # a combining mark
    ],
)
def test_a_unicode_look_alike_requester_is_not_approved_as_the_ascii_user(requester: str) -> None:
    user = PagerDutyUser(id="user-1", name="Kate", email="kate@example.com")
    result = decide(
        attrs.evolve(REQUEST, user=requester), user=user, on_calls=[on_call("escalation_policy-1")]
    )
    assert_not_approved(result)


@pytest.mark.parametrize(
    "requester",
    [
        "requester-oss",
        "Requester <requester-oss@example.com>",
        "requester-oss@example.com (me)",
        '"requester-oss"@example.com',
        "requester-oss@example.com ",
        "requester-oss@[127.0.0.1]",
    ],
)
def test_a_requester_name_that_is_not_exactly_an_email_is_not_approved(requester: str) -> None:
    user = attrs.evolve(USER, email=requester)
    result = decide(
        attrs.evolve(REQUEST, user=requester), user=user, on_calls=[on_call("escalation_policy-1")]
    )
    skip = assert_not_approved(result)
    assert skip.why.endswith("does not look like a valid email")
    assert skip.warning


def test_the_bare_a_at_b_form_is_an_email_like_in_go() -> None:
    user = attrs.evolve(USER, email="a@b")
    result = decide(
        attrs.evolve(REQUEST, user="a@b"), user=user, on_calls=[on_call("escalation_policy-1")]
    )
    assert isinstance(result, Approve)


@pytest.mark.parametrize(
    "state", [RequestState.APPROVED, RequestState.DENIED, RequestState.PROMOTED, RequestState.NONE]
)
def test_a_request_that_is_not_pending_is_not_approved(state: RequestState) -> None:
    result = decide(attrs.evolve(REQUEST, state=state), on_calls=[on_call("escalation_policy-1")])
    assert "not PENDING" in assert_not_approved(result).why


def test_an_on_call_tier_above_max_escalation_level_is_not_approved() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=1))
    result = decide(settings=settings, on_calls=[on_call("escalation_policy-1", level=2)])
    assert assert_not_approved(result).why == (
        "user is on call only at escalation level(s) 2, above max_escalation_level 1"
    )


def test_an_on_call_tier_at_or_below_max_escalation_level_is_approved() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=2))
    calls = [on_call("escalation_policy-1", level=3), on_call("escalation_policy-2", level=2)]
    result = decide(settings=settings, on_calls=calls)
    assert isinstance(result, Approve)
    assert result.service_names == ("Service 2",)


def test_an_unknown_tier_is_not_approved_when_a_maximum_is_set() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(max_escalation_level=1))
    result = decide(settings=settings, on_calls=[on_call("escalation_policy-1", level=None)])
    assert_not_approved(result)


def test_a_role_outside_approve_roles_is_not_approved() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(approve_roles=("viewer",)))
    result = decide(settings=settings, on_calls=[on_call("escalation_policy-1")])
    assert "role(s) editor not allowed" in assert_not_approved(result).why


def test_disabled_auto_approval_approves_nobody() -> None:
    settings = PolicySettings(auto_approval=AutoApprovalSettings(enabled=False))
    assert_not_approved(decide(settings=settings, on_calls=[on_call("escalation_policy-1")]))


def test_a_request_the_plugin_already_reviewed_is_not_approved_again() -> None:
    request = attrs.evolve(
        REQUEST, reviews=(AccessReview(author="plugin", proposed_state=RequestState.APPROVED),)
    )
    result = decide(request, on_calls=[on_call("escalation_policy-1")], plugin_user="plugin")
    assert assert_not_approved(result).why == "Already reviewed the request"


def test_no_annotated_service_found_in_pagerduty_is_a_warning() -> None:
    result = decide(services=SERVICES[2:], on_calls=[on_call("escalation_policy-3")])
    skip = assert_not_approved(result)
    assert (skip.why, skip.warning) == ("Failed to find any service", True)


def test_a_service_without_an_escalation_policy_never_matches() -> None:
    services = (PagerDutyService(id="a", name="Service 1", escalation_policy_id=""),)
    result = decide(services=services, on_calls=[on_call("")])
    assert assert_not_approved(result).why == "Failed to find any service"


def test_without_a_services_annotation_nobody_is_approved() -> None:
    request = attrs.evolve(REQUEST, system_annotations={"pagerduty_notify_service": ["x"]})
    assert_not_approved(decide(request, on_calls=[on_call("escalation_policy-1")]))


def test_an_on_call_entry_that_names_no_user_never_approves() -> None:
    placeholder = attrs.evolve(on_call("escalation_policy-1"), user_type="schedule_reference")
    assert isinstance(decide(on_calls=[on_call("escalation_policy-1")]), Approve)
    refused = decide(on_calls=[placeholder])
    assert isinstance(refused, Skip)
    assert refused.why == "user is not on call"
