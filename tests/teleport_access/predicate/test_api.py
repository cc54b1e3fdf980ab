"""The public API: parse/Expression, Environment, explain(), the normal form, the errors."""

from __future__ import annotations

import copy
import pickle
from datetime import UTC, datetime

import pytest

import teleport_access.predicate as predicate
from teleport_access._models import AccessRequest
from teleport_access.predicate import (
    Environment,
    GoTime,
    GoType,
    PredicateError,
    PredicateEvalError,
    PredicateParseError,
    parse,
    parse_cached,
)
from teleport_access.predicate._syntax import MAX_NESTING

GUIDE = (
    'contains_any(access_request.spec.roles, set("editor", "admin")) && '
    'user.traits["team"].contains("db") && '
    '!is_empty(access_request.spec.system_annotations["pagerduty_services"])'
)
GUIDE_ENV = Environment(
    roles=["editor"],
    user_traits={"team": ["db"]},
    system_annotations={"pagerduty_services": ["DB"]},
)


def test_public_names_are_exported_sorted() -> None:
    assert predicate.__all__ == sorted(predicate.__all__)
    for name in predicate.__all__:
        assert hasattr(predicate, name)


def test_errors_share_one_base_that_is_a_teleport_error() -> None:
    from teleport_access._exceptions import TeleportError

    assert issubclass(PredicateParseError, PredicateError)
    assert issubclass(PredicateEvalError, PredicateError)
    assert issubclass(PredicateError, TeleportError)


def test_guide_condition_matches_and_not() -> None:
    expr = parse(GUIDE)
    assert expr.matches(GUIDE_ENV) is True
    assert expr.matches(Environment(roles=["editor"])) is False


def test_evaluate_returns_the_value_and_matches_only_true() -> None:
    env = Environment(roles=["a", "b"], user="u")
    assert parse("access_request.spec.roles").evaluate(env) == frozenset({"a", "b"})
    assert parse("access_request.spec.user").evaluate(env) == "u"
    assert parse("access_request.spec.user").matches(env) is False
    assert parse('ifelse(true, true, "x")').matches(env) is True
    assert parse("access_request.spec.creation_time").evaluate(env) == GoTime.from_datetime(None)


def test_matches_raises_evaluation_errors() -> None:
    with pytest.raises(PredicateEvalError) as caught:
        parse("choose(option(false, true)) || true").matches(Environment())
    assert caught.value.problem.startswith("evaluating lhs of (||) operator: evaluating function")
    assert caught.value.column == 1


def test_parse_errors_point_at_the_problem_with_a_caret() -> None:
    with pytest.raises(PredicateParseError) as caught:
        parse('true &&\n  contains_any(user.traits, set("root"))')
    err = caught.value
    assert (err.line, err.column) == (2, 16)
    rendered = str(err).splitlines()
    assert rendered[1] == '    contains_any(user.traits, set("root"))'
    assert rendered[2] == "                 ^~~~~~~~~~~"
    assert err.problem.startswith("parsing first argument to (contains_any)")


def test_errors_pickle_and_copy() -> None:
    with pytest.raises(PredicateParseError) as caught:
        parse("nothing")
    again = pickle.loads(pickle.dumps(caught.value))
    assert type(again) is PredicateParseError
    assert str(again) == str(caught.value)
    assert copy.copy(caught.value).problem == 'unknown identifier: "nothing"'


def test_a_hint_is_given_for_common_mistakes() -> None:
    with pytest.raises(PredicateParseError) as caught:
        parse('strings.split(access_request.spec.user, "@")')
    assert caught.value.hint == "wrap a string in set(...) to make a Set"
    with pytest.raises(PredicateParseError) as caught:
        parse("true\n&& false")
    assert caught.value.hint is not None
    assert "end the line with && or ||" in caught.value.hint


def test_parse_refuses_a_non_string() -> None:
    with pytest.raises(TypeError):
        parse(b"true")  # type: ignore[arg-type]


def test_parse_cached_returns_the_same_expression() -> None:
    assert parse_cached(GUIDE) is parse_cached(GUIDE)


