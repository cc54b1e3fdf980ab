"""Go regular expressions on RE2: linear-time matching for `regexp.match` and `regexp.replace`.

Go's `regexp` package implements RE2's syntax and leftmost-first semantics, so a Go pattern is
compiled with the RE2 library itself (`google-re2`), never with Python's backtracking `re`: text a
requester controls can not make matching slow. This adapter adds what Go does on top:

- Teleport's patterns for `regexp.match`: `^...$` is a regular expression, anything else a glob
  where `*` matches any run of characters and everything else is literal;
- Go's `ReplaceAllString` with `$1` / `${name}` template expansion;
- Go's error messages ("error parsing regexp: missing closing ): `(`") for invalid patterns.

(The `where` language keeps its own translation to Python's `re`; the two should become one
RE2 adapter when `where` moves to RE2.)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from typing import Any, Final

import re2  # type: ignore[import-untyped]

_GO_META: Final = frozenset("\\.+*?()|[]{}^$")

# RE2's error texts, and Go's words for the same errors (regexp/syntax ErrorCode strings).
_GO_CODES: Final = {
    "missing )": "missing closing )",
    "missing ]": "missing closing ]",
    "unexpected )": "unexpected )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid named capture group": "invalid named capture",
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class": "invalid character class",
    "invalid character class range": "invalid character class range",
    "invalid UTF-8": "invalid UTF-8",
    "pattern too large - compile failed": "expression too large",
}
_SURROGATES: Final = re.compile("[\ud800-\udfff]")


class RegexError(Exception):
    """Go would refuse to compile the pattern. `str()` is Go's message."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(code, expr)
        self.code, self.expr = code, expr

    def __str__(self) -> str:
        return f"error parsing regexp: {self.code}: `{self.expr}`"


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # errors are raised, not also printed to stderr
    return options


_OPTIONS: Final = _options()


def quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta."""
    return "".join("\\" + c if c in _GO_META else c for c in text)


def teleport_pattern(expression: str) -> str:
    """The Go pattern Teleport compiles for a `regexp.match` argument (utils.RegexMatchesAny)."""
    if expression.startswith("^") and expression.endswith("$"):
        return expression
    return "^" + quote_meta(expression).replace("\\*", "(.*)") + "$"


def valid_text(text: str) -> str:
    """Go reads bytes that are not UTF-8 (here: lone surrogates) as U+FFFD when matching."""
    return _SURROGATES.sub("\ufffd", text) if _SURROGATES.search(text) else text


@functools.lru_cache(maxsize=2048)
def _compile(pattern: str) -> Any:
    if _SURROGATES.search(pattern):
        bad = _SURROGATES.search(pattern)
        assert bad is not None
        raise RegexError("invalid UTF-8", pattern[bad.start() :])
    escape = _unsupported_escape(pattern)
    if escape is not None:
        raise RegexError("invalid escape sequence", escape)
    try:
        return re2.compile(pattern, options=_OPTIONS)
    except re2.error as exc:
        raise _go_error(exc, pattern) from None


def compile_go(pattern: str) -> Any:
    """An RE2 program for a Go regular expression. Raises RegexError with Go's wording."""
    return _compile(pattern)


def _go_error(exc: Exception, pattern: str) -> RegexError:
    raw = exc.args[0] if exc.args else str(exc)
    message = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    code, _, arg = message.partition(": ")
    return RegexError(_GO_CODES.get(code, code), arg or pattern)


def _unsupported_escape(pattern: str) -> str | None:
    r"""RE2 accepts `\C` (any byte); Go rejects it. Nothing else RE2 takes is foreign to Go."""
    i = pattern.find("\\")
    while 0 <= i < len(pattern) - 1:
        if pattern[i + 1] == "C":
            return pattern[i : i + 2]
        i = pattern.find("\\", i + 2)
    return None


#: A compiled `regexp.match` pattern: does one string match?
Matcher = Callable[[str], bool]


@functools.lru_cache(maxsize=2048)
def compile_teleport_pattern(expression: str) -> Matcher | RegexError:
    """`regexp.match`'s pattern as a matcher, or the reason it does not compile (cached either way).

    Go calls `MatchString` on the compiled pattern, a search: a glob is anchored at both ends, and
    a raw `^...$` regex is searched with its own anchors (so `^a|b$` matches any text starting
    with a).
    """
    try:
        program = compile_go(teleport_pattern(expression))
    except RegexError as exc:
        return exc
    search = program.search

    def matches(text: str) -> bool:
        return search(valid_text(text)) is not None

    return matches


def replace_all(program: Any, text: str, template: str) -> str:
    """Go's `Regexp.ReplaceAllString`: an empty match right after a match is not replaced."""
    text = valid_text(text)
    names: dict[str, int] = dict(program.groupindex)
    groups: int = program.groups
    out: list[str] = []
    last_end = 0
    search_from = 0
    while search_from <= len(text):
        match = program.search(text, search_from)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:
            out.append(_expand(template, match, names, groups))
        last_end = end
        # Advance past the match, and always by at least one character.
        search_from = end if end > search_from else search_from + 1
    out.append(text[last_end:])
    return "".join(out)


def _expand(template: str, match: Any, names: dict[str, int], groups: int) -> str:
    """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown groups are empty.

    `$1x` names the group "1x" (Go takes the longest name), which is why `${1}x` exists.
    """
    out: list[str] = []
    i = 0
    while True:
        dollar = template.find("$", i)
        if dollar < 0:
            out.append(template[i:])
            return "".join(out)
        out.append(template[i:dollar])
        rest = template[dollar + 1 :]
        if rest.startswith("$"):
            out.append("$")
            i = dollar + 2
            continue
        brace = rest.startswith("{")
        k = 1 if brace else 0
        while k < len(rest) and (
            rest[k] == "_" or rest[k].isalpha() or unicodedata.category(rest[k]) == "Nd"
        ):
            k += 1
        name = rest[1 if brace else 0 : k]
        if not name or (brace and (k >= len(rest) or rest[k] != "}")):
            out.append("$")  # a malformed reference is kept literally
            i = dollar + 1
            continue
        i = dollar + 1 + k + (1 if brace else 0)
        index = _group_number(name)
        if index < 0:
            index = names.get(name, -1)
        if 0 <= index <= groups:
            group = match.group(index)
            if group is not None:
                out.append(group)


def _group_number(name: str) -> int:
    """Go reads a reference as a group number when it is all ASCII digits, however long."""
    if not (name.isascii() and name.isdigit()):
        return -1
    value = int(name)
    return value if value < 1 << 31 else -1
