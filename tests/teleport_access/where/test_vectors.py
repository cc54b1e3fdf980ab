"""Every test vector of section 4.4 of the Teleport wire reference.

Sources: Teleport's TestThresholdReviewFilter and TestReviewThresholds, the predicate library's
parse tests, and the RegexMatchesAny glob/regex vectors.
"""

from __future__ import annotations

import re

import pytest

from teleport_access._models import (
    AccessRequest,
    ReviewConditions,
    Role,
    RoleConditions,
)
from teleport_access.where import (
    Context,
    Dialect,
    ExpressionKind,
    Request,
    Review,
    Reviewer,
    WhereError,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
    can_review,
    parse,
)

CONTEXT_A = Context(
    reviewer=Reviewer(roles=["dev"], traits={"teams": ["staging-admin"]}),
    review=Review(reason="ok", annotations={"constraints": ["no-admin"]}),
    request=Request(
        roles=["dev"], reason="Ticket 123", system_annotations={"teams": ["staging-dev"]}
    ),
)
#: The older version of the test used this reason.
CONTEXT_A_OLDER = Context(
    reviewer=CONTEXT_A.reviewer,
    review=CONTEXT_A.review,
    request=Request(roles=["dev"], reason="plz", system_annotations={"teams": ["staging-dev"]}),
)
CONTEXT_B = Context()

A_MATCH_BOTH_DIALECTS = [
    'contains(reviewer.roles,"dev")',
    'contains(reviewer.traits["teams"],"staging-admin") && '
    'contains(request.system_annotations["teams"],"staging-dev")',
    '!contains(review.annotations["constraints"],"no-admin") || !contains(request.roles,"admin")',
    'equals(request.reason,"Ticket 123") && equals(review.reason,"ok")',
    'contains(reviewer.roles,"admin") || contains(reviewer.roles,"dev")',
    '!(contains(reviewer.roles,"foo") || contains(reviewer.roles,"bar"))',
]
A_MATCH_TYPICAL_ONLY = [
    'regexp.match(request.roles, "^dev(elopers)?$")',
    'regexp.match(request.reason, "^Ticket [0-9]+.*$") && !equals(review.reason, "")',
]
A_NO_MATCH = [
    'contains(reviewer.roles, "admin")',
    "equals(request.reason,review.reason)",
    '!contains(reviewer.traits["teams"],"staging-admin")',
    'contains(reviewer.roles,"admin") && contains(reviewer.roles,"dev")',
]
B_MATCH = [
    "equals(request.reason,review.reason)",
    '!contains(reviewer.traits["teams"],"staging-admin")',
    '!contains(review.annotations["constraints"],"no-admin") || !contains(request.roles,"admin")',
    '!(contains(reviewer.roles,"foo") || contains(reviewer.roles,"bar"))',
]
B_NO_MATCH_BOTH_DIALECTS = [
    'contains(reviewer.roles, "admin")',
    'contains(reviewer.roles,"admin") && contains(reviewer.roles,"dev")',
    'contains(reviewer.roles,"dev")',
    'contains(reviewer.traits["teams"],"staging-admin") && '
    'contains(request.system_annotations["teams"],"staging-dev")',
    'equals(request.reason,"plz") && equals(review.reason,"ok")',
    'contains(reviewer.roles,"admin") || contains(reviewer.roles,"dev")',
]
B_NO_MATCH_TYPICAL_ONLY = [
    'regexp.match(request.roles, "^dev(elopers)?$")',
    'regexp.match(request.reason, "^Ticket [0-9]+.*$") && !equals(review.reason, "")',
]
PARSE_ERRORS = [
    'equals(fully.fake.path,"should-fail")',
    'fakefunc(reviewer.roles,"some-role")',
    'equals("too","many","params")',
    'contains("missing-param")',
    'contains(reviewer.partially.fake.path,"also fails")',
    "!",
    "&& missing-left",
]


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", A_MATCH_BOTH_DIALECTS)
def test_context_a_match_vectors_are_true(text: str, dialect: Dialect) -> None:
    assert parse(text, "filter", dialect).evaluate(CONTEXT_A) is True


@pytest.mark.parametrize("text", A_MATCH_TYPICAL_ONLY)
def test_context_a_regexp_match_vectors_are_true_in_typical(text: str) -> None:
    assert parse(text, "filter").evaluate(CONTEXT_A) is True


@pytest.mark.parametrize("dialect", list(Dialect))
def test_the_older_plz_vector_is_true_in_context_a_older(dialect: Dialect) -> None:
    expr = parse('equals(request.reason,"plz") && equals(review.reason,"ok")', "filter", dialect)
    assert expr.evaluate(CONTEXT_A_OLDER) is True
    assert expr.evaluate(CONTEXT_A) is False


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", A_NO_MATCH)
def test_context_a_no_match_vectors_are_false_without_error(text: str, dialect: Dialect) -> None:
    assert parse(text, "filter", dialect).evaluate(CONTEXT_A) is False


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", B_MATCH)
def test_context_b_match_vectors_are_true(text: str, dialect: Dialect) -> None:
    assert parse(text, "filter", dialect).evaluate(CONTEXT_B) is True


