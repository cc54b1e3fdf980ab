"""teleport_access.where benchmarks: parses and evaluations per second.

    .venv/bin/python benchmarks/where.py [--seconds 1.0] [--json out.json]

Targets (issue 3), for the PagerDuty expression
    contains(request.system_annotations["pagerduty_services"], "My Critical Service")
        && !equals(request.reason, "")
are at least 20,000 parses per second and 300,000 evaluations per second; so is the second
for the `where` of docs/guide.md (issue 11). Regular expressions run on RE2 (issue 11), so a
pattern that makes a backtracking engine take exponential time, `^(a+)+$` or `^(a|aa)*$` against
a 64-character reason, must be answered in well under a millisecond (and a 10,000-character
reason in time linear in its length). The script also measures a 20-clause expression, a plain
`regexp.match`, the memoised parse `can_review` uses, explain(), and `can_review` itself on the
TestReviewThresholds roles. Each figure is the best of five runs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from teleport_access._models import AccessRequest, ReviewConditions, Role, RoleConditions
from teleport_access.where import Context, Request, Review, Reviewer, can_review, parse
from teleport_access.where._expression import parse_cached

PAGERDUTY = (
    'contains(request.system_annotations["pagerduty_services"], "My Critical Service") '
    '&& !equals(request.reason, "")'
)
#: The reviewer role's `where` in docs/guide.md.
GUIDE = 'contains(request.system_annotations["pagerduty_services"], "My Critical Service")'
#: Patterns whose matching is exponential in a backtracking engine on "a" * n + "b".
PATHOLOGICAL = ("^(a+)+$", "^(a|aa)*$")

TWENTY_CLAUSES = " && ".join(
    [
        'contains(reviewer.roles, "reviewer")',
        '!contains(reviewer.roles, "intern")',
        'contains(reviewer.traits["team"], "sre")',
        '!equals(request.reason, "")',
        'regexp.match(request.reason, "^(INC|CHG)-[0-9]+.*$")',
        '(contains(request.roles, "db-admin") || contains(request.roles, "db-ro"))',
        'request.reason != "test"',
        'regexp.match(request.roles, "db-*")',
        '!regexp.match(request.roles, "*-prod-root")',
        'contains(request.system_annotations["pagerduty_services"], "My Critical Service")',
        '!contains(request.system_annotations["pagerduty_services"], "Retired")',
        'equals(reviewer.traits["region"], request.system_annotations["region"])',
        'contains(reviewer.traits.region, "eu")',
        '!contains(reviewer.traits["suspended"], "true")',
        'regexp.match(reviewer.traits["email"], "*@example.com")',
        '(request.reason == "urgent" || !contains(request.roles, "break-glass"))',
        "!equals(reviewer.roles, request.roles)",
        'contains(reviewer.roles, "oncall") || contains(reviewer.roles, "lead")',
        'regexp.match(request.system_annotations["tier"], "^(1|2)$")',
        '!contains(request.system_annotations["freeze"], "yes")',
    ]
)

TRUE_CONTEXT = Context(
    reviewer=Reviewer(
        roles=["reviewer", "oncall"],
        traits={"team": ["sre"], "region": ["eu"], "email": ["ann@example.com"]},
    ),
    request=Request(
        roles=["db-admin"],
        reason="INC-1234 database outage",
        system_annotations={
            "pagerduty_services": ["My Critical Service"],
            "region": ["eu"],
            "tier": ["1"],
        },
    ),
    review=Review(),
)
FALSE_CONTEXT = Context(request=Request(reason="INC-1"))


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Calls per second of `fn`: best of five runs of about seconds/5 each."""
    batch = 1
    while True:  # size a batch to take about 10 ms
        started = time.perf_counter()
        for _ in range(batch):
            fn()
        if time.perf_counter() - started > 0.01:
            break
        batch *= 2
    best = 0.0
    for _ in range(5):
        calls = 0
        started = time.perf_counter()
        deadline = started + seconds / 5
        while time.perf_counter() < deadline:
            for _ in range(batch):
                fn()
            calls += batch
        best = max(best, calls / (time.perf_counter() - started))
    return best


def verdict(value: float, target: float | None, *, higher: bool) -> str:
    """The target column: the bound and whether `value` meets it ("" without a target)."""
    if target is None:
        return ""
    if higher:
        return f">= {target:,.0f}  {'ok' if value >= target else 'BELOW TARGET'}"
    return f"<= {target:g}  {'ok' if value <= target else 'ABOVE TARGET'}"


