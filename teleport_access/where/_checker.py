"""Names and types: turns the syntax tree into a checked tree, or raises WhereTypeError.

Teleport's typical parser checks types while parsing, and so does this module: unknown
identifiers and functions, wrong argument counts, arguments of the wrong type, indexing a
non-map, `!`/`&&`/`||` on non-booleans, `==` on anything but strings or integers, and a
condition that is not boolean are all parse errors.

Two problems Teleport only finds when evaluating are not parse errors here either, so that the
same roles are accepted: `equals` on mismatched types (its parameters are untyped in Teleport)
and an invalid regular expression. When they are visible in the text (a literal pattern, static
argument types) they are recorded as the expression's `problems`, which tools such as
`tpd where check` report before deployment.

The legacy dialect differs: no `==`/`!=`, no `regexp.match`, no dot syntax for map keys, bare
namespaces (`reviewer`) are values, and `equals`/`contains` accept any argument types.
"""

from __future__ import annotations

import difflib
from typing import Final

from teleport_access.where import _parser as syn
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
    quote,
)
from teleport_access.where._errors import (
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
)
from teleport_access.where._lexer import FLOAT, INT, STRING
from teleport_access.where._patterns import compile_teleport_pattern
from teleport_access.where._regex import RegexError

S, L, M = WhereType.STRING, WhereType.LIST, WhereType.MAP

_WHERE_VARIABLES: Final = {
    "reviewer.roles": L,
    "reviewer.traits": M,
    "request.roles": L,
    "request.reason": S,
    "request.system_annotations": M,
}
_FILTER_VARIABLES: Final = {**_WHERE_VARIABLES, "review.reason": S, "review.annotations": M}
_NAMESPACES_WHERE: Final = {"reviewer": WhereType.OBJECT, "request": WhereType.OBJECT}
_NAMESPACES_FILTER: Final = {**_NAMESPACES_WHERE, "review": WhereType.OBJECT}

#: Each dialect's functions, all with two parameters.
TYPICAL_FUNCTIONS: Final = ("contains", "equals", "regexp.match")
LEGACY_FUNCTIONS: Final = ("contains", "equals")


def variables_for(kind: str) -> dict[str, WhereType]:
    """The variables of a `where` (kind "where") or threshold filter (kind "filter")."""
    return dict(_FILTER_VARIABLES if kind == "filter" else _WHERE_VARIABLES)


def equals_mismatch_message(left: WhereType | str, right: WhereType | str) -> str:
    """Teleport's evaluation error for `equals` on values of different or unsupported types."""
    a = left.value if isinstance(left, WhereType) else left
    b = right.value if isinstance(right, WhereType) else right
    return f"equals: parameter types must match and be string or []string, got ({a}, {b})"