@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", B_NO_MATCH_BOTH_DIALECTS)
def test_context_b_no_match_vectors_are_false(text: str, dialect: Dialect) -> None:
    assert parse(text, "filter", dialect).evaluate(CONTEXT_B) is False


@pytest.mark.parametrize("text", B_NO_MATCH_TYPICAL_ONLY)
def test_context_b_regexp_vectors_are_false_in_typical(text: str) -> None:
    assert parse(text, "filter").evaluate(CONTEXT_B) is False


@pytest.mark.parametrize("text", A_MATCH_TYPICAL_ONLY)
def test_regexp_match_is_an_unknown_function_in_the_legacy_dialect(text: str) -> None:
    with pytest.raises(WhereTypeError, match=re.escape('unknown function "regexp.match"')):
        parse(text, "filter", "legacy")


@pytest.mark.parametrize("kind", list(ExpressionKind))
@pytest.mark.parametrize("dialect", list(Dialect))
@pytest.mark.parametrize("text", PARSE_ERRORS)
def test_parse_error_vectors_fail_to_parse(
    text: str, dialect: Dialect, kind: ExpressionKind
) -> None:
    with pytest.raises((WhereSyntaxError, WhereTypeError)):
        parse(text, kind, dialect)


def test_parse_error_vectors_get_the_expected_error_classes() -> None:
    classes = [type(_parse_error(text)) for text in PARSE_ERRORS]
    assert classes == [WhereTypeError] * 5 + [WhereSyntaxError] * 2


def _parse_error(text: str) -> WhereError:
    try:
        parse(text)
    except WhereError as exc:
        return exc
    raise AssertionError(f"{text!r} parsed")


def test_review_variables_are_unknown_in_a_where_expression() -> None:
    with pytest.raises(WhereTypeError, match=re.escape('unknown identifier "review.reason"')):
        parse('equals(review.reason, "ok")', "where")


# -- the predicate library's parse tests, in this language's terms ---------------------------


def test_equals_compares_lists_element_wise() -> None:
    ctx = Context(reviewer=Reviewer(roles=["a"]), request=Request(roles=["a"]))
    assert parse("equals(reviewer.roles, request.roles)").evaluate(ctx) is True
    other = Context(reviewer=Reviewer(roles=["a"]), request=Request(roles=["b"]))
    assert parse("equals(reviewer.roles, request.roles)").evaluate(other) is False


def test_equals_compares_a_string_with_itself() -> None:
    ctx = Context(request=Request(reason="a"))
    assert parse("equals(request.reason, request.reason)").evaluate(ctx) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('contains(reviewer.traits["key"], "a")', True),
        ('contains(reviewer.traits["key"], "z")', False),
        ('contains(reviewer.traits["missing"], "a")', False),
    ],
)
def test_contains_looks_up_a_map_key_and_a_missing_key_is_empty(text: str, expected: bool) -> None:
    ctx = Context(reviewer=Reviewer(traits={"key": ["a", "b", "c"]}))
    assert parse(text).evaluate(ctx) is expected


@pytest.mark.parametrize(
    "text",
    [
        ")(",
        "SomeFunc",
        "Remainder(banana)",
        "Remainder(1, 2)",
        "Remainder(Len)",
        "Bla(1)",
        "0.2 && Remainder(1)",
        'Len("Ho") && 0.2',
        "func(){}()",
        "Remainder(3) >> 3",
        'Remainder(3) > "banana"',
    ],
)
def test_the_predicate_librarys_unhappy_cases_fail_to_parse(text: str) -> None:
    with pytest.raises((WhereSyntaxError, WhereTypeError)):
        parse(text)


def test_boolean_sub_expressions_nest_at_any_depth() -> None:
    text = '!(!(contains(reviewer.roles, "x") || (contains(reviewer.roles, "y") && !(false_))))'
    with pytest.raises(WhereTypeError, match="false_"):
        parse(text)
    expr = parse(
        '!(!(contains(reviewer.roles, "x") || (contains(reviewer.roles, "y") '
        '&& !contains(reviewer.roles, "z"))))'
    )
    assert expr.evaluate(Context(reviewer=Reviewer(roles=["y"]))) is True
    assert expr.evaluate(Context(reviewer=Reviewer(roles=["y", "z"]))) is False


# -- glob and regular expression vectors -----------------------------------------------------


@pytest.mark.parametrize(
    ("values", "pattern", "expected"),
    [
        (["env-prod"], "env-*", True),
        (["xenv-prod"], "env-*", False),
        (["a.b"], "a.b", True),
        (["axb"], "a.b", False),
        (["dev"], "^dev(elopers)?$", True),
        (["developers"], "^dev(elopers)?$", True),
        (["devs"], "^dev(elopers)?$", False),
    ],
)
def test_regexp_match_glob_and_regex_vectors(
    values: list[str], pattern: str, expected: bool
) -> None:
    expr = parse(f'regexp.match(request.roles, "{pattern}")')
    assert expr.evaluate(Context(request=Request(roles=values))) is expected


