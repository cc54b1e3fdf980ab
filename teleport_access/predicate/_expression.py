"""`parse` and the compiled `Expression` it returns."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, final

from teleport_access.predicate._ast import Node, Variable, to_source
from teleport_access.predicate._checker import check
from teleport_access.predicate._compile import Compiler, Fn
from teleport_access.predicate._errors import PredicateParseError
from teleport_access.predicate._explain import Explanation, explain_tree
from teleport_access.predicate._syntax import parse_syntax
from teleport_access.predicate._values import GoType, Value

if TYPE_CHECKING:
    from teleport_access.predicate._environment import Environment


@final
class Expression:
    """A parsed, type-checked and compiled condition. Immutable; evaluate it as often as needed.

    Two expressions are equal when they have the same tree, whatever their spelling:
    `parse(str(expr)) == expr`.
    """

    __slots__ = ("_compiler", "_fn", "_root", "_text")

    def __init__(self, text: str, root: Node) -> None:
        self._text = text
        self._root = root
        self._compiler = Compiler(text)
        self._fn: Fn = self._compiler.compile(root)

    @property
    def text(self) -> str:
        """The text the expression was parsed from."""
        return self._text

    @property
    def type(self) -> GoType:
        """The static type of the condition; anything but bool (or `any`) never matches."""
        return self._root.type

    @property
    def variables(self) -> frozenset[str]:
        """The environment variables the condition reads, e.g. {"user.traits"}."""
        found: set[str] = set()
        stack = [self._root]
        while stack:
            node = stack.pop()
            if isinstance(node, Variable):
                found.add(node.name)
            stack.extend(node.children())
        return frozenset(found)

    def evaluate(self, env: Environment) -> Value:
        """The condition's value for this environment. Raises PredicateEvalError."""
        value: Value = self._fn(env)
        return value

    def matches(self, env: Environment) -> bool:
        """Whether the rule matches: the value is the boolean true (any other value is no match,
        as in Teleport). Raises PredicateEvalError when evaluation fails."""
        return self._fn(env) is True

    def explain(self, env: Environment) -> Explanation:
        """The value of every sub-expression; `str()` of the result is a readable tree.

        Never raises PredicateEvalError: an error is recorded on the node that raised it (and
        `Explanation.matches` re-raises it).
        """
        return explain_tree(self._root, self._compiler, env)

    def __str__(self) -> str:
        return to_source(self._root)

    def __repr__(self) -> str:
        return f"Expression({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return self._root == other._root

    def __hash__(self) -> int:
        return hash(self._root)


def parse(text: str) -> Expression:
    """Parse, check and compile an access monitoring rule condition.

    Raises PredicateParseError for text that is not a condition of the language (Go syntax,
    unknown names, wrong arguments, unsupported operators), pointing at the problem.
    """
    if not isinstance(text, str):
        raise TypeError(f"the condition must be a str, got {type(text).__name__}")
    if text == "":
        raise PredicateParseError(
            "empty expression", text=text, offset=0, hint="write a condition such as true"
        )
    root = check(text, parse_syntax(text))
    return Expression(text, root)


@functools.lru_cache(maxsize=1024)
def parse_cached(text: str) -> Expression:
    """`parse`, memoised: rules repeat, and an Expression is immutable. Errors are not cached."""
    return parse(text)
