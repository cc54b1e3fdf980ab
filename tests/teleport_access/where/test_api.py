"""The public API other modules build against."""

from __future__ import annotations

import inspect

import teleport_access.where as where
from teleport_access.where import Dialect, ExpressionKind, parse

EXPECTED = [
    "Context",
    "Dialect",
    "Explanation",
    "Expression",
    "ExpressionKind",
    "Request",
    "Review",
    "ReviewDecision",
    "Reviewer",
    "RolePattern",
    "RolePatternError",
    "WhereError",
    "WhereEvalError",
    "WhereSyntaxError",
    "WhereTypeError",
    "can_review",
    "compile_role_pattern",
    "parse",
]


def test_the_exported_names_are_exactly_the_documented_ones_sorted() -> None:
    assert where.__all__ == EXPECTED
    for name in EXPECTED:
        assert getattr(where, name) is not None


def test_parse_and_can_review_have_the_agreed_signatures() -> None:
    assert list(inspect.signature(where.parse).parameters) == ["text", "kind", "dialect"]
    params = inspect.signature(where.can_review).parameters
    assert list(params) == [
        "reviewer_roles",
        "reviewer_traits",
        "reviewer_name",
        "request",
        "dialect",
    ]
    assert params["dialect"].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["dialect"].default == "typical"


def test_dialect_and_kind_accept_enums_and_strings_alike() -> None:
    text = 'contains(reviewer.roles, "x")'
    assert parse(text, ExpressionKind.FILTER, Dialect.LEGACY) == parse(text, "filter", "legacy")
    assert Dialect("legacy") is Dialect.LEGACY
    assert str(ExpressionKind.WHERE) == "where"


def test_an_expression_round_trips_through_its_normalised_text() -> None:
    expr = parse('!contains(reviewer.traits.team ,"x")||request.reason=="y"', "filter")
    again = parse(str(expr), expr.kind, expr.dialect)
    assert again == expr
    assert (
        str(again)
        == str(expr)
        == '!contains(reviewer.traits["team"], "x") || request.reason == "y"'
    )
    assert repr(expr) == f"Expression({str(expr)!r}, kind='filter', dialect='typical')"
    assert expr.text == '!contains(reviewer.traits.team ,"x")||request.reason=="y"'


def test_expressions_of_different_kinds_or_dialects_differ() -> None:
    text = 'contains(reviewer.roles, "x")'
    assert parse(text) != parse(text, "filter")
    assert parse(text) != parse(text, dialect="legacy")