class Checker:
    """Checks one syntax tree for one kind and dialect."""

    def __init__(self, text: str, kind: str, dialect: str) -> None:
        self.text = text
        self.kind = kind
        self.legacy = dialect == "legacy"
        self.variables: dict[str, WhereType] = variables_for(kind)
        if self.legacy:
            namespaces = _NAMESPACES_FILTER if kind == "filter" else _NAMESPACES_WHERE
            self.variables.update(namespaces)
        self.functions = LEGACY_FUNCTIONS if self.legacy else TYPICAL_FUNCTIONS
        #: Evaluation errors visible in the text, raised only if evaluation reaches them.
        self.problems: list[tuple[Node, WhereEvalError]] = []

    # -- errors -------------------------------------------------------------------------------

    def type_error(
        self, problem: str, start: int, end: int, hint: str | None = None
    ) -> WhereTypeError:
        return WhereTypeError(problem, text=self.text, offset=start, end_offset=end, hint=hint)

    def source(self, node: syn.Syntax | Node) -> str:
        snippet = " ".join(self.text[node.start : node.end].split())
        return snippet if len(snippet) <= 60 else snippet[:57] + "..."

    # -- entry point --------------------------------------------------------------------------

    def check_root(self, tree: syn.Syntax) -> Node:
        node = self.check(tree)
        if node.type is not WhereType.BOOL:
            hint = None
            if node.type in (S, L):
                hint = 'test it with a function, e.g. contains(request.roles, "dev")'
            raise self.type_error(
                f"the expression must be a boolean condition, but it is {node.type.describe()}",
                tree.start,
                tree.end,
                hint,
            )
        return node

    def check(self, tree: syn.Syntax) -> Node:
        if isinstance(tree, syn.Chain):
            return self.chain(tree)
        if isinstance(tree, syn.Call):
            return self.call(tree)
        if isinstance(tree, syn.Name | syn.Selector):
            return self.identifier(tree)
        if isinstance(tree, syn.Literal):
            return self.literal(tree)
        if isinstance(tree, syn.Paren):
            return self.check(tree.inner)
        if isinstance(tree, syn.Not):
            return self.negation(tree)
        if isinstance(tree, syn.Index):
            return self.index(tree)
        assert isinstance(tree, syn.Binary)
        return self.compare(tree)

    # -- leaves -------------------------------------------------------------------------------

    def literal(self, tree: syn.Literal) -> Node:
        if tree.kind == STRING:
            assert isinstance(tree.value, str)
            return StringLiteral(tree.value, tree.start, tree.end)
        if tree.kind == INT:
            assert isinstance(tree.value, int)
            return IntLiteral(tree.value, tree.start, tree.end)
        assert tree.kind == FLOAT
        assert isinstance(tree.value, float)
        return FloatLiteral(tree.value, tree.start, tree.end)

    def identifier(self, tree: syn.Name | syn.Selector) -> Node:
        chain = _selector_chain(tree)
        if chain is None:
            raise WhereSyntaxError(
                "a selector (.name) can only follow a name such as reviewer or request",
                text=self.text,
                offset=tree.start,
                end_offset=tree.end,
            )
        names = [node.name for node in chain]
        if self.legacy:
            found = self.variables.get(".".join(names))
            if found is not None:
                return Variable(".".join(names), found, tree.start, tree.end)
        else:
            # Teleport's getIdentifier: the longest known prefix, then at most one segment more,
            # which indexes a map (`reviewer.traits.team` is `reviewer.traits["team"]`).
            for k in range(1, len(names) + 1):
                found = self.variables.get(".".join(names[:k]))
                if found is None:
                    continue
                if k == len(names):
                    return Variable(".".join(names), found, tree.start, tree.end)
                if k == len(names) - 1 and found is M:
                    base = chain[k - 1]
                    variable = Variable(".".join(names[:k]), M, tree.start, base.end)
                    key = StringLiteral(names[k], base.end + 1, tree.end)
                    return Index(variable, key, tree.start, tree.end)
        raise self.unknown_identifier(".".join(names), tree)

    def unknown_identifier(self, path: str, tree: syn.Syntax) -> WhereTypeError:
        hint: str | None = None
        parts = path.split(".")
        maps = [name for name, type_ in self.variables.items() if type_ is M]
        prefix = ".".join(parts[:2])
        if path in ("true", "false"):
            hint = (
                "there are no boolean literals; write the condition itself, "
                'e.g. !contains(reviewer.roles, "admin")'
            )
        elif parts[0] == "review" and self.kind == "where":
            hint = (
                "review.reason and review.annotations exist only in threshold filters "
                '(kind="filter"), not in review_requests.where'
            )
        elif prefix in maps and len(parts) > 2:
            key = ".".join(parts[2:])
            if self.legacy:
                hint = f'the legacy dialect has no dot syntax for map keys; write {prefix}["{key}"]'
            else:
                hint = f'write {prefix}["{key}"] for a key containing dots'
        else:
            close = difflib.get_close_matches(path, list(self.variables), n=1, cutoff=0.6)
            if close:
                hint = f"did you mean {close[0]}?"
            else:
                known = ", ".join(name for name in self.variables if "." in name)
                hint = f"the variables are {known}"
        return self.type_error(f'unknown identifier "{path}"', tree.start, tree.end, hint)

    # -- operators ------------------------------------------------------------------------------

    def chain(self, tree: syn.Chain) -> Node:
        operands = []
        for operand in tree.operands:
            node = self.check(operand)
            if node.type is not WhereType.BOOL:
                raise self.type_error(
                    f"{tree.op} needs boolean operands, but {self.source(operand)} is "
                    f"{node.type.describe()}",
                    operand.start,
                    operand.end,
                )
            operands.append(node)
        cls = And if tree.op == "&&" else Or
        return cls(tuple(operands), tree.start, tree.end)

    def negation(self, tree: syn.Not) -> Node:
        operand = self.check(tree.operand)
        if operand.type is not WhereType.BOOL:
            hint = None
            if operand.type is S:
                hint = f'compare it instead: !equals({self.source(tree.operand)}, "")'
            raise self.type_error(
                f"! needs a boolean operand, but {self.source(tree.operand)} is "
                f"{operand.type.describe()}",
                tree.operand.start,
                tree.operand.end,
                hint,
            )
        return Not(operand, tree.start, tree.end)

    def compare(self, tree: syn.Binary) -> Node:
        if self.legacy:
            raise WhereSyntaxError(
                f"operator {tree.op} is not supported in the legacy dialect",
                text=self.text,
                offset=tree.op_start,
                end_offset=tree.op_start + 2,
                hint="use equals(a, b) (and !equals(a, b)), or the typical dialect",
            )
        left = self.check(tree.left)
        right = self.check(tree.right)
        if left.type not in (S, WhereType.INT):
            hint = None
            if left.type is L:
                hint = "compare lists with equals(a, b)"
            raise self.type_error(
                f"operator {tree.op} compares strings or integers, but the left side is "
                f"{left.type.describe()}",
                tree.op_start,
                tree.op_start + 2,
                hint,
            )
        if right.type is not left.type:
            raise self.type_error(
                f"operator {tree.op} needs both sides of one type, but the left side is "
                f"{left.type.describe()} and the right side is {right.type.describe()}",
                tree.right.start,
                tree.right.end,
            )
        return Compare(tree.op, left, right, tree.start, tree.end)

    def index(self, tree: syn.Index) -> Node:
        base = self.check(tree.base)
        key = self.check(tree.key)
        if base.type is not M:
            hint = None
            if base.type is L:
                hint = f'test membership with contains({self.source(tree.base)}, "value")'
            raise self.type_error(
                f"only maps can be indexed, but {self.source(tree.base)} is {base.type.describe()}",
                tree.lbracket,
                tree.end,
                hint,
            )
        if key.type is not S:
            raise self.type_error(
                f"a map key must be a string, but this is {key.type.describe()}",
                tree.key.start,
                tree.key.end,
            )
        return Index(base, key, tree.start, tree.end)

    # -- calls --------------------------------------------------------------------------------

    def call(self, tree: syn.Call) -> Node:
        name = self.function_name(tree)
        args = tuple(self.check(arg) for arg in tree.args)
        if len(args) != 2:
            noun = "argument" if len(args) == 1 else "arguments"
            if len(args) > 2:
                start, end = tree.args[2].start, tree.args[-1].end
            else:
                start, end = tree.rparen, tree.rparen + 1
            raise self.type_error(
                f"function {name} takes 2 arguments, but it is given {len(args)} {noun}",
                start,
                end,
                hint=_SIGNATURES[name],
            )
        node = Call(name, args, tree.start, tree.end)
        if self.legacy:
            return node  # legacy equals/contains accept anything; a mismatch is just false
        if name == "equals":
            a, b = args[0].type, args[1].type
            if a is not b or a not in (S, L):
                self.problems.append(
                    (
                        node,
                        WhereEvalError(
                            equals_mismatch_message(a, b),
                            text=self.text,
                            offset=tree.start,
                            end_offset=tree.end,
                            hint="equals compares two strings or two lists of strings",
                        ),
                    )
                )
            return node
        self.expect_argument(name, 1, args[0], tree.args[0], (L, S))
        self.expect_argument(name, 2, args[1], tree.args[1], (S,))
        if name == "regexp.match" and isinstance(args[1], StringLiteral):
            compiled = compile_teleport_pattern(args[1].value)
            if isinstance(compiled, RegexError):
                self.problems.append((node, pattern_error(self.text, args[1], compiled)))
        return node

    def function_name(self, tree: syn.Call) -> str:
        function = tree.function
        chain = _selector_chain(function) if isinstance(function, syn.Name | syn.Selector) else None
        if chain is None:
            raise self.type_error(
                f"{self.source(function)} is not a function; only named functions can be called",
                function.start,
                function.end,
            )
        name = ".".join(node.name for node in chain)
        if name in self.functions:
            return name
        hint: str | None = None
        receiver, _, method = name.rpartition(".")
        if method in self.functions and receiver in self.variables:
            hint = f"methods are not supported; write {method}({receiver}, ...)"
        elif name == "regexp.match" and self.legacy:
            hint = "regexp.match exists only in the typical dialect"
        else:
            close = difflib.get_close_matches(name, list(self.functions), n=1, cutoff=0.6)
            hint = (
                f"did you mean {close[0]}?"
                if close
                else "the functions are " + ", ".join(self.functions)
            )
        raise self.type_error(f'unknown function "{name}"', function.start, function.end, hint)

    def expect_argument(
        self,
        function: str,
        position: int,
        node: Node,
        tree: syn.Syntax,
        allowed: tuple[WhereType, ...],
    ) -> None:
        if node.type in allowed:
            return
        ordinal = "first" if position == 1 else "second"
        wanted = " or ".join(t.describe() for t in allowed)
        raise self.type_error(
            f"the {ordinal} argument of {function} must be {wanted}, but "
            f"{self.source(tree)} is {node.type.describe()}",
            tree.start,
            tree.end,
            hint=_SIGNATURES[function],
        )


