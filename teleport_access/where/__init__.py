"""Teleport's review `where` / threshold `filter` language, and the review permission check.

    from teleport_access.where import Context, Request, parse

    expr = parse('contains(request.system_annotations["pagerduty_services"], "DB") '
                 '&& !equals(request.reason, "")')
    expr.evaluate(Context(request=Request(reason="outage",
                                          system_annotations={"pagerduty_services": ["DB"]})))
    print(expr.explain(Context()))   # every sub-expression with its value

`parse` reads, type-checks and compiles an expression once; `Expression.evaluate` runs it against
a `Context`; `can_review` is Teleport's permission algorithm for reviewing an access request;
`compile_role_pattern` compiles a role pattern (glob or `^...$` Go regex) for a configuration.
Regular expressions are Go's, matched by RE2 in linear time. The language is documented in
docs/where.md.
"""

from teleport_access.where._context import Context, Request, Review, Reviewer
from teleport_access.where._errors import (
    WhereError,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
)
from teleport_access.where._explain import Explanation
from teleport_access.where._expression import Dialect, Expression, ExpressionKind, parse
from teleport_access.where._patterns import RolePattern, RolePatternError, compile_role_pattern
from teleport_access.where._review import ReviewDecision, can_review

__all__ = [
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