def test_variables_lists_what_the_condition_reads() -> None:
    assert parse(GUIDE).variables == {
        "access_request.spec.roles",
        "user.traits",
        "access_request.spec.system_annotations",
    }
    assert parse("true").variables == frozenset()


def test_type_is_the_static_type() -> None:
    assert parse("true").type is GoType.BOOL
    assert parse("ifelse(true, 1, 2)").type is GoType.ANY
    assert parse("access_request.spec.roles").type is GoType.SET


# -- normal form -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "normal"),
    [
        (GUIDE, GUIDE),
        ("user.traits.team.contains(`x`)", 'user.traits["team"].contains("x")'),
        ("(true)&&(false)", "true && false"),
        ("(true && false) && true", "true && false && true"),
        ("true && (false && true)", "true && (false && true)"),
        ("true || false && true", "true || false && true"),
        ("(true || false) && true", "(true || false) && true"),
        ("!(true && false)", "!(true && false)"),
        ('"a"=="b"', '"a" == "b"'),
        ('"a\\x62\\n"', '"ab\\n"'),
        ("1.50", "1.5"),
        ("1e6", "1e+06"),
        ("100.0", "100.0"),
        ("010", "10"),
        ('set(\n  "a",\n)', 'set("a")'),
        ('(set("a")).contains("a")', 'set("a").contains("a")'),
        (
            'access_request.spec.creation_time.between(time.RFC3339("2025-01-01T00:00:00Z"))',
            'access_request.spec.creation_time.between(time.RFC3339("2025-01-01T00:00:00Z"))',
        ),
    ],
)
def test_normal_form(text: str, normal: str) -> None:
    expr = parse(text)
    assert str(expr) == normal
    assert parse(str(expr)) == expr


def test_equal_expressions_hash_alike_whatever_their_spelling() -> None:
    a, b = parse("user.traits.team.isempty()"), parse('user.traits["team"].isempty()')
    assert a == b
    assert hash(a) == hash(b)
    assert a != parse('user.traits["x"].isempty()')
    assert parse("before(access_request.spec.expiry, access_request.spec.expiry)") != parse(
        "access_request.spec.expiry.before(access_request.spec.expiry)"
    )


# -- explain -----------------------------------------------------------------------------------


def test_explain_shows_each_sub_expression_with_its_value() -> None:
    text = str(parse(GUIDE).explain(GUIDE_ENV))
    assert text.splitlines() == [
        f"{GUIDE}  →  true",
        '├── contains_any(access_request.spec.roles, set("editor", "admin"))  →  true',
        '│   └── access_request.spec.roles  →  {"editor"}',
        '├── user.traits["team"].contains("db")  →  true',
        '│   └── user.traits["team"]  →  {"db"}',
        '└── !is_empty(access_request.spec.system_annotations["pagerduty_services"])  →  true',
        '    └── is_empty(access_request.spec.system_annotations["pagerduty_services"])  →  false',
        '        └── access_request.spec.system_annotations["pagerduty_services"]  →  {"DB"}',
    ]


def test_explain_marks_short_circuited_operands() -> None:
    explanation = parse(GUIDE).explain(Environment())
    assert explanation.value is False
    assert [child.evaluated for child in explanation.children] == [True, False, False]
    assert "not evaluated" in str(explanation)


def test_explain_records_errors_instead_of_raising() -> None:
    explanation = parse('true && email.local(set("nope")).contains("x")').explain(Environment())
    assert explanation.error is not None
    assert "mail: missing '@' or angle-addr" in explanation.error.problem
    assert "error:" in str(explanation)
    with pytest.raises(PredicateEvalError):
        _ = explanation.matches


def test_explain_stops_at_an_operand_that_is_not_boolean() -> None:
    explanation = parse('ifelse(false, true, "x") && true').explain(Environment())
    assert explanation.error is not None
    assert [child.evaluated for child in explanation.children] == [True, False]


def test_explain_and_evaluate_agree() -> None:
    expr = parse(GUIDE)
    for env in (GUIDE_ENV, Environment(), Environment(roles=["admin"])):
        assert expr.explain(env).matches is expr.matches(env)


