"""can_review: Teleport's review permission algorithm."""

from __future__ import annotations

import re

import pytest

from teleport_access._models import (
    AccessRequest,
    ClaimMapping,
    ReviewConditions,
    Role,
    RoleConditions,
)
from teleport_access.where import (
    ReviewDecision,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
    can_review,
)


def role(
    name: str,
    allow: tuple[str, ...] = (),
    where: str = "",
    deny: tuple[str, ...] = (),
    deny_where: str = "",
    claims: tuple[ClaimMapping, ...] = (),
) -> Role:
    return Role(
        name=name,
        allow=RoleConditions(
            review_requests=ReviewConditions(roles=allow, where=where, claims_to_roles=claims)
            if allow or where or claims
            else None
        ),
        deny=RoleConditions(
            review_requests=ReviewConditions(roles=deny, where=deny_where)
            if deny or deny_where
            else None
        ),
    )


def request(
    *roles: str, user: str = "alice", reason: str = "", **annotations: list[str]
) -> AccessRequest:
    return AccessRequest(
        id="r1", user=user, roles=roles, request_reason=reason, system_annotations=annotations
    )


def test_a_literal_matcher_allows_the_named_role() -> None:
    decision = can_review([role("reviewer", allow=("dev",))], {}, "bob", request("dev"))
    assert decision == ReviewDecision(
        allowed=True,
        reason='every requested role may be reviewed: "dev" by role "reviewer" '
        '(roles matcher "dev")',
        role="dev",
        group="reviewer",
        where="",
    )
    assert decision


def test_the_decision_is_falsy_when_refused() -> None:
    decision = can_review([role("reviewer", allow=("dev",))], {}, "bob", request("prod"))
    assert not decision
    assert decision.role == "prod"
    assert decision.group is None
    assert 'matches requested role "prod"' in decision.reason


@pytest.mark.parametrize(
    ("matcher", "requested", "allowed"),
    [
        ("*", "anything", True),
        ("dev-*", "dev-eu", True),
        ("dev-*", "xdev-eu", False),
        ("^(dev|ops)-[0-9]+$", "ops-12", True),
        ("^(dev|ops)-[0-9]+$", "ops-x", False),
        ("a.b", "axb", False),
        ('{{regexp.match("^db-")}}', "db-admin", True),
        ('{{regexp.match("admin")}}', "db-admin-ro", True),
        ('{{regexp.not_match("admin")}}', "db-admin", False),
        ('{{regexp.not_match("admin")}}', "db-ro", True),
        ('team-{{regexp.match("^[a-z]+$")}}-ro', "team-db-ro", True),
        ('team-{{regexp.match("^[a-z]+$")}}-ro', "team-db1-ro", False),
        ('team-{{regexp.match("^[a-z]+$")}}-ro', "teamdb-ro", False),
    ],
)
def test_role_matchers_follow_teleports_matcher_syntax(
    matcher: str, requested: str, allowed: bool
) -> None:
    decision = can_review([role("reviewer", allow=(matcher,))], {}, "bob", request(requested))
    assert decision.allowed is allowed


def test_nobody_reviews_their_own_request_even_with_wildcard_rights() -> None:
    decision = can_review([role("admin", allow=("*",))], {}, "alice", request("dev"))
    assert decision.allowed is False
    assert decision.reason == '"alice" cannot review their own access request'


def test_deny_rules_win_over_allow_rules() -> None:
    roles = [role("reviewer", allow=("*",)), role("guard", deny=("prod-*",))]
    decision = can_review(roles, {}, "bob", request("dev", "prod-db"))
    assert decision.allowed is False
    assert (decision.role, decision.group, decision.where) == ("prod-db", "guard", "")
    assert 'denied by role "guard"' in decision.reason


def test_a_deny_rule_applies_only_while_its_where_is_true() -> None:
    roles = [
        role("reviewer", allow=("*",)),
        role("guard", deny=("*",), deny_where='equals(request.reason, "")'),
    ]
    assert can_review(roles, {}, "bob", request("dev")).allowed is False
    assert can_review(roles, {}, "bob", request("dev", reason="outage")).allowed is True


def test_every_requested_role_needs_an_allow_rule() -> None:
    roles = [role("a", allow=("dev",)), role("b", allow=("ops",))]
    decision = can_review(roles, {}, "bob", request("dev", "ops"))
    assert decision.allowed is True
    assert (decision.role, decision.group) == ("ops", "b")
    assert '"dev" by role "a"' in decision.reason
    refused = can_review(roles, {}, "bob", request("dev", "ops", "db"))
    assert (refused.allowed, refused.role) == (False, "db")


def test_allow_rules_with_a_false_where_do_not_count_and_are_named() -> None:
    roles = [
        role("oncall", allow=("dev",), where='contains(request.system_annotations["pd"], "x")')
    ]
    decision = can_review(roles, {}, "bob", request("dev"))
    assert decision.allowed is False
    assert (decision.role, decision.group) == ("dev", "oncall")
    assert decision.where == 'contains(request.system_annotations["pd"], "x")'
    assert "but its where is false" in decision.reason
    assert can_review(roles, {}, "bob", request("dev", pd=["x"])).allowed is True


