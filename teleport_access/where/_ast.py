"""The checked expression tree, its types, and its normalised source form.

Nodes compare structurally (positions and types are not part of equality), so two expressions
are equal when they say the same thing in the same shape: `reviewer.traits.team` and
`reviewer.traits["team"]` are one tree, and `parse(str(expr)) == expr`.

The normalised form (`to_source`) uses index syntax for map keys, double-quoted strings with Go
escapes, `name(a, b)` calls, single spaces around binary operators and only the parentheses the
tree needs.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from typing import ClassVar


class WhereType(enum.Enum):
    """The static type of a sub-expression; the value is Go's name for it, used in messages."""

    STRING = "string"
    LIST = "[]string"
    MAP = "map[string][]string"
    BOOL = "bool"
    INT = "int"
    FLOAT = "float64"
    #: A bare namespace (`reviewer`) in the legacy dialect, which resolved it to a Go struct.
    OBJECT = "struct"

    def describe(self) -> str:
        return {
            WhereType.STRING: "a string",
            WhereType.LIST: "a list of strings ([]string)",
            WhereType.MAP: "a map of string lists (map[string][]string)",
            WhereType.BOOL: "a boolean",
            WhereType.INT: "an integer",
            WhereType.FLOAT: "a floating-point number",
            WhereType.OBJECT: "a namespace, not a value",
        }[self]


class Node:
    """A checked sub-expression: its type and its character span in the source text."""

    __slots__ = ("end", "start", "type")
    _fields: ClassVar[tuple[str, ...]] = ()

    type: WhereType
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

    def _init(self, type_: WhereType, start: int, end: int) -> None:
        self.type, self.start, self.end = type_, start, end


class StringLiteral(Node):
    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value: str, start: int = 0, end: int = 0) -> None:
        self.value = value
        self._init(WhereType.STRING, start, end)


class IntLiteral(Node):
    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value: int, start: int = 0, end: int = 0) -> None:
        self.value = value
        self._init(WhereType.INT, start, end)


class FloatLiteral(Node):
    __slots__ = ("value",)
    _fields = ("value",)

    def __init__(self, value: float, start: int = 0, end: int = 0) -> None:
        self.value = value
        self._init(WhereType.FLOAT, start, end)


class Variable(Node):
    """A context variable such as `request.reason`, or a legacy bare namespace."""

    __slots__ = ("name",)
    _fields = ("name",)

    def __init__(self, name: str, type_: WhereType, start: int = 0, end: int = 0) -> None:
        self.name = name
        self._init(type_, start, end)


class Index(Node):
    """`map[key]`: a missing key is an empty list."""

    __slots__ = ("base", "key")
    _fields = ("base", "key")

    def __init__(self, base: Node, key: Node, start: int = 0, end: int = 0) -> None:
        self.base, self.key = base, key
        self._init(WhereType.LIST, start, end)

    def children(self) -> Iterator[Node]:
        yield self.base
        yield self.key


class Call(Node):
    __slots__ = ("args", "function")
    _fields = ("function", "args")

    def __init__(self, function: str, args: tuple[Node, ...], start: int = 0, end: int = 0) -> None:
        self.function, self.args = function, args
        self._init(WhereType.BOOL, start, end)

    def children(self) -> Iterator[Node]:
        return iter(self.args)


class Not(Node):
    __slots__ = ("operand",)
    _fields = ("operand",)

    def __init__(self, operand: Node, start: int = 0, end: int = 0) -> None:
        self.operand = operand
        self._init(WhereType.BOOL, start, end)

    def children(self) -> Iterator[Node]:
        yield self.operand


class And(Node):
    """`a && b && ...`, short-circuit, left to right."""

    __slots__ = ("operands",)
    _fields = ("operands",)
    op: ClassVar[str] = "&&"

    def __init__(self, operands: tuple[Node, ...], start: int = 0, end: int = 0) -> None:
        self.operands = operands
        self._init(WhereType.BOOL, start, end)

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


class Or(Node):
    """`a || b || ...`, short-circuit, left to right."""

    __slots__ = ("operands",)
    _fields = ("operands",)
    op: ClassVar[str] = "||"

    def __init__(self, operands: tuple[Node, ...], start: int = 0, end: int = 0) -> None:
        self.operands = operands
        self._init(WhereType.BOOL, start, end)

    def children(self) -> Iterator[Node]:
        return iter(self.operands)


class Compare(Node):
    """`a == b` or `a != b` on two strings or two integers."""

    __slots__ = ("left", "op", "right")
    _fields = ("op", "left", "right")

    def __init__(self, op: str, left: Node, right: Node, start: int = 0, end: int = 0) -> None:
        self.op, self.left, self.right = op, left, right
        self._init(WhereType.BOOL, start, end)

    def children(self) -> Iterator[Node]:
        yield self.left
        yield self.right


# ---------------------------------------------------------------------------------------------
# Normalised source

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


def to_source(node: Node) -> str:
    """The normalised text of a checked tree; parsing it gives an equal tree."""
    if isinstance(node, StringLiteral):
        return quote(node.value)
    if isinstance(node, IntLiteral):
        return str(node.value)
    if isinstance(node, FloatLiteral):
        return repr(node.value)
    if isinstance(node, Variable):
        return node.name
    if isinstance(node, Index):
        return f"{to_source(node.base)}[{to_source(node.key)}]"
    if isinstance(node, Call):
        return f"{node.function}({', '.join(to_source(arg) for arg in node.args)})"
    if isinstance(node, Not):
        return "!" + _wrap(node.operand, _precedence(node.operand) < _PREC_UNARY)
    if isinstance(node, And | Or):
        own = _precedence(node)
        # Every operand of the same or lower precedence is bracketed: that keeps the shape of
        # `a && (b && c)` and `(a && b) && c`, which parse into different (if equivalent) trees.
        return f" {node.op} ".join(_wrap(op, _precedence(op) <= own) for op in node.operands)
    assert isinstance(node, Compare)
    left = _wrap(node.left, _precedence(node.left) < _PREC_COMPARE)
    right = _wrap(node.right, _precedence(node.right) <= _PREC_COMPARE)
    return f"{left} {node.op} {right}"


_QUOTE_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def quote(value: str) -> str:
    """A Go double-quoted literal for `value` (Go's strconv.Quote rules)."""
    if value.isprintable() and value.isascii() and '"' not in value and "\\" not in value:
        return f'"{value}"'
    out = ['"']
    for c in value:
        escaped = _QUOTE_ESCAPES.get(c)
        if escaped is not None:
            out.append(escaped)
            continue
        cp = ord(c)
        if 0xDC80 <= cp <= 0xDCFF:
            out.append(f"\\x{cp - 0xDC00:02x}")  # a byte that was not UTF-8 (surrogateescape)
        elif c.isprintable():
            out.append(c)
        elif cp < 0x80:
            out.append(f"\\x{cp:02x}")
        elif cp < 0x10000:
            out.append(f"\\u{cp:04x}")
        else:
            out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)
