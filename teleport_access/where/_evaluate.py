"""Evaluation: a checked tree is compiled once into nested closures, then called per context.

Each node becomes a small function of the context; literals are folded into their parent's
closure, `&&`/`||` short-circuit left to right as in Go, and literal `regexp.match` patterns are
compiled when the expression is parsed. A call therefore does no dispatch on node kinds, which
is what makes evaluation cheap enough to run on every review of every request.

Evaluation errors are raised as WhereEvalError, in the order Go would meet them: arguments
first, then the function.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, Final

from teleport_access.where._ast import (
    And,
    Call,
    Compare,
    FloatLiteral,
    Index,
    IntLiteral,
    Node,
    Not,
    Or,
    StringLiteral,
    Variable,
    WhereType,
)
from teleport_access.where._checker import pattern_error
from teleport_access.where._context import Context
from teleport_access.where._errors import WhereEvalError
from teleport_access.where._patterns import compile_teleport_pattern
from teleport_access.where._regex import RegexError

Fn = Callable[[Context], Any]
BoolFn = Callable[[Context], bool]

#: How each variable is read from a Context.
GETTERS: Final[Mapping[str, Fn]] = {
    "reviewer.roles": attrgetter("reviewer.roles"),
    "reviewer.traits": attrgetter("reviewer.traits"),
    "request.roles": attrgetter("request.roles"),
    "request.reason": attrgetter("request.reason"),
    "request.system_annotations": attrgetter("request.system_annotations"),
    "review.reason": attrgetter("review.reason"),
    "review.annotations": attrgetter("review.annotations"),
    "reviewer": attrgetter("reviewer"),
    "request": attrgetter("request"),
    "review": attrgetter("review"),
}

_EMPTY: tuple[str, ...] = ()


def _const(value: object) -> Fn:
    return lambda ctx: value


class Compiler:
    """Compiles the checked tree of one expression."""

    def __init__(self, text: str, legacy: bool, problems: Mapping[int, WhereEvalError]) -> None:
        self.text = text
        self.legacy = legacy
        #: Latent evaluation errors found by the checker, by id() of their node.
        self.problems = problems

    def compile(self, node: Node) -> Fn:
        if isinstance(node, And | Or):
            return self.logical(node)
        if isinstance(node, Call):
            return self.call(node)
        if isinstance(node, Not):
            operand = self.compile(node.operand)
            return lambda ctx: not operand(ctx)
        if isinstance(node, Variable):
            return GETTERS[node.name]
        if isinstance(node, Index):
            return self.index(node)
        if isinstance(node, StringLiteral | IntLiteral | FloatLiteral):
            return _const(node.value)
        assert isinstance(node, Compare)
        return self.compare(node)

    # -- operators ------------------------------------------------------------------------------

    def logical(self, node: And | Or) -> Fn:
        fns = tuple(self.compile(op) for op in node.operands)
        if len(fns) == 2:
            a, b = fns
            if isinstance(node, And):
                return lambda ctx: a(ctx) and b(ctx)
            return lambda ctx: a(ctx) or b(ctx)
        if isinstance(node, And):

            def all_of(ctx: Context) -> bool:
                # A plain loop: measurably faster than all() over a generator.
                for fn in fns:  # noqa: SIM110
                    if not fn(ctx):
                        return False
                return True

            return all_of

        def any_of(ctx: Context) -> bool:
            for fn in fns:  # noqa: SIM110
                if fn(ctx):
                    return True
            return False

        return any_of

    def compare(self, node: Compare) -> Fn:
        left, right = self.compile(node.left), self.compile(node.right)
        if isinstance(node.right, StringLiteral | IntLiteral):
            value = node.right.value
            if node.op == "==":
                return lambda ctx: left(ctx) == value
            return lambda ctx: left(ctx) != value
        if node.op == "==":
            return lambda ctx: left(ctx) == right(ctx)
        return lambda ctx: left(ctx) != right(ctx)

    def index(self, node: Index) -> Fn:
        base = self.compile(node.base)
        if isinstance(node.key, StringLiteral):
            key = node.key.value
            return lambda ctx: base(ctx).get(key, _EMPTY)
        key_fn = self.compile(node.key)
        return lambda ctx: base(ctx).get(key_fn(ctx), _EMPTY)

    # -- functions ------------------------------------------------------------------------------

    def call(self, node: Call) -> Fn:
        problem = self.problems.get(id(node))
        if problem is not None:
            return self.failing(node, problem)
        first, second = node.args
        if self.legacy:
            return self.legacy_call(node)
        if node.function == "equals":
            return self.equality(first, second)
        if node.function == "contains":
            return self.contains(first, second)
        return self.regexp_match(first, second)

    def failing(self, node: Call, error: WhereEvalError) -> Fn:
        """A call Go would fail on: evaluate the arguments (their errors come first), then fail."""
        args = tuple(self.compile(arg) for arg in node.args)

        def fail(ctx: Context) -> bool:
            for arg in args:
                arg(ctx)
            # A fresh copy each time: re-raising one shared instance would grow its traceback
            # on every evaluation and share it between threads.
            raise copy.copy(error)

        return fail

    def equality(self, first: Node, second: Node) -> Fn:
        a = self.compile(first)
        if isinstance(second, StringLiteral):
            value = second.value
            return lambda ctx: a(ctx) == value
        b = self.compile(second)
        return lambda ctx: a(ctx) == b(ctx)

    def contains(self, first: Node, second: Node) -> Fn:
        items = self.compile(first)
        if first.type is WhereType.STRING:
            # Teleport wraps a string first argument into a one-element list.
            return self.equality(first, second)
        if isinstance(second, StringLiteral):
            value = second.value
            if isinstance(first, Index) and isinstance(first.key, StringLiteral):
                mapping = self.compile(first.base)
                key = first.key.value
                return lambda ctx: value in mapping(ctx).get(key, _EMPTY)
            return lambda ctx: value in items(ctx)
        item = self.compile(second)
        return lambda ctx: item(ctx) in items(ctx)

    def regexp_match(self, first: Node, second: Node) -> Fn:
        values = self.compile(first)
        single = first.type is WhereType.STRING
        if isinstance(second, StringLiteral):
            compiled = compile_teleport_pattern(second.value)
            assert not isinstance(compiled, RegexError)  # the checker recorded it as a problem
            matcher = compiled
            if single:
                return lambda ctx: matcher(values(ctx))
            return lambda ctx: any(map(matcher, values(ctx)))

        pattern_fn = self.compile(second)
        text = self.text

        def match_dynamic(ctx: Context) -> bool:
            found = values(ctx)
            pattern = pattern_fn(ctx)
            result = compile_teleport_pattern(pattern)
            if isinstance(result, RegexError):
                raise pattern_error(text, second, result, value=pattern)
            if single:
                return result(found)
            return any(map(result, found))

        return match_dynamic

    def legacy_call(self, node: Call) -> Fn:
        """The older predicate functions: a type mismatch is false, never an error."""
        first, second = node.args
        a, b = first.type, second.type
        if node.function == "equals" and a is b and a in (WhereType.STRING, WhereType.LIST):
            return self.equality(first, second)
        if node.function == "contains" and a is WhereType.LIST and b is WhereType.STRING:
            return self.contains(first, second)
        return _const(False)


def compile_tree(
    root: Node, text: str, legacy: bool, problems: Mapping[int, WhereEvalError]
) -> BoolFn:
    """The evaluation function of a checked tree."""
    fn: BoolFn = Compiler(text, legacy, problems).compile(root)
    return fn
