"""Names and types are checked when parsing, as Teleport's typical parser does."""

from __future__ import annotations

import re

import pytest

from teleport_access.where import (
    Context,
    Request,
    Reviewer,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
    parse,
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('equals(fully.fake.path, "x")', 'unknown identifier "fully.fake.path"'),
        ('contains(reviewer, "x")', 'unknown identifier "reviewer"'),
        ("true", 'unknown identifier "true"'),
        ('contains(reviewer.traits.a.b, "x")', 'unknown identifier "reviewer.traits.a.b"'),
        ('contains(request.reason.x, "x")', 'unknown identifier "request.reason.x"'),
        ('fakefunc(reviewer.roles, "x")', 'unknown function "fakefunc"'),
        ('reviewer.roles.contains("x")', 'unknown function "reviewer.roles.contains"'),
        ('regexp.matches(request.roles, "x")', 'unknown function "regexp.matches"'),
        ('equals("too", "many", "params")', "function equals takes 2 arguments"),
        ('contains("missing-param")', "function contains takes 2 arguments"),
        ("equals()", "function equals takes 2 arguments, but it is given 0"),
        ("contains(reviewer.roles, 1)", "the second argument of contains must be a string"),
        ('contains(reviewer.traits, "x")', "the first argument of contains must be"),
        ('contains(1, "x")', "the first argument of contains must be"),
        ("contains(reviewer.roles, reviewer.roles)", "the second argument of contains"),
        ('regexp.match(reviewer.traits, "x")', "the first argument of regexp.match"),
        ("regexp.match(reviewer.roles, 0.5)", "the second argument of regexp.match"),
        ('contains(reviewer.roles["x"], "y")', "only maps can be indexed"),
        ('contains(reviewer.traits[1], "y")', "a map key must be a string"),
        ('contains(reviewer.traits[reviewer.roles], "y")', "a map key must be a string"),
        ("!request.reason", "! needs a boolean operand"),
        ('request.reason && contains(reviewer.roles, "x")', "&& needs boolean operands"),
        ('contains(reviewer.roles, "x") || reviewer.roles', "|| needs boolean operands"),
        ("reviewer.roles == request.roles", "operator == compares strings or integers"),
        ('contains(reviewer.roles, "x") == contains(reviewer.roles, "y")', "compares strings"),
        ("0.5 == 0.5", "operator == compares strings or integers"),
        ("request.reason == 1", "needs both sides of one type"),
        ('1 != "1"', "needs both sides of one type"),
        ("request.reason", "must be a boolean condition, but it is a string"),
        ("reviewer.traits", "must be a boolean condition"),
        ('"text"', "must be a boolean condition"),
        ("1", "must be a boolean condition"),
        ('(contains)(reviewer.roles, "x")', "not a function"),
        ('contains(reviewer.roles, "x")(1)', "not a function"),
    ],
)
def test_type_errors_are_raised_when_parsing(text: str, message: str) -> None:
    with pytest.raises(WhereTypeError, match=re.escape(message)):
        parse(text)


def test_a_selector_after_a_call_is_a_syntax_error() -> None:
    with pytest.raises(WhereSyntaxError, match="selector"):
        parse('contains(reviewer.roles, "x").y')


def test_dot_syntax_reads_a_map_key() -> None:
    dotted = parse('contains(reviewer.traits.team, "sre")')
    indexed = parse('contains(reviewer.traits["team"], "sre")')
    assert dotted == indexed
    assert str(dotted) == 'contains(reviewer.traits["team"], "sre")'
    assert dotted.evaluate(Context(reviewer=Reviewer(traits={"team": ["sre"]}))) is True


def test_a_map_key_may_be_any_string_expression() -> None:
    expr = parse('contains(reviewer.traits[request.reason], "x")')
    ctx = Context(request=Request(reason="k"), reviewer=Reviewer(traits={"k": ["x"]}))
    assert expr.evaluate(ctx) is True
    assert expr.evaluate(Context(request=Request(reason="other"))) is False


def test_unknown_identifiers_get_a_did_you_mean_hint() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse('contains(reviewer.role, "x")')
    assert info.value.hint == "did you mean reviewer.roles?"


def test_unknown_functions_get_a_did_you_mean_hint() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse('contain(reviewer.roles, "x")')
    assert info.value.hint == "did you mean contains?"


def test_boolean_literals_get_an_explanation() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse("true")
    assert info.value.hint is not None
    assert "no boolean literals" in info.value.hint


def test_review_variables_in_a_where_point_to_filters() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse('equals(review.reason, "")', "where")
    assert info.value.hint is not None
    assert "threshold filters" in info.value.hint