def test_explain_formats_every_kind_of_value() -> None:
    env = Environment(
        creation_time=datetime(2025, 1, 2, 3, 4, 5, 600000, tzinfo=UTC), user_traits={"k": ["v"]}
    )
    cases = {
        "access_request.spec.creation_time": "2025-01-02T03:04:05.6Z",
        "user.traits": '{"k": {"v"}}',
        "1": "1",
        'pair("a", 1.5)': 'pair("a", 1.5)',
        'option(true, "x")': 'option(true, "x")',
    }
    for text, shown in cases.items():
        assert parse(text).explain(env).describe_value() == shown


# -- environment -------------------------------------------------------------------------------


def test_environment_defaults_are_empty_and_times_are_go_zero() -> None:
    env = Environment()
    assert env.roles == frozenset()
    assert env.creation_go_time.is_zero
    assert env.creation_go_time.rfc3339() == "0001-01-01T00:00:00Z"


def test_environment_refuses_a_bare_string_for_a_set() -> None:
    with pytest.raises(TypeError):
        Environment(roles="admin")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Environment(user_traits={"team": "db"})  # type: ignore[dict-item]


def test_environment_refuses_naive_times() -> None:
    with pytest.raises(ValueError, match="naive"):
        Environment(creation_time=datetime(2025, 1, 1))


def test_resource_labels_union_collects_every_value_per_key() -> None:
    env = Environment(resource_labels=[{"env": "a", "x": "1"}, {"env": "b"}])
    assert env.resource_labels_union == {"env": frozenset({"a", "b"}), "x": frozenset({"1"})}


def test_resource_labels_intersection_keeps_keys_with_one_shared_value() -> None:
    env = Environment(resource_labels=[{"env": "a", "t": "1"}, {"env": "a", "t": "2"}])
    assert env.resource_labels_intersection == {"env": frozenset({"a"})}
    assert Environment().resource_labels_intersection == {}


def test_environment_from_access_request_maps_teleports_fields() -> None:
    created = datetime(2025, 8, 11, 14, 30, tzinfo=UTC)
    resource_expiry = datetime(2025, 8, 12, tzinfo=UTC)
    request = AccessRequest(
        id="r1",
        user="alice",
        roles=("editor",),
        request_reason="because",
        created=created,
        expires=datetime(2025, 8, 11, 22, tzinfo=UTC),
        resource_expires=resource_expiry,
        system_annotations={"pagerduty_services": ("DB",)},
        suggested_reviewers=("bob",),
    )
    env = Environment.from_access_request(
        request, traits={"team": ["db"]}, resource_labels=[{"env": "prod"}]
    )
    assert env.roles == {"editor"}
    assert env.user == "alice"
    assert env.request_reason == "because"
    assert env.suggested_reviewers == {"bob"}
    assert env.system_annotations == {"pagerduty_services": frozenset({"DB"})}
    assert env.creation_time == created
    assert env.expiry == resource_expiry  # Teleport's Expiry(): the request resource's expiry
    assert env.user_traits == {"team": frozenset({"db"})}
    assert parse(GUIDE.replace('"admin"', '"x"')).matches(env)
    assert parse('access_request.spec.resource_labels_union["env"].contains("prod")').matches(env)


# -- limits ------------------------------------------------------------------------------------


def test_deep_nesting_is_a_parse_error_not_a_crash() -> None:
    with pytest.raises(PredicateParseError, match="nests more than"):
        parse("!" * (MAX_NESTING + 5) + "true")
    with pytest.raises(PredicateParseError, match="nests more than"):
        parse("(" * (MAX_NESTING + 5) + "true" + ")" * (MAX_NESTING + 5))
    with pytest.raises(PredicateParseError, match="nests more than"):
        parse("set()" + ".add()" * (MAX_NESTING + 5))


def test_long_flat_chains_are_fine() -> None:
    expr = parse(" && ".join(["true"] * 5000))
    assert expr.matches(Environment())
    assert len(expr.explain(Environment()).children) == 5000
    assert parse(str(expr)) == expr
