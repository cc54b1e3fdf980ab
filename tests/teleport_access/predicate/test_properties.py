"""Property tests: any text parses or fails with our errors only, quickly; well-formed
conditions evaluate without crashing; the normal form round-trips."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teleport_access.predicate import (
    Environment,
    PredicateEvalError,
    PredicateParseError,
    parse,
)

# Generous deadline: it catches a hang or exponential blow-up without flaking on busy machines.
ROBUST = settings(
    max_examples=400, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow]
)

TOKENS = [
    "access_request", ".", "spec", "roles", "user", "traits", "system_annotations",
    "creation_time", "expiry", "resource_labels_union", "request_reason", "set", "union",
    "contains", "contains_any", "contains_all", "is_empty", "isempty", "ifelse", "choose",
    "option", "pair", "dict", "strings", "upper", "split", "regexp", "match", "replace", "email",
    "local", "time", "RFC3339", "between", "before", "after", "newer_than", "remove", "add",
    "put", "true", "false", "(", ")", "[", "]", ",", "!", "&&", "||", "==", "!=", "<", "+", "-",
    "*", '"x"', '"^a(b$"', '"*"', '"2025-08-11T14:30:00Z"', '"1.2.3"', "`raw`", "1", "0.5",
    "'c'", "\n", " ", "//c\n", "/*c*/", "{", "}", "...", ":", ";", "=", "é", "\\", '"\\x',
]  # fmt: skip

grammar_soup = st.lists(st.sampled_from(TOKENS), max_size=40).map("".join)
any_text = st.one_of(st.text(max_size=80), grammar_soup)

ENV = Environment(
    roles=["dev", "x"],
    user="alice@example.com",
    request_reason="x",
    creation_time=datetime(2025, 8, 11, 14, 30, tzinfo=UTC),
    user_traits={"team": ["x", "db"]},
    system_annotations={"x": ["1.2.3"]},
    resource_labels=[{"env": "x"}],
)


def check_position(exc: PredicateParseError) -> None:
    assert exc.line >= 1
    assert exc.column >= 1
    assert str(exc)


def run(text: str) -> None:
    try:
        expr = parse(text)
    except PredicateParseError as exc:
        check_position(exc)
        return
    try:
        expr.evaluate(ENV)
    except PredicateEvalError as exc:
        str(exc)
    expr.explain(ENV)
    assert parse(str(expr)) == expr


@ROBUST
@given(any_text)
def test_any_text_parses_or_fails_with_a_predicate_error(text: str) -> None:
    run(text)


# Well-formed conditions, built from the grammar.
strings = st.sampled_from(
    ['"x"', '"dev"', '""', "access_request.spec.user", "access_request.spec.request_reason"]
)
sets = st.deferred(
    lambda: st.one_of(
        st.just("access_request.spec.roles"),
        st.just('user.traits["team"]'),
        st.just("user.traits.nope"),
        st.just('access_request.spec.resource_labels_union["env"]'),
        st.builds(lambda a, b: f"set({a}, {b})", strings, strings),
        st.builds(lambda a, b: f"union({a}, {b})", sets, sets),
        st.builds(lambda a, b: f"{a}.add({b})", sets, strings),
        st.builds(lambda a, b: f"strings.split({a}, {b})", sets, strings),
        st.builds(lambda a: f'regexp.replace({a}, "^(.)(.*)$", "$2$1")', sets),
        st.builds(lambda c, a, b: f"ifelse({c}, {a}, {b})", bools, sets, sets),
    )
)
bools = st.deferred(
    lambda: st.one_of(
        st.sampled_from(["true", "false"]),
        st.builds(lambda a, b: f"{a}.contains({b})", sets, strings),
        st.builds(lambda a, b: f"contains_any({a}, {b})", sets, sets),
        st.builds(lambda a, b: f"contains_all({a}, {b})", sets, sets),
        st.builds(lambda a: f"is_empty({a})", sets),
        st.builds(
            lambda a, p: f"regexp.match({a}, {p})",
            sets,
            st.sampled_from(['"d*"', '"^x$"', '"^(x$"']),
        ),
        st.builds(lambda a, b: f"({a} == {b})", strings, strings),
        st.builds(lambda a, b: f"({a} && {b})", bools, bools),
        st.builds(lambda a, b: f"({a} || {b})", bools, bools),
        st.builds(lambda a: f"!{a}", bools),
        st.builds(lambda a, b: f"newer_than({a}, {b})", strings, strings),
        st.just('access_request.spec.creation_time.after(time.RFC3339("2025-01-01T00:00:00Z"))'),
    )
)


@ROBUST
@given(bools)
def test_well_formed_conditions_evaluate_or_fail_with_a_predicate_error(text: str) -> None:
    expr = parse(text)
    try:
        value = expr.evaluate(ENV)
    except PredicateEvalError:
        return
    assert isinstance(value, bool)
    assert expr.explain(ENV).value is value
    assert parse(str(expr)) == expr
