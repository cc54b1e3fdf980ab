"""`parse` and the compiled `Expression` it returns."""

from __future__ import annotations

import enum
import functools
from typing import Literal, final

from teleport_access.where._ast import Node, Variable, to_source
from teleport_access.where._checker import check
from teleport_access.where._context import Context
from teleport_access.where._errors import WhereEvalError
from teleport_access.where._evaluate import BoolFn, Compiler
from teleport_access.where._explain import Explanation, explain_tree
from teleport_access.where._parser import parse_syntax


class Dialect(enum.StrEnum):
    """Which version of Teleport's language to follow."""

    #: Teleport's current `lib/utils/typical` parser (the default): `regexp.match`, `==`/`!=`,
    #: `map.key` syntax, types checked when parsing, type errors in `equals` at evaluation.
    TYPICAL = "typical"
    #: The older `predicate`-based parser: `equals`/`contains` and `!`/`&&`/`||` only, and a type
    #: mismatch in `equals`/`contains` is simply false.
    LEGACY = "legacy"


class ExpressionKind(enum.StrEnum):
    """Where an expression is used, which decides the variables it may name."""

    #: `review_requests.where`: reviewer.* and request.* variables.
    WHERE = "where"
    #: `thresholds[].filter`: also review.reason and review.annotations.
    FILTER = "filter"


DialectName = Dialect | Literal["typical", "legacy"]
KindName = ExpressionKind | Literal["where", "filter"]


@final
class Expression:
    """A parsed, type-checked and compiled expression. Immutable; evaluate it as often as needed.

    Two expressions are equal when they have the same kind, dialect and tree, whatever their
    spelling: `parse(str(expr), expr.kind, expr.dialect) == expr`.
    """

    __slots__ = ("_compiler", "_dialect", "_fn", "_kind", "_problems", "_root", "_text")

    def __init__(
        self,
        text: str,
        kind: ExpressionKind,
        dialect: Dialect,
        root: Node,
        problems: tuple[tuple[Node, WhereEvalError], ...],
    ) -> None:
        self._text = text
        self._kind = kind
        self._dialect = dialect
        self._root = root
        self._problems = problems
        self._compiler = Compiler(
            text, dialect is Dialect.LEGACY, {id(node): error for node, error in problems}
        )
        self._fn: BoolFn = self._compiler.compile(root)

    @property
    def text(self) -> str:
        """The text the expression was parsed from."""
        return self._text

    @property
    def kind(self) -> ExpressionKind:
        return self._kind

    @property
    def dialect(self) -> Dialect:
        return self._dialect

    @property
    def problems(self) -> tuple[WhereEvalError, ...]:
        """Evaluation errors visible in the text, raised whenever evaluation reaches them.

        Teleport accepts such an expression when a role is saved and fails when it evaluates it:
        an invalid literal pattern in `regexp.match`, or `equals` on values of different types
        (typical dialect). Empty for a sound expression.
        """
        return tuple(error for _, error in self._problems)

    @property
    def variables(self) -> frozenset[str]:
        """The context variables the expression reads, e.g. {"request.reason"}."""
        found: set[str] = set()
        stack = [self._root]
        while stack:
            node = stack.pop()
            if isinstance(node, Variable):
                found.add(node.name)
            stack.extend(node.children())
        return frozenset(found)

    def evaluate(self, ctx: Context) -> bool:
        """True or false for this context. Raises WhereEvalError (never a silent false)."""
        return self._fn(ctx)

    def explain(self, ctx: Context) -> Explanation:
        """The value of every sub-expression; `str()` of the result is a readable tree.

        Never raises WhereEvalError: an error is recorded on the node that raised it (and
        `Explanation.result` re-raises it).
        """
        return explain_tree(self._root, self._compiler, ctx)

    def __str__(self) -> str:
        return to_source(self._root)

    def __repr__(self) -> str:
        return (
            f"Expression({str(self)!r}, kind={self._kind.value!r}, dialect={self._dialect.value!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Expression):
            return NotImplemented
        return (self._kind, self._dialect, self._root) == (other._kind, other._dialect, other._root)

    def __hash__(self) -> int:
        return hash((self._kind, self._dialect, self._root))


def parse(text: str, kind: KindName = "where", dialect: DialectName = "typical") -> Expression:
    """Parse, check and compile a `where` (kind="where") or threshold filter (kind="filter").

    Raises WhereSyntaxError for text that is not an expression of the language and
    WhereTypeError for unknown names, wrong arguments and non-boolean conditions; both point at
    the problem. ValueError for an unknown kind or dialect.
    """
    kind_ = ExpressionKind(kind)
    dialect_ = Dialect(dialect)
    if not isinstance(text, str):
        raise TypeError(f"the expression must be a str, got {type(text).__name__}")
    tree = parse_syntax(text)
    root, problems = check(text, tree, kind_.value, dialect_.value)
    return Expression(text, kind_, dialect_, root, tuple(problems))


@functools.lru_cache(maxsize=1024)
def parse_cached(text: str, kind: str = "where", dialect: str = "typical") -> Expression:
    """`parse`, memoised: roles repeat, and an Expression is immutable. Errors are not cached."""
    return parse(text, ExpressionKind(kind), Dialect(dialect))
