"""Names and types: the Go syntax tree becomes a checked tree, or a PredicateParseError.

This is the second half of Teleport's parse (gravitational/predicate walking Go's tree, typical
building typed expressions): it visits the tree in the same order and raises the same errors with
the same words. Operands and arguments are checked before the operator or function that combines
them, a function's name before its arguments, and each argument is "coerced" to its parameter
type as typical does:

- an expression of exactly that type, or a literal value of it, fits;
- a value of static type `any` (ifelse, choose, strings.upper, .remove) fits and is checked when
  evaluated;
- a parameter typed `any` takes everything, `.remove`'s receiver any Set or Dict;
- anything else is "expected type T, got value (v) with type (U)" or "... got expression
  returning type (U)".

`==`/`!=` compare strings or ints, the type taken from the left operand (the right one when the
left is `any`). Only the map variables can be indexed; a map key may be written `m.key`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Final

from teleport_access.predicate import _syntax as syn
from teleport_access.predicate._ast import (
    And,
    Call,
    Compare,
    Index,
    Literal,
    Node,
    Not,
    Or,
    Variable,
    quote,
)
from teleport_access.predicate._builtins import FUNCTIONS, METHODS, Signature
from teleport_access.predicate._errors import PredicateParseError
from teleport_access.predicate._values import GoType, go_type_name, go_value
from teleport_access.where._lexer import FLOAT, INT

#: The access-request environment (newest grammar): name -> static type. Dict variables are maps.
VARIABLES: Final[Mapping[str, GoType]] = {
    "access_request.spec.roles": GoType.SET,
    "access_request.spec.suggested_reviewers": GoType.SET,
    "access_request.spec.system_annotations": GoType.DICT,
    "access_request.spec.user": GoType.STRING,
    "access_request.spec.request_reason": GoType.STRING,
    "access_request.spec.creation_time": GoType.TIME,
    "access_request.spec.expiry": GoType.TIME,
    "access_request.spec.resource_labels_union": GoType.DICT,
    "access_request.spec.resource_labels_intersection": GoType.DICT,
    "user.traits": GoType.DICT,
}
#: `true` and `false` are variables holding literal values, not keywords.
_CONSTANTS: Final = {"true": True, "false": False}

_HINTS: Final = {
    "user.spec.traits": "access monitoring rules read traits as user.traits",
    "plugin.spec.name": (
        "plugin.spec.name exists only in an unmerged Teleport branch; a rule is selected by "
        "its notification.name instead"
    ),
}


class CheckedCall(Call):
    """A call with the parameter type each argument is checked against when it is `any`."""

    __slots__ = ("expects", "signature")

    def __init__(
        self,
        name: str,
        args: tuple[Node, ...],
        method: bool,
        signature: Signature,
        start: int,
        end: int,
    ) -> None:
        super().__init__(name, args, method, signature.result, start, end)
        self.signature = signature
        self.expects = tuple(signature.param(i) for i in range(len(args)))


def fits(node: Node, expected: GoType) -> bool:
    """typical's coerce at parse time: can `node` be an argument of type `expected`?"""
    if expected is GoType.ANY or node.type is expected:
        return True
    if isinstance(node, Literal):
        return False
    if node.type is GoType.ANY:
        return True  # checked when evaluated
    return expected is GoType.REMOVER and node.type in (GoType.SET, GoType.DICT)


def mismatch(node: Node, expected: str) -> str:
    """typical's unexpectedTypeError text; `expected` is Go's name of the wanted type."""
    if isinstance(node, Literal):
        return (
            f"expected type {expected}, got value ({go_value(node.value)}) "
            f"with type ({go_type_name(node.value)})"
        )
    return f"expected type {expected}, got expression returning type ({node.type.value})"


