"""teleport_pd_cli.tools.evidence: why a near miss is not the requester, which on-call entries
count, and the policy's view of the evidence."""

from __future__ import annotations

import pytest

from pagerduty_client import OnCall, Reference, Service, User
from teleport_pd_cli.policy import OnCall as PolicyOnCall
from teleport_pd_cli.policy import PagerDutyFacts, PagerDutyService, PagerDutyUser
from teleport_pd_cli.tools.evidence import ApprovalEvidence, near_miss_reason

REQUESTER = "kate@example.com"


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("\u212aate@example.com", "U+212A KELVIN SIGN"),
        ("KATE@EXAMPLE.CO\u212a", "U+212A KELVIN SIGN"),
        ("skate@example.com", "contains the requester's email"),
        ("kate@example.com.evil.test", "contains the requester's email"),
        ("kate@example.co", "contained in the requester's email"),
        ("k\u0430te@example.com", "non-ASCII characters (U+0430 CYRILLIC SMALL LETTER A)"),
        ("kathy@example.com", "a different address (PagerDuty's search also matches names"),
    ],
)
def test_a_near_miss_says_why_it_is_not_the_requester(address: str, why: str) -> None:
    assert why in near_miss_reason(address, REQUESTER)


def test_a_unicode_case_match_names_the_ascii_only_rule() -> None:
    reason = near_miss_reason("\u212aate@example.com", REQUESTER)
    assert reason.startswith("the same address only under Unicode case rules")
    assert reason.endswith("tpd ignores the case of ASCII letters only")


def _ref(id: str, kind: str = "user_reference") -> Reference:
    return Reference(id=id, type=kind, summary=id)


USER = User(id="PU1", name="Kate", email=REQUESTER)
SERVICE = Service(id="PS1", name="Service 1", escalation_policy=_ref("PE1", "escalation_policy"))
POLICY = _ref("PE1", "escalation_policy_reference")


def entry(user: Reference, policy: Reference = POLICY, level: int = 1) -> OnCall:
    return OnCall(user=user, escalation_policy=policy, escalation_level=level)


def evidence(*entries: OnCall) -> ApprovalEvidence:
    return ApprovalEvidence(
        email=REQUESTER,
        service_names=("Service 1",),
        user=USER,
        services=(SERVICE,),
        on_calls=entries,
    )


def test_an_entry_of_the_user_in_an_annotated_policy_counts() -> None:
    assert evidence().counts(entry(_ref("PU1")))


@pytest.mark.parametrize(
    "other",
    [
        entry(_ref("PS9", "schedule_reference")),  # a placeholder naming no user
        entry(_ref("PU2")),  # another user
        entry(_ref("PU1"), _ref("PE9", "escalation_policy_reference")),  # another policy
    ],
)
def test_entries_that_cannot_approve_do_not_count(other: OnCall) -> None:
    assert not evidence().counts(other)


def test_the_policy_view_keeps_every_fact_the_daemon_uses() -> None:
    placeholder = entry(_ref("PS9", "schedule_reference"), level=2)
    assert evidence(entry(_ref("PU1")), placeholder).facts() == PagerDutyFacts(
        user=PagerDutyUser(id="PU1", name="Kate", email=REQUESTER),
        services=[PagerDutyService(id="PS1", name="Service 1", escalation_policy_id="PE1")],
        on_calls=[
            PolicyOnCall(user_id="PU1", escalation_policy_id="PE1", escalation_level=1),
            PolicyOnCall(
                user_id="PS9",
                escalation_policy_id="PE1",
                escalation_level=2,
                user_type="schedule_reference",
            ),
        ],
    )


def test_evidence_pagerduty_was_not_asked_for_has_no_facts() -> None:
    unasked = ApprovalEvidence(email="alice", service_names=(), not_asked="not an email")
    assert unasked.facts() is None
    assert unasked.to_json()["asked"] is False