def test_roles_sharing_a_where_share_their_matchers() -> None:
    where = 'contains(reviewer.roles, "a")'
    roles = [role("a", allow=("dev",), where=where), role("b", allow=("ops",), where=where)]
    assert can_review(roles, {}, "bob", request("dev", "ops")).allowed is True


def test_the_where_sees_the_reviewers_role_names_and_traits() -> None:
    roles = [
        role(
            "lead",
            allow=("*",),
            where='contains(reviewer.roles, "lead") && contains(reviewer.traits.team, "db")',
        )
    ]
    assert can_review(roles, {"team": ["db"]}, "bob", request("dev")).allowed is True
    assert can_review(roles, {"team": ["web"]}, "bob", request("dev")).allowed is False


def test_a_request_without_roles_is_reviewable() -> None:
    decision = can_review([], {}, "bob", request())
    assert decision.allowed is True
    assert decision.role is None


def test_a_reviewer_without_review_rules_is_told_so() -> None:
    decision = can_review([role("plain")], {}, "bob", request("dev"))
    assert decision.allowed is False
    assert decision.reason == "the reviewer's roles have no review_requests allow rules"


def test_a_broken_where_is_raised_with_the_role_named() -> None:
    roles = [role("broken", allow=("dev",), where="contains(reviewer.rols, 1)")]
    with pytest.raises(WhereTypeError) as info:
        can_review(roles, {}, "bob", request("dev"))
    assert info.value.problem.startswith('role "broken" allow.review_requests.where: ')
    assert info.value.column == 10


def test_a_where_that_fails_to_evaluate_is_raised_even_if_another_rule_allows() -> None:
    roles = [
        role("fine", allow=("dev",)),
        role("broken", allow=("dev",), where="regexp.match(request.roles, request.reason)"),
    ]
    with pytest.raises(WhereEvalError, match='role "broken"'):
        can_review(roles, {}, "bob", request("dev", reason="^(x$"))


def test_a_broken_deny_where_is_raised() -> None:
    roles = [role("guard", deny=("*",), deny_where="!")]
    with pytest.raises(
        WhereSyntaxError, match=re.escape('role "guard" deny.review_requests.where')
    ):
        can_review(roles, {}, "bob", request("dev"))


def test_an_invalid_role_matcher_is_an_error() -> None:
    with pytest.raises(WhereEvalError, match=re.escape('role "bad" allow.review_requests')):
        can_review([role("bad", allow=("^(x$",))], {}, "bob", request("dev"))
    with pytest.raises(WhereEvalError, match="template brackets"):
        can_review([role("bad", allow=("{{x",))], {}, "bob", request("dev"))


def test_claims_to_roles_map_reviewer_traits_to_matchers() -> None:
    claims = (
        ClaimMapping(claim="groups", value="team-*", roles=("$1-dev",)),
        ClaimMapping(claim="groups", value="admins", roles=("prod-*",)),
    )
    roles = [role("idp", claims=claims)]
    traits = {"groups": ["team-db", "admins"]}
    assert can_review(roles, traits, "bob", request("db-dev")).allowed is True
    assert can_review(roles, traits, "bob", request("prod-eu")).allowed is True
    assert can_review(roles, traits, "bob", request("web-dev")).allowed is False
    assert can_review(roles, {"groups": ["team-web"]}, "bob", request("prod-eu")).allowed is False


def test_a_role_produced_by_expansion_matches_only_literally() -> None:
    claims = (ClaimMapping(claim="groups", value="^team-(.*)$", roles=("$1",)),)
    roles = [role("idp", claims=claims)]
    assert can_review(roles, {"groups": ["team-db*"]}, "bob", request("db*")).allowed is True
    assert can_review(roles, {"groups": ["team-db*"]}, "bob", request("dbx")).allowed is False


def test_the_legacy_dialect_can_be_chosen() -> None:
    roles = [role("r", allow=("dev",), where='contains(request.reason, "x")')]
    typical = can_review(roles, {}, "bob", request("dev", reason="x"))
    legacy = can_review(roles, {}, "bob", request("dev", reason="x"), dialect="legacy")
    assert (typical.allowed, legacy.allowed) == (True, False)


def test_can_review_is_keyword_compatible_with_the_fake_auth_service() -> None:
    decision = can_review(
        reviewer_roles=[role("r", allow=("dev",))],
        reviewer_traits={},
        reviewer_name="bob",
        request=request("dev"),
        dialect="typical",
    )
    assert decision.allowed


def test_trait_values_must_be_lists_of_strings() -> None:
    with pytest.raises(TypeError):
        can_review([role("r", allow=("dev",))], {"team": "sre"}, "bob", request("dev"))
