"""Syntax: Go's expression grammar, as `go/parser.ParseExpr` reads it, into a Go-shaped tree.

Teleport hands the condition to Go's own parser and then walks the tree; this module is the first
half. Tokens come from the `where` language's Go lexer (the same `go/scanner` rules: literals,
escapes, comments, automatic semicolons). The tree keeps Go's node kinds, including the ones the
language refuses (arithmetic, `-x`, composite literals, slices, type assertions): the checker
reports those in Teleport's order and words, after the parts Teleport looks at first.

Syntax errors use Go's parser messages ("expected ')', found 'EOF'", "expected 'EOF', found
'&&'", "missing ',' before newline in argument list"). Chains of `&&` (and of `||`) are kept flat
so a long condition does not make a deep tree, and real nesting is limited to `MAX_NESTING` levels
so that nothing downstream can exhaust Python's stack.
"""

from __future__ import annotations

from typing import Final

from teleport_access.predicate._errors import PredicateParseError
from teleport_access.where._errors import WhereError
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

#: Deeper nesting is refused. Go's parser allows more; no real condition comes near this.
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
_UNARY: Final = frozenset({"!", "-", "+", "^", "&", "<-"})
#: After these the scanner ends a line (and the text) with an automatic semicolon.
_SEMI_AFTER_OPS: Final = frozenset({")", "]", "}", "++", "--"})
_SEMI_AFTER_KEYWORDS: Final = frozenset({"break", "continue", "fallthrough", "return"})
_TYPE_KEYWORDS: Final = {
    "map": "*ast.MapType",
    "chan": "*ast.ChanType",
    "struct": "*ast.StructType",
    "interface": "*ast.InterfaceType",
    "func": "*ast.FuncType",
}


class Syntax:
    """A node of the Go syntax tree with its character span and nesting depth."""

    __slots__ = ("depth", "end", "start")

    start: int
    end: int
    depth: int

    #: Go's `%T` of the node (`*ast.CallExpr`), used in Teleport's messages.
    go_type: str = "*ast.BadExpr"


class Ident(Syntax):
    __slots__ = ("name",)
    go_type = "*ast.Ident"

    def __init__(self, name: str, start: int, end: int) -> None:
        self.name, self.start, self.end, self.depth = name, start, end, 0


class BasicLit(Syntax):
    """A string, integer or float literal; `kind` is the lexer's token kind."""

    __slots__ = ("kind", "value")
    go_type = "*ast.BasicLit"

    def __init__(self, kind: str, value: str | int | float, start: int, end: int) -> None:
        self.kind, self.value, self.start, self.end, self.depth = kind, value, start, end, 0


class Selector(Syntax):
    """`x.sel`."""

    __slots__ = ("sel", "sel_start", "x")
    go_type = "*ast.SelectorExpr"

    def __init__(self, x: Syntax, sel: str, sel_start: int, end: int) -> None:
        self.x, self.sel, self.sel_start = x, sel, sel_start
        self.start, self.end, self.depth = x.start, end, x.depth


class Index(Syntax):
    """`x[index]`."""

    __slots__ = ("index", "lbrack", "x")
    go_type = "*ast.IndexExpr"

    def __init__(self, x: Syntax, index: Syntax, lbrack: int, end: int) -> None:
        self.x, self.index, self.lbrack = x, index, lbrack
        self.start, self.end = x.start, end
        self.depth = 1 + max(x.depth, index.depth)


class Call(Syntax):
    """`fun(args)`."""

    __slots__ = ("args", "fun", "lparen")
    go_type = "*ast.CallExpr"

    def __init__(self, fun: Syntax, args: list[Syntax], lparen: int, end: int) -> None:
        self.fun, self.args, self.lparen = fun, args, lparen
        self.start, self.end = fun.start, end
        self.depth = 1 + max([fun.depth, *(arg.depth for arg in args)])


class Paren(Syntax):
    __slots__ = ("x",)
    go_type = "*ast.ParenExpr"

    def __init__(self, x: Syntax, start: int, end: int) -> None:
        self.x, self.start, self.end, self.depth = x, start, end, x.depth + 1


class Unary(Syntax):
    """`op x`: `!` is the only one the language has."""

    __slots__ = ("op", "x")
    go_type = "*ast.UnaryExpr"

    def __init__(self, op: str, x: Syntax, start: int) -> None:
        self.op, self.x, self.start, self.end, self.depth = op, x, start, x.end, x.depth + 1


