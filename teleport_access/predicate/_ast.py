"""The checked expression tree, its static types, and its normal form.

Nodes compare structurally (positions are not part of equality), so two expressions are equal
when they say the same thing in the same shape: `user.traits.team` and `user.traits["team"]` are
one tree, and `parse(str(expr)) == expr`.

The normal form (`to_source`) writes map keys with index syntax, strings double-quoted with Go
escapes, `name(a, b)` calls and `x.method(a)` method calls as written, single spaces around
binary operators and only the parentheses the tree needs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from teleport_access.predicate._values import GoType, go_float
from teleport_access.where._ast import quote

__all__ = [
    "And",
    "Call",
    "Compare",
    "Index",
    "Literal",
    "Node",
    "Not",
    "Or",
    "Variable",
    "quote",
    "to_source",
]


class Node:
    """A checked sub-expression: its static type and its character span in the source."""

    __slots__ = ("end", "start", "type")
    _fields: ClassVar[tuple[str, ...]] = ()

    type: GoType
    start: int
    end: int

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, Node)
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash((type(self).__name__, *self._key()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
        return f"{type(self).__name__}({fields})"

    def children(self) -> Iterator[Node]:
        return iter(())


class Literal(Node):
    """A string, int or float literal, or `true`/`false`: a Go value, not an expression."""

    __slots__ = ("value",)
    _fields = ("type", "value")

    def __init__(
        self, value: str | int | float | bool, type_: GoType, start: int, end: int
    ) -> None:
        self.value, self.type, self.start, self.end = value, type_, start, end


class Variable(Node):
    """An environment variable such as `access_request.spec.roles` or `user.traits`."""

    __slots__ = ("name",)
    _fields = ("name",)

    def __init__(self, name: str, type_: GoType, start: int, end: int) -> None:
        self.name, self.type, self.start, self.end = name, type_, start, end


class Index(Node):
    """`map[key]` on a map variable: a missing key is the empty Set."""

    __slots__ = ("base", "key")
    _fields = ("base", "key")

    def __init__(self, base: Variable, key: Node, start: int, end: int) -> None:
        self.base, self.key = base, key
        self.type, self.start, self.end = GoType.SET, start, end

    def children(self) -> Iterator[Node]:
        yield self.base
        yield self.key


class Call(Node):
    """A function call `name(args)`, or a method call `args[0].name(args[1:])`."""

    __slots__ = ("args", "method", "name")
    _fields = ("name", "method", "args")

    def __init__(
        self,
        name: str,
        args: tuple[Node, ...],
        method: bool,
        type_: GoType,
        start: int,
        end: int,
    ) -> None:
        self.name, self.args, self.method = name, args, method
        self.type, self.start, self.end = type_, start, end

    def children(self) -> Iterator[Node]:
        return iter(self.args)


class Not(Node):
    __slots__ = ("operand",)
    _fields = ("operand",)

    def __init__(self, operand: Node, start: int, end: int) -> None:
        self.operand = operand
        self.type, self.start, self.end = GoType.BOOL, start, end

    def children(self) -> Iterator[Node]:
        yield self.operand


class And(Node):
    """`a && b && ...`: short-circuit, left to right."""

    __slots__ = ("operands",)
    _fields = ("operands",)
    op: ClassVar[str] = "&&"

    def __init__(self, operands: tuple[Node, ...], start: int, end: int) -> None:
        self.operands = operands
        self.type, self.start, self.end = GoType.BOOL, start, end

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


class Or(Node):
    """`a || b || ...`: short-circuit, left to right."""

    __slots__ = ("operands",)
    _fields = ("operands",)
    op: ClassVar[str] = "||"

    def __init__(self, operands: tuple[Node, ...], start: int, end: int) -> None:
        self.operands = operands
        self.type, self.start, self.end = GoType.BOOL, start, end

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


class Compare(Node):
    """`a == b` or `a != b`; `operand_type` is string or int, decided when parsing."""

    __slots__ = ("left", "op", "operand_type", "right")
    _fields = ("op", "left", "right")

    def __init__(
        self, op: str, left: Node, right: Node, operand_type: GoType, start: int, end: int
    ) -> None:
        self.op, self.left, self.right, self.operand_type = op, left, right, operand_type
        self.type, self.start, self.end = GoType.BOOL, start, end

    def children(self) -> Iterator[Node]:
        yield self.left
        yield self.right


# ---------------------------------------------------------------------------------------------
# Normal form

_PREC_OR, _PREC_AND, _PREC_COMPARE, _PREC_UNARY, _PREC_PRIMARY = 1, 2, 3, 6, 7


def _precedence(node: Node) -> int:
    if isinstance(node, Or):
        return _PREC_OR
    if isinstance(node, And):
        return _PREC_AND
    if isinstance(node, Compare):
        return _PREC_COMPARE
    if isinstance(node, Not):
        return _PREC_UNARY
    return _PREC_PRIMARY


def _wrap(node: Node, parens: bool) -> str:
    text = to_source(node)
    return f"({text})" if parens else text


def literal_source(value: str | int | float | bool) -> str:
    """A literal as Go source that reads back as the same value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    text = go_float(value)
    return text if any(c in text for c in ".e") else text + ".0"


def to_source(node: Node) -> str:
    """The normal form of a checked tree; parsing it gives an equal tree."""
    if isinstance(node, Literal):
        return literal_source(node.value)
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Index):
        return f"{to_source(node.base)}[{to_source(node.key)}]"
    if isinstance(node, Call):
        if node.method:
            receiver, *rest = node.args
            head = _wrap(receiver, _precedence(receiver) < _PREC_PRIMARY)
            return f"{head}.{node.name}({', '.join(to_source(arg) for arg in rest)})"
        return f"{node.name}({', '.join(to_source(arg) for arg in node.args)})"
    if isinstance(node, Not):
        return "!" + _wrap(node.operand, _precedence(node.operand) < _PREC_UNARY)
    if isinstance(node, And | Or):
        own = _precedence(node)
        # The first operand never needs brackets (a left-nested chain of the same operator is
        # one flat node); a later operand of the same or lower precedence keeps them, which
        # preserves Go's tree for a && (b && c).
        parts = [_wrap(node.operands[0], _precedence(node.operands[0]) < own)]
        parts += [_wrap(op, _precedence(op) <= own) for op in node.operands[1:]]
        return f" {node.op} ".join(parts)
    assert isinstance(node, Compare)
    left = _wrap(node.left, _precedence(node.left) < _PREC_COMPARE)
    right = _wrap(node.right, _precedence(node.right) <= _PREC_COMPARE)
    return f"{left} {node.op} {right}"
