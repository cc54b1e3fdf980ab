"""Go's tokens, as `go/scanner` reads them for `parser.ParseExpr`.

Teleport hands the expression to Go's own parser, so the lexical rules are Go's: identifiers are
Unicode letters, digits and `_`; strings are Go literals with Go escapes (a `\\xNN` escape is a
byte, so `"\\xc3\\xa9"` is "é"); back-quoted raw strings may span lines and lose their `\\r`;
`//` and `/* */` comments are allowed; and a line break after a name, literal, `)` or `]` ends
the expression (Go's automatic semicolon), which is why an operator must end a line, not start
the next one.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from teleport_access.where._errors import WhereSyntaxError

# Token kinds.
IDENT: Final = "ident"
KEYWORD: Final = "keyword"
INT: Final = "int"
FLOAT: Final = "float"
STRING: Final = "string"
OP: Final = "op"
SEMI: Final = "semi"  # an automatic semicolon: a line break that ends the expression
EOF: Final = "eof"

KEYWORDS: Final = frozenset(
    "break case chan const continue default defer else fallthrough for func go goto if import "  # noqa: SIM905
    "interface map package range return select struct switch type var".split()
)

# Each match is optional blanks, then one token (or the end of the text). The blanks are part
# of the match so that the loop below runs once per token, not once per token and per gap.
_TOKEN = re.compile(
    r"""
    [ \t\r]*
    (?:
      (?P<ident>[^\W\d]\w*)
    | (?P<comment>//[^\n]*|/\*(?s:.*?)\*/)
    | (?P<op>&&|\|\||==|!=|<<=|>>=|&\^=|<=|>=|<<|>>|&\^|\.\.\.|:=|<-|\+\+|--|[-+*/%&|^]=
          |[-+*/%&|^<>!=(),.\[\]{}:;~])
    | (?P<string>"(?:[^"\\\n]|\\[^\n])*")
    | (?P<newline>\n)
    | (?P<number>\.?\d(?:[0-9a-zA-Z_.]|(?<=[eEpP])[+-])*)
    | (?P<raw>`[^`]*`)
    | (?P<char>'(?:[^'\\\n]|\\[^\n])*')
    | (?P<eof>\Z)
    )
    """,
    re.VERBOSE,
)

_DECIMAL_FLOAT = re.compile(r"(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_GO_INT = re.compile(
    r"0[xX]_?[0-9a-fA-F]+(?:_[0-9a-fA-F]+)*|0[bB]_?[01]+(?:_[01]+)*|0[oO]?_?[0-7]+(?:_[0-7]+)*"
    r"|[1-9](?:_?\d)*"
)
_INT64_MAX = 2**63 - 1
#: Go rejects NUL anywhere in the source, and text that is not UTF-8 (lone surrogates here).
_ILLEGAL = re.compile("[\0\ud800-\udfff]")
_SIMPLE_ESCAPES: Final = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}
#: After these, a line break is an automatic semicolon (Go spec, "Semicolons").
_SEMI_AFTER_OPS: Final = frozenset({")", "]", "}", "++", "--"})
_SEMI_AFTER_KEYWORDS: Final = frozenset({"break", "continue", "fallthrough", "return"})


class Token:
    """A token: its kind, source text, decoded value (strings, numbers) and character span."""

    __slots__ = ("end", "kind", "start", "text", "value")

    def __init__(self, kind: str, text: str, value: object, start: int, end: int) -> None:
        self.kind = kind
        self.text = text
        self.value = value
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"Token({self.kind}, {self.text!r}, {self.start}-{self.end})"

    def describe(self) -> str:
        """How an error message names this token."""
        if self.kind == EOF:
            return "the end of the expression"
        if self.kind == SEMI:
            return "a line break"
        if self.kind == STRING:
            return "a string literal"
        if self.kind in (INT, FLOAT):
            return f"the number {self.text}"
        if self.kind == KEYWORD:
            return f"the Go keyword {self.text!r}"
        if self.kind == IDENT:
            return f"the name {self.text!r}"
        return f'"{self.text}"'


def tokenize(text: str) -> list[Token]:
    """Split `text` into Go tokens, with automatic semicolons, ending with an EOF token."""
    bad = _ILLEGAL.search(text)
    if bad is not None:
        c = text[bad.start()]
        problem = "illegal character NUL" if c == "\0" else "invalid UTF-8 encoding"
        raise WhereSyntaxError(problem, text=text, offset=bad.start())
    tokens: list[Token] = []
    append = tokens.append
    pos = 1 if text.startswith("\ufeff") else 0  # Go skips a leading byte order mark
    semi_possible = False  # would a line break here be an automatic semicolon?
    for m in _TOKEN.finditer(text, pos):
        kind = m.lastgroup
        word = m.group(kind) if kind else ""
        end = m.end()
        start = end - len(word)
        if m.start() != pos or kind is None:
            # finditer skipped text no token matches: report the first such character.
            raise _bad_character(text, _first_non_blank(text, pos))
        pos = end
        if kind == "ident":
            if not word.isascii():
                end = _ident_end(word, start)
                word = text[start:end]
                if end < pos:
                    raise _bad_character(text, end)
            if word in KEYWORDS:
                append(Token(KEYWORD, word, word, start, end))
                semi_possible = word in _SEMI_AFTER_KEYWORDS
            else:
                append(Token(IDENT, word, word, start, end))
                semi_possible = True
        elif kind == "op":
            if word == "/" and text.startswith("*", end):
                raise _bad_character(text, start)  # an unterminated /* comment
            append(Token(OP, word, word, start, end))
            semi_possible = word in _SEMI_AFTER_OPS
        elif kind == "string":
            append(Token(STRING, word, _unquote(text, start, end), start, end))
            semi_possible = True
        elif kind == "newline" or kind == "comment":
            if semi_possible and (kind == "newline" or "\n" in word or word[1] == "/"):
                append(Token(SEMI, "\n", None, start, start + 1))
                semi_possible = False
        elif kind == "number":
            append(_number(text, word, start, end))
            semi_possible = True
        elif kind == "raw":
            append(Token(STRING, word, word[1:-1].replace("\r", ""), start, end))
            semi_possible = True
        elif kind == "char":
            raise _rune_literal(text, word, start, end)
        else:  # eof
            break
    else:
        raise _bad_character(text, _first_non_blank(text, pos))
    if "\ufeff" in text[1:]:
        bom = text.index("\ufeff", 1)
        raise WhereSyntaxError("illegal byte order mark", text=text, offset=bom)
    append(Token(EOF, "", None, len(text), len(text)))
    return tokens


def _first_non_blank(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t\r":
        pos += 1
    return pos


def _ident_end(word: str, pos: int) -> int:
    """Go identifiers are letters, decimal digits and `_`; Python's \\w is wider (e.g. `²`)."""
    for i, c in enumerate(word):
        if not (c == "_" or c.isalpha() or unicodedata.category(c) == "Nd"):
            return pos + i
    return pos + len(word)


def _bad_character(text: str, pos: int) -> WhereSyntaxError:
    c = text[pos]
    if c == '"':
        end = text.find("\n", pos)
        return WhereSyntaxError(
            "string literal not terminated",
            text=text,
            offset=pos,
            end_offset=len(text) if end < 0 else end,
            hint="close it with a double quote on the same line, or use a back-quoted raw string",
        )
    if c == "`":
        return WhereSyntaxError("raw string literal not terminated", text=text, offset=pos)
    if c == "'":
        return WhereSyntaxError("rune literal not terminated", text=text, offset=pos)
    if text.startswith("/*", pos):
        return WhereSyntaxError("comment not terminated", text=text, offset=pos, end_offset=pos + 2)
    name = unicodedata.name(c, "")
    shown = (
        f"U+{ord(c):04X}" + (f" {name}" if name else "") + (f" {c!r}" if c.isprintable() else "")
    )
    hint = None
    if c == "#":
        hint = "comments are written // like this or /* like this */"
    elif c in "\u201c\u201d":
        hint = 'typographic quotes are not string quotes; use "..."'
    return WhereSyntaxError(f"illegal character {shown}", text=text, offset=pos, hint=hint)


def _rune_literal(text: str, word: str, pos: int, end: int) -> WhereSyntaxError:
    inner = word[1:-1]
    quoted = '"' + inner.replace('"', '\\"').replace("\\'", "'") + '"'
    return WhereSyntaxError(
        "single quotes make a Go rune literal, which the language does not support",
        text=text,
        offset=pos,
        end_offset=end,
        hint=f"strings use double quotes: {quoted}",
    )


def _number(text: str, word: str, pos: int, end: int) -> Token:
    if word.isdigit() and word.isascii():
        if len(word) > 1 and word[0] == "0":
            bad = next((c for c in word if c in "89"), None)
            if bad is not None:
                raise WhereSyntaxError(
                    f"invalid digit {bad!r} in octal literal {word}",
                    text=text,
                    offset=pos,
                    end_offset=end,
                )
        value = int(word)  # Teleport reads integers with strconv.Atoi: always decimal
        if value > _INT64_MAX:
            raise WhereSyntaxError(
                f"integer {word} is out of range", text=text, offset=pos, end_offset=end
            )
        return Token(INT, word, value, pos, end)
    if _DECIMAL_FLOAT.fullmatch(word):
        number = float(word)
        if number == float("inf"):
            raise WhereSyntaxError(
                f"number {word} is out of range", text=text, offset=pos, end_offset=end
            )
        return Token(FLOAT, word, number, pos, end)
    if word.endswith("i"):
        problem = f"imaginary number {word} is not supported"
    elif _GO_INT.fullmatch(word):
        problem = (
            f"integer literal {word} is not supported: Teleport reads integers with "
            "strconv.Atoi, which accepts only decimal digits"
        )
    else:
        problem = f"malformed or unsupported number literal {word}"
    raise WhereSyntaxError(problem, text=text, offset=pos, end_offset=end)


def _unquote(text: str, start: int, end: int) -> str:
    """Decode a Go interpreted string literal (text[start:end] includes the quotes)."""
    body = text[start + 1 : end - 1]
    if "\\" not in body:
        return body
    # Escapes like \xff denote bytes, so build UTF-8 bytes and decode them at the end. Bytes
    # that are not valid UTF-8 become lone surrogates (surrogateescape): such a string never
    # equals valid text, exactly as in Go.
    out = bytearray()
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\":
            j = body.find("\\", i)
            if j < 0:
                j = n
            out += body[i:j].encode()
            i = j
            continue
        esc_start = start + 1 + i
        e = body[i + 1]
        if e in _SIMPLE_ESCAPES:
            out += _SIMPLE_ESCAPES[e].encode()
            i += 2
        elif e in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) < 3 or any(d not in "01234567" for d in digits):
                raise _escape_error(text, esc_start, "illegal octal escape: need 3 digits")
            value = int(digits, 8)
            if value > 255:
                raise WhereSyntaxError(
                    "octal escape value > 255",
                    text=text,
                    offset=esc_start,
                    end_offset=esc_start + 4,
                )
            out.append(value)
            i += 4
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = body[i + 2 : i + 2 + width]
            if len(digits) < width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise _escape_error(
                    text, esc_start, f"illegal \\{e} escape: need {width} hex digits"
                )
            value = int(digits, 16)
            if e == "x":
                out.append(value)
            else:
                if value > 0x10FFFF or 0xD800 <= value <= 0xDFFF:
                    raise WhereSyntaxError(
                        "escape sequence is invalid Unicode code point",
                        text=text,
                        offset=esc_start,
                        end_offset=esc_start + 2 + width,
                    )
                out += chr(value).encode()
            i += 2 + width
        else:
            hint = None
            if e == "'":
                hint = "a single quote needs no escape inside a double-quoted string"
            raise WhereSyntaxError(
                f"unknown escape sequence \\{e}",
                text=text,
                offset=esc_start,
                end_offset=esc_start + 2,
                hint=hint,
            )
    return out.decode("utf-8", "surrogateescape")


def _escape_error(text: str, offset: int, problem: str) -> WhereSyntaxError:
    return WhereSyntaxError(problem, text=text, offset=offset, end_offset=offset + 2)
