"""Syntax: Go expression grammar, restricted to the node kinds Teleport's predicate parser accepts.

The parser builds a syntax tree of names, selectors, literals, calls, index expressions, `!`,
parenthesised expressions and binary operators, with Go's precedence and left associativity.
Everything else Go's `parser.ParseExpr` would accept (composite literals, function literals,
slices, type assertions, `-x`, arithmetic) is valid Go but not part of the language, and is
reported here as a WhereSyntaxError naming the construct. Names and types are checked later
(`_checker.py`).

Chains of `&&` (and of `||`) are kept flat (`Chain`), so a thousand-clause condition does not
make a thousand-deep tree; real nesting (parentheses, `!`, calls, indexes) is limited to
`MAX_NESTING` levels so that nothing downstream can exhaust Python's stack.
"""

from __future__ import annotations

from typing import Final

from teleport_access.where._errors import WhereSyntaxError
from teleport_access.where._lexer import (
    EOF,
    FLOAT,
    IDENT,
    INT,
    KEYWORD,
    OP,
    SEMI,
    STRING,
    Token,
    tokenize,
)

#: Deeper nesting is refused. Go's parser allows more; no real role comes near this.
MAX_NESTING: Final = 100

#: Go's binary operator precedence.
_PRECEDENCE: Final = {
    "||": 1,
    "&&": 2,
    "==": 3,
    "!=": 3,
    "<": 3,
    "<=": 3,
    ">": 3,
    ">=": 3,
    "+": 4,
    "-": 4,
    "|": 4,
    "^": 4,
    "*": 5,
    "/": 5,
    "%": 5,
    "<<": 5,
    ">>": 5,
    "&": 5,
    "&^": 5,
}
_SUPPORTED_BINARY: Final = frozenset({"||", "&&", "==", "!="})
_UNARY: Final = frozenset({"!", "-", "+", "^", "*", "&", "<-"})


class Syntax:
    """A syntax tree node with its character span in the source."""

    __slots__ = ("end", "start")

    start: int
    end: int


class Name(Syntax):
    __slots__ = ("name",)

    def __init__(self, name: str, start: int, end: int) -> None:
        self.name, self.start, self.end = name, start, end


class Selector(Syntax):
    """`base.name`."""

    __slots__ = ("base", "name")

    def __init__(self, base: Syntax, name: str, start: int, end: int) -> None:
        self.base, self.name, self.start, self.end = base, name, start, end


class Literal(Syntax):
    """A string, integer or float literal: `kind` is the lexer's token kind."""

    __slots__ = ("kind", "value")

    def __init__(self, kind: str, value: str | int | float, start: int, end: int) -> None:
        self.kind, self.value, self.start, self.end = kind, value, start, end


class Paren(Syntax):
    __slots__ = ("inner",)

    def __init__(self, inner: Syntax, start: int, end: int) -> None:
        self.inner, self.start, self.end = inner, start, end


class Call(Syntax):
    __slots__ = ("args", "function", "rparen")

    def __init__(
        self, function: Syntax, args: list[Syntax], rparen: int, start: int, end: int
    ) -> None:
        self.function, self.args, self.rparen = function, args, rparen
        self.start, self.end = start, end


class Index(Syntax):
    __slots__ = ("base", "key", "lbracket")

    def __init__(self, base: Syntax, key: Syntax, lbracket: int, start: int, end: int) -> None:
        self.base, self.key, self.lbracket, self.start, self.end = base, key, lbracket, start, end


class Not(Syntax):
    __slots__ = ("operand",)

    def __init__(self, operand: Syntax, start: int, end: int) -> None:
        self.operand, self.start, self.end = operand, start, end


class Chain(Syntax):
    """`a && b && c` (or `||`): left-associative, kept flat."""

    __slots__ = ("op", "operands")

    def __init__(self, op: str, operands: list[Syntax], start: int, end: int) -> None:
        self.op, self.operands, self.start, self.end = op, operands, start, end


class Binary(Syntax):
    """`==` or `!=`."""

    __slots__ = ("left", "op", "op_start", "right")

    def __init__(self, op: str, left: Syntax, right: Syntax, op_start: int) -> None:
        self.op, self.left, self.right, self.op_start = op, left, right, op_start
        self.start, self.end = left.start, right.end


_NEWLINE_HINT: Final = (
    "Go ends an expression at a line break that follows a name, a literal, ')' or ']'; "
    "end the line with the operator or comma instead of starting the next line with it"
)