def _reviewer_role(name: str, where: str) -> Role:
    conditions = ReviewConditions(roles=("dictator",), where=where)
    return Role(name=name, allow=RoleConditions(review_requests=conditions))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    seconds = args.seconds

    rows: list[tuple[str, float, float | None]] = []
    guide = parse(GUIDE)
    assert guide.evaluate(TRUE_CONTEXT) is True
    rows.append(
        (
            "guide's where (docs/guide.md): evaluate (true)",
            rate(lambda: guide.evaluate(TRUE_CONTEXT), seconds),
            300_000.0,
        )
    )
    regex = parse('regexp.match(request.reason, "^(INC|CHG)-[0-9]+.*$")')
    assert regex.evaluate(TRUE_CONTEXT) is True
    rows.append(
        (
            "regexp.match(request.reason, ^(INC|CHG)-[0-9]+.*$): evaluate",
            rate(lambda: regex.evaluate(TRUE_CONTEXT), seconds),
            None,
        )
    )
    # Times of one evaluation, in ms (lower is better), for the patterns that stall `re`.
    timings: list[tuple[str, float, float | None]] = []
    for pattern in PATHOLOGICAL:
        expr = parse(f'regexp.match(request.reason, "{pattern}")')
        for length, target in ((64, 1.0), (10_000, None)):
            context = Context(request=Request(reason="a" * length + "b"))
            assert expr.evaluate(context) is False
            per_second = rate(lambda e=expr, c=context: e.evaluate(c), seconds / 2)
            label = f"regexp.match(request.reason, {pattern}), {length}-char reason: one evaluation"
            timings.append((label, 1000.0 / per_second, target))

    for name, text in (
        ("PagerDuty expression", PAGERDUTY),
        ("20-clause expression", TWENTY_CLAUSES),
    ):
        expr = parse(text)
        assert expr.evaluate(TRUE_CONTEXT) is True, name
        assert expr.evaluate(FALSE_CONTEXT) is False, name
        targets = (20_000.0, 300_000.0) if name.startswith("PagerDuty") else (None, None)
        rows.append(
            (f"{name}: parse (uncached)", rate(lambda t=text: parse(t), seconds), targets[0])
        )
        rows.append(
            (
                f"{name}: parse (memoised, as can_review)",
                rate(lambda t=text: parse_cached(t), seconds),
                None,
            )
        )
        evaluate = expr.evaluate
        rows.append(
            (
                f"{name}: evaluate (true)",
                rate(lambda e=evaluate: e(TRUE_CONTEXT), seconds),
                targets[1],
            )
        )
        rows.append(
            (
                f"{name}: evaluate (false, short-circuit)",
                rate(lambda e=evaluate: e(FALSE_CONTEXT), seconds),
                None,
            )
        )
        rows.append(
            (f"{name}: explain", rate(lambda e=expr: e.explain(TRUE_CONTEXT), seconds), None)
        )

    roles = [
        _reviewer_role(
            "proletariat", 'contains(request.system_annotations["mechanism"],"uprising")'
        ),
        _reviewer_role(
            "intelligentsia",
            'contains(request.system_annotations["mechanism"],"consensus") '
            '&& regexp.match(request.reason, "*good*")',
        ),
    ]
    request = AccessRequest(
        id="r",
        user="alice",
        roles=("dictator",),
        request_reason="some very good reason",
        system_annotations={"mechanism": ("uprising", "consensus")},
    )
    assert can_review(roles, {}, "bob", request)
    rows.append(
        (
            "can_review (2 roles, memoised parses)",
            rate(lambda: can_review(roles, {}, "bob", request), seconds),
            None,
        )
    )

    width = max(len(label) for label, _, _ in rows + timings)
    print(f"{'measurement':<{width}}  {'per second':>12}  target")
    for label, value, target in rows:
        print(f"{label:<{width}}  {value:>12,.0f}  {verdict(value, target, higher=True)}")
    print(f"{'':<{width}}  {'ms':>12}")
    for label, value, target in timings:
        print(f"{label:<{width}}  {value:>12.4f}  {verdict(value, target, higher=False)}")
    if args.json is not None:
        figures = [
            {"name": label, "value": round(value), "unit": "/s", "target": target}
            for label, value, target in rows
        ] + [
            {"name": label, "value": round(value, 4), "unit": "ms", "target": target}
            for label, value, target in timings
        ]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"benchmark": "where", "figures": figures}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
