"""Evaluation semantics: Teleport's functions, operators and evaluation errors."""

from __future__ import annotations

import pytest

from teleport_access.where import (
    Context,
    Request,
    Review,
    Reviewer,
    WhereEvalError,
    parse,
)

CTX = Context(
    reviewer=Reviewer(roles=["dev", "ops"], traits={"team": ["sre", "db"], "empty": []}),
    request=Request(
        roles=["db-admin"],
        reason="INC-42 outage",
        system_annotations={"pagerduty_services": ["My Critical Service"]},
    ),
    review=Review(reason="looks good", annotations={"ticket": ["INC-42"]}),
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('contains(reviewer.roles, "dev")', True),
        ('contains(reviewer.roles, "de")', False),
        ('contains(reviewer.traits["missing"], "x")', False),
        ('contains(reviewer.traits["empty"], "")', False),
        ('contains(request.reason, "INC-42 outage")', True),  # a string is a one-element list
        ('contains(request.reason, "INC-42")', False),
        ("contains(reviewer.roles, request.reason)", False),
        ('equals(reviewer.roles, reviewer.traits["missing"])', False),
        ('equals(reviewer.traits["missing"], review.annotations["missing"])', True),
        ('equals(reviewer.traits["team"], reviewer.traits["team"])', True),
        ('equals(request.roles, reviewer.traits["team"])', False),
        ('equals(request.reason, "INC-42 outage")', True),
        ('equals(review.reason, "")', False),
        ('request.reason == "INC-42 outage"', True),
        ('request.reason != "INC-42 outage"', False),
        ('"a" == "a"', True),
        ("1 != 2", True),
        ('regexp.match(reviewer.roles, "o*")', True),
        ('regexp.match(reviewer.roles, "^(dev|qa)$")', True),
        ('regexp.match(reviewer.roles, "^d$")', False),
        ('regexp.match(request.reason, "^INC-[0-9]+ ")', False),  # ^...$ needed for a regex
        ('regexp.match(request.reason, "^INC-[0-9]+ .*$")', True),
        ('regexp.match(reviewer.traits["missing"], "*")', False),
        ('regexp.match(review.annotations["ticket"], request.reason)', False),
        ("regexp.match(request.reason, request.reason)", True),
        ('contains(request.system_annotations.pagerduty_services, "My Critical Service")', True),
    ],
)
def test_functions_and_operators(text: str, expected: bool) -> None:
    assert parse(text, "filter").evaluate(CTX) is expected


def test_equals_on_lists_is_order_sensitive() -> None:
    ctx = Context(reviewer=Reviewer(roles=["a", "b"]), request=Request(roles=["b", "a"]))
    assert parse("equals(reviewer.roles, request.roles)").evaluate(ctx) is False


def test_and_and_or_short_circuit_left_to_right() -> None:
    failing = "regexp.match(request.roles, request.reason)"
    ctx = Context(request=Request(reason="^(bad$", roles=["x"]))
    assert parse(f'contains(request.roles, "nope") && {failing}').evaluate(ctx) is False
    assert parse(f'contains(request.roles, "x") || {failing}').evaluate(ctx) is True
    with pytest.raises(WhereEvalError):
        parse(f'contains(request.roles, "x") && {failing}').evaluate(ctx)


def test_a_dynamic_invalid_pattern_is_an_evaluation_error_naming_the_pattern() -> None:
    expr = parse("regexp.match(request.roles, request.reason)")
    with pytest.raises(WhereEvalError) as info:
        expr.evaluate(Context(request=Request(reason="^a(?=b)$")))
    error = info.value
    assert 'invalid regular expression "^a(?=b)$"' in error.problem
    assert "invalid or unsupported Perl syntax" in error.problem
    assert error.column == 29
    assert error.hint is not None
    assert "lookaround" in error.hint


@pytest.mark.parametrize(
    "pattern",
    [r"^(a)\1$", "^(?=a)a$", "^(?<=a)b$", "^a*+$", "^a**$", "^(?>a)$", r"^\Z$"],
)
def test_patterns_go_rejects_are_evaluation_errors_not_python_features(pattern: str) -> None:
    expr = parse(f"regexp.match(request.roles, `{pattern}`)")
    with pytest.raises(WhereEvalError, match="invalid regular expression"):
        expr.evaluate(Context(request=Request(roles=["a"])))


def test_unicode_script_classes_match_as_in_go() -> None:
    expr = parse(r'regexp.match(request.roles, "^\\p{Greek}+$")')
    assert expr.evaluate(Context(request=Request(roles=["αβγ"])))
    assert not expr.evaluate(Context(request=Request(roles=["abc"])))


def test_a_pattern_too_large_for_re2_is_an_evaluation_error_saying_so() -> None:
    expr = parse(r'regexp.match(request.roles, "^\\pL{1000}$")')
    with pytest.raises(WhereEvalError, match="pattern too large"):
        expr.evaluate(Context())


def test_evaluation_errors_in_arguments_come_before_the_functions_own() -> None:
    expr = parse("equals(regexp.match(request.roles, request.reason), request.reason)")
    with pytest.raises(WhereEvalError, match="invalid regular expression"):
        expr.evaluate(Context(request=Request(reason="^(x$")))
    with pytest.raises(WhereEvalError, match="parameter types must match"):
        expr.evaluate(Context(request=Request(reason="x")))


def test_a_latent_error_is_raised_afresh_on_every_evaluation() -> None:
    expr = parse("equals(request.reason, reviewer.roles)")
    raised = []
    for _ in range(3):
        with pytest.raises(WhereEvalError) as info:
            expr.evaluate(Context())
        raised.append(info.value)
    assert raised[0] is not raised[1]
    assert str(raised[0]) == str(raised[2])
    assert raised[0] is not expr.problems[0]


def test_evaluate_always_returns_a_bool() -> None:
    expr = parse('contains(reviewer.roles, "dev") && !equals(request.reason, "")')
    assert expr.evaluate(CTX) is True
    assert (
        parse('contains(reviewer.roles, "dev") || contains(reviewer.roles, "x")').evaluate(
            Context()
        )
        is False
    )


def test_the_pagerduty_expression_of_the_benchmark() -> None:
    expr = parse(
        'contains(request.system_annotations["pagerduty_services"], "My Critical Service") '
        '&& !equals(request.reason, "")'
    )
    assert expr.evaluate(CTX) is True
    assert expr.evaluate(Context(request=Request(reason="x"))) is False
    no_reason = Context(request=Request(system_annotations=CTX.request.system_annotations))
    assert expr.evaluate(no_reason) is False


def test_an_expression_is_reusable_across_contexts_and_hashable() -> None:
    expr = parse('contains(reviewer.roles, "dev")')
    results = [expr.evaluate(Context(reviewer=Reviewer(roles=[r]))) for r in ("dev", "x", "dev")]
    assert results == [True, False, True]
    assert {expr, parse('contains(reviewer.roles,"dev")')} == {expr}