def test_methods_suggest_the_function_form() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse('reviewer.roles.contains("x")')
    assert info.value.hint == "methods are not supported; write contains(reviewer.roles, ...)"


def test_filters_know_the_review_variables() -> None:
    expr = parse('equals(review.reason, "ok") && contains(review.annotations["k"], "v")', "filter")
    assert expr.variables == {"review.reason", "review.annotations"}


@pytest.mark.parametrize(
    "text",
    [
        "equals(request.reason, reviewer.roles)",
        "equals(reviewer.traits, reviewer.traits)",
        "equals(1, 1)",
        'equals(contains(reviewer.roles, "a"), contains(reviewer.roles, "b"))',
        "equals(0.5, 0.5)",
    ],
)
def test_equals_on_mismatched_types_parses_and_fails_when_evaluated(text: str) -> None:
    expr = parse(text)
    assert len(expr.problems) == 1
    assert "parameter types must match" in expr.problems[0].problem
    with pytest.raises(WhereEvalError, match="parameter types must match"):
        expr.evaluate(Context())


def test_a_latent_error_behind_a_short_circuit_is_never_raised() -> None:
    expr = parse('contains(reviewer.roles, "x") && equals(request.reason, reviewer.roles)')
    assert expr.problems
    assert expr.evaluate(Context()) is False
    with pytest.raises(WhereEvalError):
        expr.evaluate(Context(reviewer=Reviewer(roles=["x"])))


def test_an_invalid_literal_pattern_is_a_problem_reported_before_evaluation() -> None:
    expr = parse('regexp.match(request.roles, "^(x$")')
    assert len(expr.problems) == 1
    problem = expr.problems[0]
    assert problem.column == 29
    assert "missing closing )" in problem.problem


def test_a_sound_expression_has_no_problems() -> None:
    assert parse('regexp.match(request.roles, "^x$") && equals(request.reason, "")').problems == ()


# -- the legacy dialect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ('request.reason == "x"', WhereSyntaxError, "not supported in the legacy dialect"),
        ('request.reason != "x"', WhereSyntaxError, "not supported in the legacy dialect"),
        ('regexp.match(request.roles, "x")', WhereTypeError, 'unknown function "regexp.match"'),
        ('contains(reviewer.traits.team, "x")', WhereTypeError, "no dot syntax for map keys"),
        ("!request.reason", WhereTypeError, "! needs a boolean operand"),
        ('contains(reviewer.roles["x"], "y")', WhereTypeError, "only maps can be indexed"),
    ],
)
def test_legacy_dialect_restrictions(text: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=re.escape(message)):
        parse(text, dialect="legacy")


def test_legacy_regexp_match_error_explains_the_dialect() -> None:
    with pytest.raises(WhereTypeError) as info:
        parse('regexp.match(request.roles, "x")', dialect="legacy")
    assert info.value.hint == "regexp.match exists only in the typical dialect"


@pytest.mark.parametrize(
    "text",
    [
        "equals(request.reason, reviewer.roles)",
        'contains(request.reason, "x")',
        "contains(reviewer.roles, reviewer.roles)",
        "equals(1, 1)",
        "equals(reviewer, reviewer)",
        'contains(request, "x")',
        'equals(review, "x")',
    ],
)
def test_legacy_type_mismatches_are_false_not_errors(text: str) -> None:
    expr = parse(text, "filter", "legacy")
    assert expr.problems == ()
    ctx = Context(request=Request(reason="x", roles=["x"]), reviewer=Reviewer(roles=["x"]))
    assert expr.evaluate(ctx) is False


def test_legacy_contains_does_not_wrap_a_string_but_typical_does() -> None:
    ctx = Context(request=Request(reason="x"))
    assert parse('contains(request.reason, "x")', dialect="legacy").evaluate(ctx) is False
    assert parse('contains(request.reason, "x")').evaluate(ctx) is True


def test_bare_namespaces_are_values_only_in_the_legacy_dialect() -> None:
    assert parse("equals(reviewer, request)", dialect="legacy").variables == {
        "reviewer",
        "request",
    }
    with pytest.raises(WhereTypeError):
        parse("equals(reviewer, request)")
    with pytest.raises(WhereTypeError, match='unknown identifier "review"'):
        parse('equals(review, "x")', "where", "legacy")


def test_kind_and_dialect_are_validated() -> None:
    with pytest.raises(ValueError, match="kind"):
        parse('contains(reviewer.roles, "x")', "kind")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="modern"):
        parse('contains(reviewer.roles, "x")', dialect="modern")  # type: ignore[arg-type]