_SIGNATURES: Final = {
    "equals": "equals(a, b) compares two strings or two lists of strings",
    "contains": "contains(list, item): is the string item in the list (or equal to a string)?",
    "regexp.match": "regexp.match(list, pattern): does any element match the glob or ^regex$?",
}


def pattern_error(
    text: str, pattern: Node, error: RegexError, value: str | None = None
) -> WhereEvalError:
    """The evaluation error for an invalid `regexp.match` pattern, pointing at the pattern."""
    if value is None and isinstance(pattern, StringLiteral):
        value = pattern.value
    shown = f" {_short(value)}" if value is not None else ""
    return WhereEvalError(
        f"invalid regular expression{shown}: {error}",
        text=text,
        offset=pattern.start,
        end_offset=pattern.end,
        hint=_regex_hint(error),
    )


def _short(value: str) -> str:
    quoted = quote(value)
    return quoted if len(quoted) <= 60 else quoted[:57] + '..."'


def _regex_hint(error: RegexError) -> str | None:
    if "Perl syntax" in error.code:
        return "Go's RE2 has no lookaround, backreferences or atomic groups"
    if error.code == "invalid escape sequence" and error.expr[1:2].isdigit():
        return "Go's RE2 has no backreferences"
    if "nested repetition" in error.code:
        return "Go's RE2 has no possessive quantifiers (a*+) and no stacked repeats (a**)"
    return None


def _selector_chain(tree: syn.Syntax) -> list[syn.Name | syn.Selector] | None:
    """The nodes of a dotted name, outermost last; None if it is not a plain dotted name."""
    chain: list[syn.Name | syn.Selector] = []
    node = tree
    while isinstance(node, syn.Selector):
        chain.append(node)
        node = node.base
    if not isinstance(node, syn.Name):
        return None
    chain.append(node)
    chain.reverse()
    return chain


def check(
    text: str, tree: syn.Syntax, kind: str, dialect: str
) -> tuple[Node, list[tuple[Node, WhereEvalError]]]:
    """Check a syntax tree: the checked tree, and its latent evaluation errors by node."""
    checker = Checker(text, kind, dialect)
    root = checker.check_root(tree)
    return root, checker.problems
