"""Why a condition matches or not: every sub-expression with the value it had.

`explain` evaluates the tree node by node with the same compiled closures `evaluate` uses (so the
two never disagree), records each value, and marks the operands that `&&`/`||` skipped. An
evaluation error is recorded on the node that raised it (and on the nodes above it) instead of
being raised.

    contains_any(access_request.spec.roles, set("dev")) && user.traits["team"].contains("db")
      →  false
    ├── contains_any(access_request.spec.roles, set("dev"))  →  true
    │   └── access_request.spec.roles  →  {"dev"}
    └── user.traits["team"].contains("db")  →  false
        └── user.traits["team"]  →  {}

Literals and constant sub-expressions (`set("dev")`) are not listed: their value is in the text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import attrs

from teleport_access.predicate._ast import And, Index, Node, Or, quote, to_source
from teleport_access.predicate._compile import Compiler
from teleport_access.predicate._errors import PredicateEvalError
from teleport_access.predicate._values import GoTime, GoType, Option, Pair, Value, go_float

if TYPE_CHECKING:
    from teleport_access.predicate._environment import Environment


@attrs.frozen(kw_only=True)
class Explanation:
    """One sub-expression, its value (or why it has none), and the explanations of its parts."""

    #: The normal form of the sub-expression.
    expression: str
    #: Its value; None when it was not evaluated or its evaluation failed.
    value: Value | None = None
    #: False when `&&`/`||` short-circuited before reaching it.
    evaluated: bool = True
    #: The evaluation error raised by this sub-expression (or one of its parts), if any.
    error: PredicateEvalError | None = None
    children: tuple[Explanation, ...] = ()
    #: The static type of the sub-expression.
    type: GoType = GoType.BOOL

    @property
    def matches(self) -> bool:
        """Whether the condition matches: its value is the boolean true. Raises its error."""
        if self.error is not None:
            raise self.error
        return self.value is True

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def lines(self) -> Iterator[str]:
        """The tree, one sub-expression per line."""
        yield f"{self.expression}  →  {self.describe_value()}"
        for i, child in enumerate(self.children):
            last = i == len(self.children) - 1
            for j, line in enumerate(child.lines()):
                if j == 0:
                    yield ("└── " if last else "├── ") + line
                else:
                    yield ("    " if last else "│   ") + line

    def describe_value(self) -> str:
        if not self.evaluated:
            return "not evaluated"
        if self.error is not None:
            return f"error: {self.error.problem}"
        return format_value(self.value)


def format_value(value: object) -> str:
    """A value in the language's own notation: true, "text", {"a", "b"}, {"k": {"v"}}, times."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, frozenset):
        return "{" + ", ".join(quote(item) for item in sorted(value)) + "}"
    if isinstance(value, GoTime):
        return value.rfc3339()
    if isinstance(value, Pair):
        return f"pair({format_value(value.first)}, {format_value(value.second)})"
    if isinstance(value, Option):
        return f"option({format_value(value.condition)}, {format_value(value.value)})"
    if isinstance(value, Mapping):
        items = (f"{quote(k)}: {format_value(value[k])}" for k in sorted(value))
        return "{" + ", ".join(items) + "}"
    return repr(value)


class Explainer:
    def __init__(self, compiler: Compiler, env: Environment) -> None:
        self.compiler = compiler
        self.env = env

    def listed(self, node: Node) -> bool:
        return id(node) not in self.compiler.constants

    def explain(self, node: Node) -> Explanation:
        children: list[Explanation] = []
        if isinstance(node, And | Or):
            stop_on = isinstance(node, Or)  # && stops at false, || at true
            stopped = False
            for operand in node.operands:
                if stopped:
                    children.append(self.skipped(operand))
                    continue
                child = self.explain(operand)
                children.append(child)
                # A value that is not a boolean fails the operator right there.
                if (
                    child.error is not None
                    or type(child.value) is not bool
                    or child.value is stop_on
                ):
                    stopped = True
        elif isinstance(node, Index):
            if self.listed(node.key):
                children.append(self.explain(node.key))
        else:
            children.extend(self.explain(c) for c in node.children() if self.listed(c))
        failed = next((child.error for child in children if child.error is not None), None)
        if failed is not None:
            return self.make(node, None, failed, children)
        try:
            value = self.compiler.functions[id(node)](self.env)
        except PredicateEvalError as exc:
            return self.make(node, None, exc, children)
        return self.make(node, value, None, children)

    @staticmethod
    def skipped(node: Node) -> Explanation:
        return Explanation(expression=to_source(node), evaluated=False, type=node.type)

    @staticmethod
    def make(
        node: Node,
        value: Value | None,
        error: PredicateEvalError | None,
        children: list[Explanation],
    ) -> Explanation:
        return Explanation(
            expression=to_source(node),
            value=value,
            error=error,
            children=tuple(children),
            type=node.type,
        )


def explain_tree(root: Node, compiler: Compiler, env: Environment) -> Explanation:
    return Explainer(compiler, env).explain(root)