class Checker:
    def __init__(self, text: str) -> None:
        self.text = text

    def error(
        self, problem: str, start: int, end: int, hint: str | None = None
    ) -> PredicateParseError:
        return PredicateParseError(problem, text=self.text, offset=start, end_offset=end, hint=hint)

    def coerce(
        self, node: Node, expected: GoType, context: str, span: syn.Syntax | Node | None = None
    ) -> None:
        if fits(node, expected):
            return
        where = span or node
        raise self.error(
            f"{context}: {mismatch(node, expected.value)}",
            where.start,
            where.end,
            _coerce_hint(node, expected),
        )

    # -- dispatch ---------------------------------------------------------------------------

    def check(self, tree: syn.Syntax) -> Node:
        if isinstance(tree, syn.Chain):
            return self.chain(tree)
        if isinstance(tree, syn.Call):
            return self.call(tree)
        if isinstance(tree, syn.Ident | syn.Selector):
            return self.identifier(tree)
        if isinstance(tree, syn.BasicLit):
            return self.literal(tree)
        if isinstance(tree, syn.Paren):
            return self.check(tree.x)
        if isinstance(tree, syn.Unary):
            return self.unary(tree)
        if isinstance(tree, syn.Index):
            return self.index(tree)
        if isinstance(tree, syn.Binary):
            return self.binary(tree)
        raise self.error(f"{tree.go_type} is not supported", tree.start, tree.end)

    # -- leaves -----------------------------------------------------------------------------

    def literal(self, tree: syn.BasicLit) -> Node:
        value = tree.value
        if tree.kind == INT:
            return Literal(value, GoType.INT, tree.start, tree.end)
        if tree.kind == FLOAT:
            return Literal(value, GoType.FLOAT, tree.start, tree.end)
        return Literal(value, GoType.STRING, tree.start, tree.end)

    def identifier(self, tree: syn.Ident | syn.Selector) -> Node:
        parts: list[syn.Ident | syn.Selector] = []
        node: syn.Syntax = tree
        while isinstance(node, syn.Selector):
            parts.append(node)
            node = node.x
        if not isinstance(node, syn.Ident):
            raise self.error(f"unsupported selector type: {node.go_type}", tree.start, tree.end)
        parts.append(node)
        parts.reverse()
        names = [p.name if isinstance(p, syn.Ident) else p.sel for p in parts]
        joined = ".".join(names)
        # typical's getIdentifier: the longest known prefix, then at most one more segment,
        # which is a key of a map variable (user.traits.team is user.traits["team"]).
        for k in range(1, len(names) + 1):
            prefix = ".".join(names[:k])
            if prefix in _CONSTANTS:
                if k == len(names):
                    return Literal(_CONSTANTS[prefix], GoType.BOOL, tree.start, tree.end)
                continue
            found = VARIABLES.get(prefix)
            if found is None:
                continue
            if k == len(names):
                return Variable(prefix, found, tree.start, tree.end)
            if k == len(names) - 1 and found is GoType.DICT:
                last = parts[-1]
                assert isinstance(last, syn.Selector)
                base = Variable(prefix, found, tree.start, last.sel_start - 1)
                key = Literal(names[-1], GoType.STRING, last.sel_start, last.end)
                return Index(base, key, tree.start, tree.end)
        raise self.error(
            f"unknown identifier: {quote(joined)}",
            tree.start,
            tree.end,
            _identifier_hint(joined),
        )

    # -- operators --------------------------------------------------------------------------

    def chain(self, tree: syn.Chain) -> Node:
        # Go's tree is ((a && b) && c): a and b are parsed, then joined (lhs, rhs), then c.
        checked: list[Node] = []
        for i, operand in enumerate(tree.operands):
            node = self.check(operand)
            if i == 1:
                self.coerce(checked[0], GoType.BOOL, f"parsing lhs of ({tree.op}) operator")
            if i >= 1:
                self.coerce(node, GoType.BOOL, f"parsing rhs of ({tree.op}) operator")
            checked.append(node)
        cls = And if tree.op == "&&" else Or
        return cls(tuple(checked), tree.start, tree.end)

    def unary(self, tree: syn.Unary) -> Node:
        if tree.op != "!":
            raise self.error(
                f"{tree.op} is not supported",
                tree.start,
                tree.start + len(tree.op),
                "the only unary operator is ! (not)",
            )
        operand = self.check(tree.x)
        self.coerce(operand, GoType.BOOL, "parsing target of (!) operator")
        return Not(operand, tree.start, tree.end)

    def binary(self, tree: syn.Binary) -> Node:
        left = self.check(tree.x)
        right = self.check(tree.y)
        op_end = tree.op_start + len(tree.op)
        if tree.op not in ("==", "!="):
            hint = "the operators are !, &&, ||, == and !=; compare times with before/after"
            if tree.op in ("&", "|"):
                hint = f"did you mean {tree.op * 2}?"
            raise self.error(f"{tree.op} is not supported", tree.op_start, op_end, hint)
        operand = right if left.type is GoType.ANY else left
        if operand.type in (GoType.STRING, GoType.INT):
            kind = operand.type
        elif operand.type is GoType.ANY:
            raise self.error(
                f"operator ({tree.op}) can only be used when at least one operand type is known "
                "at parse time",
                tree.op_start,
                op_end,
            )
        else:
            name = (
                go_type_name(operand.value) if isinstance(operand, Literal) else operand.type.value
            )
            type_hint: str | None = None
            if operand.type is GoType.SET:
                type_hint = "test sets with contains(...), contains_all(...) or is_empty(...)"
            elif operand.type is GoType.TIME:
                type_hint = "compare times with before(...), after(...) or between(...)"
            raise self.error(
                f"operator ({tree.op}) not supported for type: {name}",
                tree.op_start,
                op_end,
                type_hint,
            )
        self.coerce(left, kind, f"parsing lhs of ({tree.op}) operator")
        self.coerce(right, kind, f"parsing rhs of ({tree.op}) operator")
        return Compare(tree.op, left, right, kind, tree.start, tree.end)

    def index(self, tree: syn.Index) -> Node:
        base = self.check(tree.x)
        key = self.check(tree.index)
        self.coerce(key, GoType.STRING, "parsing key of index expression")
        if isinstance(base, Variable) and base.type is GoType.DICT:
            return Index(base, key, tree.start, tree.end)
        raise self.error(
            "cannot take index of unexpected type: " + mismatch(base, "map[string]string"),
            tree.start,
            tree.end,
            "only the map variables (user.traits, access_request.spec.system_annotations, "
            "access_request.spec.resource_labels_*) can be indexed",
        )

    # -- calls ------------------------------------------------------------------------------

    def call(self, tree: syn.Call) -> Node:
        fun = tree.fun
        receiver: syn.Syntax | None = None
        if isinstance(fun, syn.Ident):
            name, signature = fun.name, FUNCTIONS.get(fun.name)
        elif isinstance(fun, syn.Selector):
            if fun.sel in METHODS:
                name, signature, receiver = fun.sel, METHODS[fun.sel], fun.x
            elif isinstance(fun.x, syn.Ident):
                name = f"{fun.x.name}.{fun.sel}"
                signature = FUNCTIONS.get(name)
            else:
                raise self.error(
                    f"expected selector identifier, got: {fun.x.go_type}",
                    fun.start,
                    fun.end,
                    _method_hint(fun.sel),
                )
        else:
            raise self.error(f"unknown function type {fun.go_type}", fun.start, fun.end)
        if signature is None:
            raise self.error(
                f"unsupported function: {name}", fun.start, fun.end, _function_hint(name)
            )
        syntax_args = [receiver, *tree.args] if receiver is not None else list(tree.args)
        args = tuple(self.check(arg) for arg in syntax_args)
        arity = signature.arity_error(name, len(args))
        if arity is not None:
            raise self.error(arity, tree.start, tree.end)
        for i, (arg, tree_arg) in enumerate(zip(args, syntax_args, strict=True)):
            self.coerce(arg, signature.param(i), signature.parse_context(name, i), tree_arg)
        return CheckedCall(name, args, receiver is not None, signature, tree.start, tree.end)


