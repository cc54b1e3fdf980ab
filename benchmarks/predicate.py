"""teleport_access.predicate benchmarks: parses and evaluations per second.

    .venv/bin/python benchmarks/predicate.py [--seconds 1.0] [--json out.json]

Target (issue 13): at least 300,000 evaluations per second of the guide-sized condition
    contains_any(access_request.spec.roles, set("editor", "admin"))
        && user.traits["team"].contains("db")
        && !is_empty(access_request.spec.system_annotations["pagerduty_services"])
The script also measures parsing (uncached and memoised), a non-matching evaluation that stops
at the first clause, explain(), a regexp.match condition and a schedule check. Each figure is the
best of five runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

# The same measuring loop as the `where` benchmark (this directory is on sys.path when run).
from where import rate

from teleport_access.predicate import (
    Environment,
    Schedule,
    Shift,
    TimeSchedule,
    parse,
    parse_cached,
    rule_in_schedule,
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
