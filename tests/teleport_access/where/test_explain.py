"""explain(): every sub-expression with its value, as a readable tree."""

from __future__ import annotations

import pytest

from teleport_access.where import (
    Context,
    Explanation,
    Request,
    Reviewer,
    WhereEvalError,
    parse,
)

PAGERDUTY = (
    'contains(request.system_annotations["pagerduty_services"], "My Critical Service") '
    '&& !equals(request.reason, "")'
)


def test_the_tree_lists_each_sub_expression_with_its_value() -> None:
    ctx = Context(
        request=Request(
            reason="outage", system_annotations={"pagerduty_services": ["My Critical Service"]}
        )
    )
    assert str(parse(PAGERDUTY).explain(ctx)) == "\n".join(
        [
            'contains(request.system_annotations["pagerduty_services"], "My Critical Service") '
            '&& !equals(request.reason, "")  →  true',
            '├── contains(request.system_annotations["pagerduty_services"], '
            '"My Critical Service")  →  true',
            '│   └── request.system_annotations["pagerduty_services"]  →  ["My Critical Service"]',
            '└── !equals(request.reason, "")  →  true',
            '    └── equals(request.reason, "")  →  false',
            '        └── request.reason  →  "outage"',
        ]
    )


def test_operands_skipped_by_short_circuit_are_marked_not_evaluated() -> None:
    explanation = parse(PAGERDUTY).explain(Context())
    assert explanation.value is False
    first, second = explanation.children
    assert first.value is False
    assert second.evaluated is False
    assert second.value is None
    assert str(explanation).splitlines()[-1] == '└── !equals(request.reason, "")  →  not evaluated'


def test_an_evaluation_error_is_recorded_not_raised() -> None:
    expr = parse('contains(reviewer.roles, "x") || regexp.match(request.roles, "^(x$")')
    explanation = expr.explain(Context())
    assert isinstance(explanation.error, WhereEvalError)
    assert explanation.children[1].error is explanation.error
    assert "error: invalid regular expression" in str(explanation)
    with pytest.raises(WhereEvalError):
        _ = explanation.result


def test_the_result_is_what_evaluate_returns() -> None:
    expr = parse('regexp.match(reviewer.roles, "o*") && contains(reviewer.traits.team, "sre")')
    for ctx in (
        Context(),
        Context(reviewer=Reviewer(roles=["ops"], traits={"team": ["sre"]})),
        Context(reviewer=Reviewer(roles=["ops"])),
    ):
        assert expr.explain(ctx).result is expr.evaluate(ctx)


def test_values_are_shown_in_go_like_notation() -> None:
    expr = parse(
        "equals(reviewer.traits[request.reason], request.roles) || 1 == 2", dialect="typical"
    )
    ctx = Context(
        request=Request(reason='k"ey', roles=["a", "b"]),
        reviewer=Reviewer(traits={}),
    )
    lines = str(expr.explain(ctx)).splitlines()
    assert "│   ├── reviewer.traits[request.reason]  →  []" in lines
    assert '│   │   └── request.reason  →  "k\\"ey"' in lines
    assert '│   └── request.roles  →  ["a", "b"]' in lines
    assert "└── 1 == 2  →  false" in lines


def test_legacy_namespaces_are_shown_as_namespaces() -> None:
    explanation = parse("equals(reviewer, request)", dialect="legacy").explain(Context())
    assert explanation.children[0].describe_value() == "(namespace)"
    assert isinstance(explanation, Explanation)
