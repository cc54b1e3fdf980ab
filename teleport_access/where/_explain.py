"""Why an expression is true or false: every sub-expression with the value it had.

`explain` evaluates the tree node by node with the same compiled closures `evaluate` uses (so the
two never disagree), records each value, and marks the operands that `&&`/`||` skipped. An
evaluation error is recorded on the node that raised it instead of being raised.

    contains(reviewer.roles, "dev") && !equals(request.reason, "")  →  false
    ├── contains(reviewer.roles, "dev")  →  true
    │   └── reviewer.roles  →  ["dev"]
    └── !equals(request.reason, "")  →  false
        └── equals(request.reason, "")  →  true
            └── request.reason  →  ""

Literals are not listed: their value is in the text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import attrs

from teleport_access.where._ast import (
    And,
    FloatLiteral,
    Index,
    IntLiteral,
    Node,
    Not,
    Or,
    StringLiteral,
    WhereType,
    quote,
    to_source,
)
from teleport_access.where._context import Context
from teleport_access.where._errors import WhereEvalError
from teleport_access.where._evaluate import Compiler

#: The value of a sub-expression: a boolean, string, list, map or number.
Value = bool | str | int | float | tuple[str, ...] | Mapping[str, tuple[str, ...]]


@attrs.frozen(kw_only=True)
class Explanation:
    """One sub-expression, its value (or why it has none), and the explanations of its parts."""

    #: The normalised text of the sub-expression.
    expression: str
    #: Its value; None when it was not evaluated or its evaluation failed.
    value: Value | None = None
    #: False when `&&`/`||` short-circuited before reaching it.
    evaluated: bool = True
    #: The evaluation error raised by this sub-expression (or one of its parts), if any.
    error: WhereEvalError | None = None
    children: tuple[Explanation, ...] = ()
    #: The static type of the sub-expression.
    type: WhereType = WhereType.BOOL

    @property
    def result(self) -> bool:
        """The boolean result, exactly as `evaluate` returns it; raises its WhereEvalError."""
        if self.error is not None:
            raise self.error
        return bool(self.value)

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
        return format_value(self.value, self.type)


def format_value(value: Value | None, type_: WhereType = WhereType.BOOL) -> str:
    """A value in Go-like notation: true, "text", ["a", "b"], {"key": ["value"]}."""
    if type_ is WhereType.OBJECT:
        return "(namespace)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(quote(item) for item in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{quote(key)}: {format_value(val, WhereType.LIST)}" for key, val in value.items())
        return "{" + ", ".join(items) + "}"
    return repr(value)


_LITERALS = (StringLiteral, IntLiteral, FloatLiteral)


class Explainer:
    def __init__(self, compiler: Compiler, ctx: Context) -> None:
        self.compiler = compiler
        self.ctx = ctx

    def explain(self, node: Node) -> Explanation:
        children: list[Explanation] = []
        if isinstance(node, And | Or):
            stop_on = not isinstance(node, And)  # && stops at false, || at true
            stopped = False
            for operand in node.operands:
                if stopped:
                    children.append(self.skipped(operand))
                    continue
                child = self.explain(operand)
                children.append(child)
                if child.error is not None or child.value is stop_on:
                    stopped = True
        elif isinstance(node, Index):
            if not isinstance(node.key, _LITERALS):
                children.append(self.explain(node.key))
        elif not isinstance(node, Not):
            children.extend(
                self.explain(child) for child in node.children() if not isinstance(child, _LITERALS)
            )
        else:
            children.append(self.explain(node.operand))
        failed = next((child.error for child in children if child.error is not None), None)
        if failed is not None:
            return self.make(node, None, failed, children)
        try:
            value = self.compiler.compile(node)(self.ctx)
        except WhereEvalError as exc:
            return self.make(node, None, exc, children)
        return self.make(node, value, None, children)

    def skipped(self, node: Node) -> Explanation:
        return Explanation(expression=to_source(node), evaluated=False, value=None, type=node.type)

    @staticmethod
    def make(
        node: Node, value: Value | None, error: WhereEvalError | None, children: list[Explanation]
    ) -> Explanation:
        return Explanation(
            expression=to_source(node),
            value=value,
            error=error,
            children=tuple(children),
            type=node.type,
        )


def explain_tree(root: Node, compiler: Compiler, ctx: Context) -> Explanation:
    return Explainer(compiler, ctx).explain(root)