class Binary(Syntax):
    """`x op y` for any Go binary operator but `&&` and `||`."""

    __slots__ = ("op", "op_start", "x", "y")
    go_type = "*ast.BinaryExpr"

    def __init__(self, op: str, x: Syntax, y: Syntax, op_start: int) -> None:
        self.op, self.x, self.y, self.op_start = op, x, y, op_start
        self.start, self.end = x.start, y.end
        self.depth = 1 + max(x.depth, y.depth)


class Chain(Syntax):
    """`a && b && c` (or `||`): Go's left-associative binary tree, kept flat."""

    __slots__ = ("op", "op_starts", "operands")
    go_type = "*ast.BinaryExpr"

    def __init__(self, op: str, operands: list[Syntax], op_starts: list[int]) -> None:
        self.op, self.operands, self.op_starts = op, operands, op_starts
        self.start, self.end = operands[0].start, operands[-1].end
        self.depth = 1 + max(operand.depth for operand in operands)


class Unsupported(Syntax):
    """Valid Go the language does not accept: `go_type` names it as Teleport's message does."""

    __slots__ = ("kind",)

    def __init__(self, kind: str, start: int, end: int, depth: int = 0) -> None:
        self.kind, self.start, self.end, self.depth = kind, start, end, depth

    @property
    def go_type(self) -> str:  # type: ignore[override]
        return self.kind


_NEWLINE_HINT: Final = (
    "Go ends a condition at a line break that follows a name, a literal, ')' or ']'; "
    "end the line with && or || (or a comma) instead of starting the next line with it"
)


def describe(tok: Token) -> str:
    """How Go's parser names a token after "found"."""
    if tok.kind == EOF:
        return "'EOF'"
    if tok.kind == SEMI:
        return "newline"
    if tok.kind in (IDENT, STRING, INT, FLOAT):
        return tok.text
    return f"'{tok.text}'"


