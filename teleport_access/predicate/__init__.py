"""Teleport's access-request condition language (Access Monitoring Rules), and rule schedules.

    from teleport_access.predicate import Environment, parse

    expr = parse('contains_any(access_request.spec.roles, set("editor", "admin")) && '
                 'user.traits["team"].contains("db")')
    env = Environment(roles=["editor"], user_traits={"team": ["db"]})
    expr.matches(env)        # True
    print(expr.explain(env))  # every sub-expression with its value
    str(expr)                 # the normal form

`parse` reads, type-checks and compiles a condition once (Teleport's newest grammar); the
`Expression` evaluates as often as needed. `Schedule`/`TimeSchedule`/`Shift` (the models of
`teleport_access`, re-exported here) and
`rule_in_schedule` evaluate a rule's weekly schedules. The language is documented in
docs/predicate.md. Nothing here does I/O.
"""

from teleport_access._models import Schedule, Shift, TimeSchedule
from teleport_access.predicate._environment import Environment
from teleport_access.predicate._errors import (
    PredicateError,
    PredicateEvalError,
    PredicateParseError,
    ScheduleError,
)
from teleport_access.predicate._explain import Explanation
from teleport_access.predicate._expression import Expression, parse, parse_cached
from teleport_access.predicate._schedule import (
    in_schedules,
    load_location,
    rule_in_schedule,
    schedule_contains,
)
from teleport_access.predicate._values import GoTime, GoType, Option, Pair, Value

__all__ = [
    "Environment",
    "Explanation",
    "Expression",
    "GoTime",
    "GoType",
    "Option",
    "Pair",
    "PredicateError",
    "PredicateEvalError",
    "PredicateParseError",
    "Schedule",
    "ScheduleError",
    "Shift",
    "TimeSchedule",
    "Value",
    "in_schedules",
    "load_location",
    "parse",
    "parse_cached",
    "rule_in_schedule",
    "schedule_contains",
]