@pytest.mark.parametrize(("reason", "expected"), [("some very good reason", True), ("", False)])
def test_regexp_match_wraps_a_string_argument(reason: str, expected: bool) -> None:
    expr = parse('regexp.match(request.reason, "*good*")')
    assert expr.evaluate(Context(request=Request(reason=reason))) is expected


def test_an_invalid_regular_expression_is_an_evaluation_error() -> None:
    expr = parse('regexp.match(request.roles, "^(unclosed$")')
    with pytest.raises(WhereEvalError, match="missing closing \\)"):
        expr.evaluate(Context(request=Request(roles=["x"])))


# -- TestReviewThresholds: who may review the dictator requests -------------------------------


def _reviewer_role(name: str, where: str, roles: tuple[str, ...] = ("dictator",)) -> Role:
    return Role(
        name=name,
        allow=RoleConditions(review_requests=ReviewConditions(roles=roles, where=where)),
    )


PROLETARIAT = _reviewer_role(
    "proletariat", 'contains(request.system_annotations["mechanism"],"uprising")'
)
INTELLIGENTSIA = _reviewer_role(
    "intelligentsia",
    'contains(request.system_annotations["mechanism"],"consensus") '
    '&& regexp.match(request.reason, "*good*")',
    roles=("dictator", "never"),
)
MILITARY = _reviewer_role(
    "military",
    'contains(request.system_annotations["mechanism"],"coup") '
    '|| contains(request.system_annotations["mechanism"],"treachery")',
)
#: The annotations each requester's role puts on their requests.
MECHANISMS = {
    "alice": ["uprising", "consensus"],  # populist
    "bob": ["coup", "consensus"],  # general
    "carol": ["treachery"],  # conqueror
    "dave": ["consensus"],  # rationalist
}


def _dictator_request(user: str, reason: str = "some very good reason") -> AccessRequest:
    return AccessRequest(
        id=f"{user}-request",
        user=user,
        roles=("dictator",),
        request_reason=reason,
        system_annotations={"mechanism": MECHANISMS[user]},
    )


@pytest.mark.parametrize(
    ("reviewer_role", "requester", "allowed"),
    [
        (MILITARY, "alice", False),
        (PROLETARIAT, "alice", True),
        (INTELLIGENTSIA, "alice", True),
        (PROLETARIAT, "bob", False),
        (MILITARY, "bob", True),
        (INTELLIGENTSIA, "bob", True),
        (PROLETARIAT, "carol", False),
        (INTELLIGENTSIA, "carol", False),
        (MILITARY, "carol", True),
    ],
)
def test_review_threshold_scenarios_decide_who_may_review(
    reviewer_role: Role, requester: str, allowed: bool
) -> None:
    decision = can_review([reviewer_role], {}, "reviewer", _dictator_request(requester))
    assert decision.allowed is allowed
    if allowed:
        assert decision.group == reviewer_role.name
        assert decision.role == "dictator"


def test_alice_cannot_review_her_own_request() -> None:
    decision = can_review(
        [PROLETARIAT, INTELLIGENTSIA, MILITARY], {}, "alice", _dictator_request("alice")
    )
    assert not decision
    assert "own" in decision.reason


def test_intelligentsia_cannot_review_a_request_without_a_reason() -> None:
    decision = can_review([INTELLIGENTSIA], {}, "reviewer", _dictator_request("alice", reason=""))
    assert decision.allowed is False
    assert decision.group == "intelligentsia"
    assert "where is false" in decision.reason


@pytest.mark.parametrize(
    ("text", "review_reason", "reviewer_roles", "expected"),
    [
        ('contains(reviewer.roles,"proletariat")', "", ["proletariat"], True),
        ('contains(reviewer.roles,"proletariat")', "", ["military"], False),
        ('contains(reviewer.roles,"military")', "", ["military"], True),
        (
            'regexp.match(request.reason, "*good*") && regexp.match(review.reason, "*good*")',
            "a good review",
            [],
            True,
        ),
        (
            'regexp.match(request.reason, "*good*") && regexp.match(review.reason, "*good*")',
            "bad",
            [],
            False,
        ),
    ],
)
def test_threshold_filters_of_the_scenarios(
    text: str, review_reason: str, reviewer_roles: list[str], expected: bool
) -> None:
    ctx = Context(
        reviewer=Reviewer(roles=reviewer_roles),
        request=Request.from_access_request(_dictator_request("alice")),
        review=Review(reason=review_reason),
    )
    assert parse(text, "filter").evaluate(ctx) is expected


def test_the_older_intelligentsia_rule_needs_no_good_reason() -> None:
    older = _reviewer_role(
        "intelligentsia",
        'contains(request.system_annotations["mechanism"],"consensus")',
        roles=("dictator", "never"),
    )
    assert can_review([older], {}, "reviewer", _dictator_request("alice", reason="")).allowed
    assert not can_review([older], {}, "reviewer", _dictator_request("carol")).allowed