class _Parser:
    __slots__ = ("depth", "pos", "text", "tok", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0
        self.tok = self.tokens[0]
        self.depth = 0

    def advance(self) -> Token:
        tok = self.tok
        self.pos += 1
        self.tok = self.tokens[self.pos]
        return tok

    def error(
        self, problem: str, tok: Token | None = None, hint: str | None = None
    ) -> WhereSyntaxError:
        tok = tok or self.tok
        if hint is None and tok.kind == SEMI:
            hint = _NEWLINE_HINT
        end = tok.end if tok.end > tok.start else tok.start + 1
        return WhereSyntaxError(
            problem, text=self.text, offset=tok.start, end_offset=end, hint=hint
        )

    def nest(self, tok: Token) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            raise self.error(
                f"the expression nests more than {MAX_NESTING} levels deep",
                tok,
                hint="split it into simpler conditions",
            )

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Syntax:
        if self.tok.kind == EOF:
            raise self.error("empty expression", hint="write a condition such as contains(...)")
        expr = self.binary(1)
        after_newline = self.tok.kind == SEMI
        if after_newline:
            self.advance()  # the automatic semicolon of a final line break
        if self.tok.kind != EOF:
            raise self.unexpected_after(after_newline)
        return expr

    def unexpected_after(self, after_newline: bool) -> WhereSyntaxError:
        tok = self.tok
        hint = None
        if after_newline:
            hint = _NEWLINE_HINT
        elif tok.kind == OP and tok.text == "=":
            hint = "compare with == (a single = is an assignment)"
        elif tok.kind == OP and tok.text in (":=", "+=", "-=", "++", "--"):
            hint = "assignments are not expressions"
        elif tok.kind in (IDENT, STRING, INT) or (tok.kind == OP and tok.text == "("):
            hint = "join conditions with && or ||"
        elif tok.kind == OP and tok.text == ";":
            hint = "an expression has no statements; join conditions with && or ||"
        return self.error(f"unexpected {tok.describe()} after the expression", tok, hint)

    def binary(self, min_prec: int) -> Syntax:
        left = self.unary()
        while True:
            tok = self.tok
            if tok.kind != OP:
                return left
            prec = _PRECEDENCE.get(tok.text)
            if prec is None or prec < min_prec:
                return left
            if tok.text not in _SUPPORTED_BINARY:
                raise self.unsupported_binary(tok, left)
            self.advance()
            right = self.binary(prec + 1)
            if tok.text in ("&&", "||"):
                if isinstance(left, Chain) and left.op == tok.text:
                    left.operands.append(right)
                    left.end = right.end
                else:
                    left = Chain(tok.text, [left, right], left.start, right.end)
            else:
                left = Binary(tok.text, left, right, tok.start)
                if _binary_depth(left) > MAX_NESTING:
                    raise self.error(
                        f"the expression nests more than {MAX_NESTING} levels deep", tok
                    )

    def unsupported_binary(self, tok: Token, left: Syntax) -> WhereSyntaxError:
        hint = "the language has &&, ||, ! and the comparisons == and != only"
        following = self.tokens[self.pos + 1]
        if tok.text == "-" and isinstance(left, Selector) and following.kind == IDENT:
            # reviewer.traits.my-team: Go reads a subtraction.
            base = _selector_source(left.base)
            if base is not None:
                key = f"{left.name}-{following.text}"
                hint = f'a map key with "-" needs index syntax: {base}["{key}"]'
        elif tok.text in ("&", "|"):
            hint = f"did you mean {tok.text * 2}?"
        return self.error(f"operator {tok.text} is not supported", tok, hint)

    def unary(self) -> Syntax:
        tok = self.tok
        if tok.kind == OP and tok.text in _UNARY:
            if tok.text != "!":
                raise self.error(
                    f"unary operator {tok.text} is not supported",
                    tok,
                    hint="the only unary operator is ! (not)",
                )
            self.advance()
            self.nest(tok)
            operand = self.unary()
            self.depth -= 1
            return Not(operand, tok.start, operand.end)
        return self.primary()

    def primary(self) -> Syntax:
        tok = self.tok
        node: Syntax
        if tok.kind == IDENT:
            self.advance()
            node = Name(tok.text, tok.start, tok.end)
        elif tok.kind in (STRING, INT, FLOAT):
            self.advance()
            assert isinstance(tok.value, str | int | float)
            node = Literal(tok.kind, tok.value, tok.start, tok.end)
        elif tok.kind == OP and tok.text == "(":
            self.advance()
            self.nest(tok)
            inner = self.binary(1)
            close = self.expect(")", tok)
            self.depth -= 1
            node = Paren(inner, tok.start, close.end)
        else:
            raise self.expected_operand(tok)
        return self.suffixes(node)

    def expected_operand(self, tok: Token) -> WhereSyntaxError:
        if tok.kind == KEYWORD:
            if tok.text == "func":
                return self.error("function literals are not supported", tok)
            if tok.text in ("map", "chan", "struct", "interface"):
                return self.error(f"{tok.text} types and literals are not supported", tok)
            return self.error(f"unexpected {tok.describe()}; expected an operand", tok)
        if tok.kind == OP and tok.text == "[":
            return self.error(
                "list literals are not supported",
                tok,
                hint='compare lists element by element, e.g. contains(request.roles, "dev")',
            )
        if tok.kind == EOF:
            return self.error("unexpected end of the expression; expected an operand", tok)
        return self.error(f"expected an operand, found {tok.describe()}", tok)

    def suffixes(self, node: Syntax) -> Syntax:
        while True:
            tok = self.tok
            if tok.kind != OP:
                return node
            if tok.text == ".":
                self.advance()
                name = self.tok
                if name.kind == IDENT:
                    self.advance()
                    node = Selector(node, name.text, node.start, name.end)
                    continue
                if name.kind == OP and name.text == "(":
                    raise self.error("type assertions are not supported", name)
                hint = None
                if name.kind in (KEYWORD, INT, FLOAT, STRING):
                    base = _selector_source(node)
                    if base is not None:
                        hint = f'write map keys that are not Go names as {base}["key"]'
                raise self.error(
                    f"expected a name after '.', found {name.describe()}", name, hint=hint
                )
            if tok.text == "(":
                node = self.call(node)
            elif tok.text == "[":
                node = self.index(node)
            elif tok.text == "{":
                raise self.error("composite literals are not supported", tok)
            else:
                return node

    def call(self, function: Syntax) -> Syntax:
        lparen = self.advance()
        self.nest(lparen)
        args: list[Syntax] = []
        while not (self.tok.kind == OP and self.tok.text == ")"):
            args.append(self.binary(1))
            tok = self.tok
            if tok.kind == OP and tok.text == ",":
                self.advance()
                continue
            if tok.kind == OP and tok.text == "...":
                raise self.error("variadic arguments (...) are not supported", tok)
            if not (tok.kind == OP and tok.text == ")"):
                raise self.error(
                    f"expected ',' or ')' in the argument list, found {tok.describe()}", tok
                )
        close = self.advance()
        self.depth -= 1
        return Call(function, args, close.start, function.start, close.end)

    def index(self, base: Syntax) -> Syntax:
        lbracket = self.advance()
        self.nest(lbracket)
        if self.tok.kind == OP and self.tok.text == "]":
            raise self.error("expected an index expression inside [ ]", self.tok)
        key = self.binary(1)
        tok = self.tok
        if tok.kind == OP and tok.text == ":":
            raise self.error("slice expressions are not supported", tok)
        if tok.kind == OP and tok.text == ",":
            raise self.error("an index expression takes a single key", tok)
        close = self.expect("]", lbracket)
        self.depth -= 1
        return Index(base, key, lbracket.start, base.start, close.end)

    def expect(self, text: str, opener: Token) -> Token:
        tok = self.tok
        if tok.kind == OP and tok.text == text:
            return self.advance()
        raise self.error(
            f"expected '{text}' to close the '{opener.text}' at column "
            f"{opener.start - self.text.rfind(chr(10), 0, opener.start)}, found {tok.describe()}",
            tok,
        )


def _binary_depth(node: Syntax) -> int:
    depth = 0
    while isinstance(node, Binary):
        depth += 1
        node = node.left
    return depth


def _selector_source(node: Syntax) -> str | None:
    """`a.b.c` as text when the node is a plain dotted name, else None."""
    parts: list[str] = []
    while isinstance(node, Selector):
        parts.append(node.name)
        node = node.base
    if not isinstance(node, Name):
        return None
    parts.append(node.name)
    return ".".join(reversed(parts))


def parse_syntax(text: str) -> Syntax:
    """Parse `text` as a Go expression of the language's node kinds. Raises WhereSyntaxError."""
    return _Parser(text).parse()
