"""teleport_access.predicate benchmarks: parses and evaluations per second.

    .venv/bin/python benchmarks/predicate.py [--seconds 1.0] [--json out.json]

Target (issue 13): at least 300,000 evaluations per second of the guide-sized condition
    contains_any(access_request.spec.roles, set("editor", "admin"))
        && user.traits["team"].contains("db")
        && !is_empty(access_request.spec.system_annotations["pagerduty_services"])
The script also measures parsing (uncached and memoised), a non-matching evaluation that stops
at the first clause, explain(), a regexp.match condition and a schedule check; and, as tpd does
for a request that needs an incident, routing one request through 100 cached rules (every
condition evaluated, the recipients united, the route decided): target under 1 ms (at least
1,000 routings per second). Each figure is the best of five runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

# The same measuring loop as the `where` benchmark (this directory is on sys.path when run).
from where import rate

from teleport_access import AccessMonitoringRule, AccessRequest, Notification
from teleport_access.predicate import (
    Environment,
    Schedule,
    Shift,
    TimeSchedule,
    parse,
    parse_cached,
    rule_in_schedule,
)
from teleport_pd_cli.policy import (
    CompiledRule,
    Route,
    compile_rule,
    evaluate_rules,
    route_notification,
)

GUIDE = (
    'contains_any(access_request.spec.roles, set("editor", "admin")) && '
    'user.traits["team"].contains("db") && '
    '!is_empty(access_request.spec.system_annotations["pagerduty_services"])'
)
REGEX = (
    'regexp.match(access_request.spec.roles, "db-*") && '
    'regexp.match(set(access_request.spec.request_reason), "^(INC|CHG)-[0-9]+.*$")'
)
CREATED = datetime(2025, 8, 11, 14, 30, tzinfo=UTC)
MATCHING = Environment(
    roles=["editor", "db-admin"],
    user="alice@example.com",
    request_reason="INC-1234 database outage",
    creation_time=CREATED,
    user_traits={"team": ["db", "platform"]},
    system_annotations={"pagerduty_services": ["DB"]},
)
NOT_MATCHING = Environment(roles=["viewer"])
SCHEDULES = {
    "office": Schedule(
        time=TimeSchedule(
            shifts=[Shift(weekday="Monday", start="09:00", end="17:00")],
            timezone="Europe/Berlin",
        )
    )
}


def cached_rules(count: int = 100) -> list[CompiledRule]:
    """`count` rules as tpd caches them: guide-sized conditions, one in ten with a schedule, one
    of them matching the benchmark's request."""
    rules = []
    for index in range(count):
        team = "db" if index == count // 2 else f"team-{index}"
        condition = GUIDE.replace('contains("db")', f"contains({team!r})".replace("'", '"'))
        rules.append(
            compile_rule(
                AccessMonitoringRule(
                    name=f"rule-{index:03d}",
                    subjects=("access_request",),
                    condition=condition,
                    notification=Notification(name="pagerduty", recipients=(f"Service {index}",)),
                    schedules=SCHEDULES if index % 10 == 0 else {},
                )
            )
        )
    return rules


REQUEST = AccessRequest(
    id="bench",
    user="alice@example.com",
    roles=("editor", "db-admin"),
    created=CREATED,
    system_annotations={"pagerduty_services": ["DB"], "pagerduty_notify_service": ["Notify"]},
)
TRAITS = {"team": ["db", "platform"]}


def route_once(rules: list[CompiledRule]) -> Route:
    evaluation = evaluate_rules(rules, REQUEST, TRAITS)
    return route_notification(REQUEST, evaluation.matches, "pagerduty_notify_service")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    seconds = args.seconds

    guide = parse(GUIDE)
    regex = parse(REGEX)
    assert guide.matches(MATCHING) is True
    assert guide.matches(NOT_MATCHING) is False
    assert regex.matches(MATCHING) is True
    assert rule_in_schedule(SCHEDULES, CREATED) is True
    matches, explain = guide.matches, guide.explain
    rules = cached_rules()
    assert route_once(rules).service_name == "Service 50"

    rows: list[tuple[str, float, float | None]] = [
        ("guide condition: parse (uncached)", rate(lambda: parse(GUIDE), seconds), None),
        ("guide condition: parse (memoised)", rate(lambda: parse_cached(GUIDE), seconds), None),
        ("guide condition: evaluate (match)", rate(lambda: matches(MATCHING), seconds), 300_000.0),
        (
            "guide condition: evaluate (no match, short-circuit)",
            rate(lambda: matches(NOT_MATCHING), seconds),
            None,
        ),
        ("guide condition: explain", rate(lambda: explain(MATCHING), seconds), None),
        ("regexp.match condition: evaluate", rate(lambda: regex.matches(MATCHING), seconds), None),
        (
            "schedule check (Europe/Berlin)",
            rate(lambda: rule_in_schedule(SCHEDULES, CREATED), seconds),
            None,
        ),
        (
            "route one request through 100 cached rules",
            rate(lambda: route_once(rules), seconds),
            1_000.0,
        ),
        (
            "Environment construction (per request)",
            rate(
                lambda: Environment(
                    roles=["editor"],
                    user_traits={"team": ["db"]},
                    system_annotations={"pagerduty_services": ["DB"]},
                    creation_time=CREATED,
                ),
                seconds,
            ),
            None,
        ),
    ]

    width = max(len(label) for label, _, _ in rows)
    print(f"{'measurement':<{width}}  {'per second':>12}  target")
    for label, value, target in rows:
        verdict = ""
        if target is not None:
            verdict = f">= {target:,.0f}  {'ok' if value >= target else 'BELOW TARGET'}"
        print(f"{label:<{width}}  {value:>12,.0f}  {verdict}")
    if args.json is not None:
        figures = [
            {"name": label, "value": round(value), "unit": "/s", "target": target}
            for label, value, target in rows
        ]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps({"benchmark": "predicate", "figures": figures}, indent=2) + "\n"
        )


if __name__ == "__main__":
    main()