class _Parser:
    __slots__ = ("level", "pos", "text", "tok", "tokens")

    def __init__(self, text: str) -> None:
        self.text = text
        try:
            tokens = tokenize(text)
        except WhereError as exc:
            raise PredicateParseError(
                exc.problem,
                text=text,
                offset=exc.offset,
                end_offset=exc.end_offset,
                hint=exc.hint,
            ) from None
        # Go's scanner also ends the text with an automatic semicolon after a name, a literal
        # or a closing bracket; it shows in messages as "found newline".
        if len(tokens) > 1 and _semicolon_after(tokens[-2]):
            tokens.insert(-1, Token(SEMI, "\n", None, len(text), len(text)))
        self.tokens = tokens
        self.pos = 0
        self.tok = tokens[0]
        #: Recursion depth of binary() and unary(), bounded so deep text cannot exhaust the stack.
        self.level = 0

    def advance(self) -> Token:
        tok = self.tok
        self.pos += 1
        self.tok = self.tokens[self.pos]
        return tok

    def at(self, text: str) -> bool:
        return self.tok.kind == OP and self.tok.text == text

    def error(
        self, problem: str, tok: Token | None = None, hint: str | None = None
    ) -> PredicateParseError:
        tok = tok or self.tok
        if hint is None and tok.kind == SEMI and tok.start < len(self.text):
            hint = _NEWLINE_HINT
        end = tok.end if tok.end > tok.start else tok.start + 1
        return PredicateParseError(
            problem, text=self.text, offset=tok.start, end_offset=end, hint=hint
        )

    def expected(self, what: str, hint: str | None = None) -> PredicateParseError:
        return self.error(f"expected {what}, found {describe(self.tok)}", hint=hint)

    def checked(self, node: Syntax) -> Syntax:
        if node.depth > MAX_NESTING:
            raise PredicateParseError(
                f"the condition nests more than {MAX_NESTING} levels deep",
                text=self.text,
                offset=node.start,
                end_offset=node.end,
                hint="split it into simpler conditions",
            )
        return node

    # -- grammar ---------------------------------------------------------------------------

    def parse(self) -> Syntax:
        if self.tok.kind == EOF:
            # typical checks for "" before Go parses; blank text is Go's own error.
            raise self.expected("operand")
        expr = self.binary(1)
        if self.tok.kind == SEMI and self.tok.text == "\n":
            self.advance()
        if self.tok.kind != EOF:
            hint = None
            previous = self.tokens[self.pos - 1]
            if previous.kind == SEMI:
                hint = _NEWLINE_HINT
            elif self.at("="):
                hint = "compare with == (a single = is an assignment)"
            raise self.expected("'EOF'", hint=hint)
        return expr

    def enter(self) -> None:
        self.level += 1
        if self.level > MAX_NESTING:
            raise self.error(
                f"the condition nests more than {MAX_NESTING} levels deep",
                hint="split it into simpler conditions",
            )

    def binary(self, min_prec: int) -> Syntax:
        self.enter()
        try:
            return self.binary_chain(min_prec)
        finally:
            self.level -= 1

    def binary_chain(self, min_prec: int) -> Syntax:
        left = self.unary()
        while True:
            tok = self.tok
            prec = _PRECEDENCE.get(tok.text) if tok.kind == OP else None
            if prec is None or prec < min_prec:
                return left
            self.advance()
            right = self.binary(prec + 1)
            if tok.text in ("&&", "||"):
                base = left.x if isinstance(left, Paren) else left
                if isinstance(base, Chain) and base.op == tok.text:
                    # (a && b) && c is Go's tree for a && b && c: the same condition.
                    left = Chain(tok.text, [*base.operands, right], [*base.op_starts, tok.start])
                else:
                    left = Chain(tok.text, [left, right], [tok.start])
            else:
                left = Binary(tok.text, left, right, tok.start)
            left = self.checked(left)

    def unary(self) -> Syntax:
        tok = self.tok
        if tok.kind == OP and (tok.text in _UNARY or tok.text == "*"):
            self.advance()
            self.enter()
            try:
                operand = self.unary()
            finally:
                self.level -= 1
            if tok.text == "*":
                return self.checked(
                    Unsupported("*ast.StarExpr", tok.start, operand.end, operand.depth + 1)
                )
            return self.checked(Unary(tok.text, operand, tok.start))
        return self.primary()

    def primary(self) -> Syntax:
        node = self.operand()
        while True:
            if self.at("."):
                node = self.selector(node)
            elif self.at("("):
                node = self.call(node)
            elif self.at("["):
                node = self.index(node)
            elif self.at("{") and _may_be_literal_type(node):
                node = self.composite_literal(node)
            else:
                return node
            node = self.checked(node)

    def operand(self) -> Syntax:
        tok = self.tok
        if tok.kind == IDENT:
            self.advance()
            return Ident(tok.text, tok.start, tok.end)
        if tok.kind in (STRING, INT, FLOAT):
            self.advance()
            assert isinstance(tok.value, str | int | float)
            return BasicLit(tok.kind, tok.value, tok.start, tok.end)
        if tok.kind == OP and tok.text == "(":
            self.advance()
            inner = self.binary(1)
            close = self.expect(")")
            return self.checked(Paren(inner, tok.start, close.end))
        if (tok.kind == KEYWORD and tok.text in _TYPE_KEYWORDS) or (
            tok.kind == OP and tok.text == "["
        ):
            return self.type_operand()
        raise self.expected("operand")

    def type_operand(self) -> Syntax:
        """A Go type (`[]string`, `map[string]int`, `func() {}`, ...): parsed only to be refused."""
        tok = self.tok
        kind = _TYPE_KEYWORDS.get(tok.text, "*ast.ArrayType")
        start = tok.start
        self.skip_type()
        if kind == "*ast.FuncType" and self.at("{"):
            self.skip_braces()
            return Unsupported("*ast.FuncLit", start, self.tokens[self.pos - 1].end)
        node = Unsupported(kind, start, self.tokens[self.pos - 1].end)
        if self.at("{"):
            return self.composite_literal(node)
        return node

    def skip_type(self) -> None:
        tok = self.advance()
        if tok.text == "[":
            if not self.at("]"):
                self.binary(1)
            self.expect("]")
            self.skip_type_name()
        elif tok.text == "map":
            self.expect("[")
            self.skip_type_name()
            self.expect("]")
            self.skip_type_name()
        elif tok.text == "chan":
            self.skip_type_name()
        elif tok.text in ("struct", "interface"):
            self.skip_braces()
        else:  # func
            self.skip_balanced("(", ")")
            if self.tok.kind == IDENT or self.at("[") or self.at("*"):
                self.skip_type_name()
            elif self.at("("):
                self.skip_balanced("(", ")")

    def skip_type_name(self) -> None:
        while self.at("*"):
            self.advance()
        if (self.tok.kind == KEYWORD and self.tok.text in _TYPE_KEYWORDS) or self.at("["):
            self.skip_type()
            return
        if self.tok.kind != IDENT:
            raise self.expected("type")
        self.advance()
        while self.at("."):
            self.advance()
            if self.tok.kind != IDENT:
                raise self.expected("selector or type assertion")
            self.advance()

    def skip_balanced(self, opener: str, closer: str) -> None:
        self.expect(opener)
        depth = 1
        while depth:
            if self.tok.kind == EOF:
                raise self.expected(f"'{closer}'")
            if self.at(opener):
                depth += 1
            elif self.at(closer):
                depth -= 1
            self.advance()

    def skip_braces(self) -> None:
        self.skip_balanced("{", "}")

    def composite_literal(self, type_node: Syntax) -> Syntax:
        self.skip_braces()
        return Unsupported(
            "*ast.CompositeLit", type_node.start, self.tokens[self.pos - 1].end, type_node.depth
        )

    def selector(self, x: Syntax) -> Syntax:
        self.advance()
        tok = self.tok
        if tok.kind == IDENT:
            self.advance()
            return Selector(x, tok.text, tok.start, tok.end)
        if self.at("("):
            # A type assertion, x.(T) or x.(type).
            self.advance()
            if self.tok.kind == KEYWORD and self.tok.text == "type":
                self.advance()
            else:
                self.skip_type_name()
            close = self.expect(")")
            return Unsupported("*ast.TypeAssertExpr", x.start, close.end, x.depth + 1)
        hint = None
        if tok.kind in (KEYWORD, INT, FLOAT, STRING):
            hint = 'write a key that is not a Go name with an index: user.traits["my-key"]'
        raise self.expected("selector or type assertion", hint=hint)

    def call(self, fun: Syntax) -> Syntax:
        lparen = self.advance()
        args: list[Syntax] = []
        while not self.at(")") and self.tok.kind != EOF:
            args.append(self.binary(1))
            if self.at("..."):
                self.advance()  # Go records the ellipsis; Teleport's walker ignores it
            if not self.at_comma("argument list", ")"):
                break
            self.advance()
        close = self.expect(")")
        return Call(fun, args, lparen.start, close.end)

    def at_comma(self, context: str, follow: str) -> bool:
        if self.at(","):
            return True
        if self.at(follow):
            return False
        where = " before newline" if self.tok.kind == SEMI else ""
        raise self.error(f"missing ','{where} in {context}")

    def index(self, x: Syntax) -> Syntax:
        lbrack = self.advance()
        if self.at("]"):
            raise self.expected("operand")
        first = self.binary(1)
        if self.at(":"):
            # x[a:b] or x[a:b:c]: a slice expression.
            while self.at(":"):
                self.advance()
                if not self.at("]") and not self.at(":"):
                    self.binary(1)
            close = self.expect("]")
            return Unsupported("*ast.SliceExpr", x.start, close.end, x.depth + 1)
        extra = 0
        while self.at(","):
            self.advance()
            if not self.at("]") and self.tok.kind != EOF:
                self.binary(1)
                extra += 1
        close = self.expect("]")
        if extra:
            return Unsupported("*ast.IndexListExpr", x.start, close.end, x.depth + 1)
        return Index(x, first, lbrack.start, close.end)

    def expect(self, text: str) -> Token:
        if self.at(text):
            return self.advance()
        raise self.expected(f"'{text}'")


def _semicolon_after(tok: Token) -> bool:
    if tok.kind in (IDENT, STRING, INT, FLOAT):
        return True
    if tok.kind == OP:
        return tok.text in _SEMI_AFTER_OPS
    return tok.kind == KEYWORD and tok.text in _SEMI_AFTER_KEYWORDS


def _may_be_literal_type(node: Syntax) -> bool:
    """Go reads `T{...}` as a composite literal only when T looks like a type."""
    while isinstance(node, Selector):
        node = node.x
    return isinstance(node, Ident | Index)


def parse_syntax(text: str) -> Syntax:
    """Parse `text` as a Go expression. Raises PredicateParseError with Go's syntax messages."""
    return _Parser(text).parse()