def _identifier_hint(name: str) -> str | None:
    if name in _HINTS:
        return _HINTS[name]
    parts = name.split(".")
    for known, type_ in VARIABLES.items():
        if (
            type_ is GoType.DICT
            and name.startswith(known + ".")
            and len(parts) > len(known.split(".")) + 1
        ):
            key = name[len(known) + 1 :]
            return f'write {known}["{key}"] for a key with dots'
    close = difflib.get_close_matches(name, [*VARIABLES, *_CONSTANTS], n=1, cutoff=0.6)
    if close:
        return f"did you mean {close[0]}?"
    return None


def _function_hint(name: str) -> str | None:
    method = name.rpartition(".")[2]
    if name in METHODS or (method in METHODS and "." not in name):
        return f"{name} is a method: write x.{name}(...)"
    if name == "isempty":
        return "isempty is a method (x.isempty()); the function is is_empty(x)"
    close = difflib.get_close_matches(name, list(FUNCTIONS), n=1, cutoff=0.6)
    return f"did you mean {close[0]}?" if close else None


def _method_hint(method: str) -> str | None:
    if method in FUNCTIONS:
        return f"{method} is a function, not a method: write {method}(x, ...)"
    if method == "is_empty":
        return "the method is spelled isempty(): x.isempty(), or call is_empty(x)"
    close = difflib.get_close_matches(method, list(METHODS), n=1, cutoff=0.6)
    if close:
        return f"did you mean .{close[0]}(...)?"
    return "the methods are " + ", ".join(sorted(METHODS))


def _coerce_hint(node: Node, expected: GoType) -> str | None:
    if expected is GoType.SET and node.type is GoType.STRING:
        return "wrap a string in set(...) to make a Set"
    if expected is GoType.TIME and node.type is GoType.STRING:
        return 'turn a string into a time with time.RFC3339("2025-01-02T15:04:05Z")'
    if expected is GoType.BOOL and node.type is GoType.SET:
        return "test a Set with contains(...), contains_any(...) or is_empty(...)"
    return None


def check(text: str, tree: syn.Syntax) -> Node:
    """The checked tree of a parsed condition. Raises PredicateParseError."""
    return Checker(text).check(tree)
