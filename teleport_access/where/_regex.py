"""Go's regular expressions (package `regexp`), matched by RE2 itself in linear time.

Teleport compiles `regexp.match` patterns and role matchers with Go's `regexp`, a port of RE2:
the same syntax, leftmost-first matching, and time linear in the text. `google-re2` binds the C++
RE2 library, so this module hands every pattern to it and never to Python's backtracking `re` (the
binding has no fallback either: a pattern RE2 refuses is an error).

What this module adds to RE2:

- the options that make RE2 read a pattern as Go's `regexp.Compile` does (Perl syntax, UTF-8,
  leftmost-first; nothing written to stderr);
- the refusals Go makes and RE2 does not: `\\C` (one byte), a capture name used twice or one that
  is not ASCII letters, digits and `_`;
- Go's error wording: `error parsing regexp: missing closing ): `(a`` where RE2 says
  `missing ): (a`;
- Go's positions: RE2 searches bytes, so `\\B` also holds between the bytes of one character,
  where Go never looks;
- `MatchString` (a search) and `ReplaceAllString` with Go's `$1` / `${name}` expansion.

Text is searched as UTF-8. A lone surrogate (which no UTF-8 text, and so no Go string decoded by
Teleport, can hold) is searched as U+FFFD. The differences from Go that remain are listed in
docs/where.md.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import NamedTuple

import re2


class RegexError(Exception):
    """Go would refuse to compile the pattern. `str()` is Go's own wording."""

    def __init__(self, code: str, expr: str) -> None:
        super().__init__(code, expr)
        self.code = code
        self.expr = expr

    def __str__(self) -> str:
        return f"error parsing regexp: {self.code}: `{self.expr}`"


class UnsupportedRegex(RegexError):
    """A pattern RE2 refuses although Go may accept it (RE2 limits a compiled pattern's size)."""

    def __str__(self) -> str:
        return f"{self.code}: `{self.expr}`"


#: RE2's error codes (the text before ": " in its message) and Go's words for the same error.
_GO_WORDING = {
    "invalid escape sequence": "invalid escape sequence",
    "invalid character class": "invalid character class",
    "invalid character class range": "invalid character class range",
    "missing ]": "missing closing ]",
    "missing )": "missing closing )",
    "unexpected )": "unexpected )",
    "trailing \\": "trailing backslash at end of expression",
    "no argument for repetition operator": "missing argument to repetition operator",
    "invalid repetition size": "invalid repeat count",
    "bad repetition operator": "invalid nested repetition operator",
    "invalid perl operator": "invalid or unsupported Perl syntax",
    "invalid UTF-8": "invalid UTF-8",
    "invalid named capture group": "invalid named capture",
}
_INVALID_NAMED_CAPTURE = "invalid named capture"
_LOOKBEHINDS = ("(?<=", "(?<!")


def _options(*, capture: bool) -> re2.Options:
    options = re2.Options()
    # Go's regexp.Compile: Perl syntax (posix_syntax off, so \d, \b and non-greedy operators are
    # on and ^/$ match at the ends of the text), leftmost-first (longest_match off), UTF-8, `.`
    # not matching a line break, case-sensitive. RE2 would also log every bad pattern to stderr.
    options.posix_syntax = False
    options.longest_match = False
    options.log_errors = False
    # A yes/no search needs no submatches; without them RE2 answers from its DFA alone.
    options.never_capture = not capture
    return options


_SEARCH_OPTIONS = _options(capture=False)
_CAPTURE_OPTIONS = _options(capture=True)


# ---------------------------------------------------------------------------------------------
# A lexical scan of Go syntax: enough to find what RE2 accepts and Go refuses, and to see a
# pattern's top-level structure (`_patterns.RolePattern`). It never raises; on a pattern RE2
# refused it is only trusted up to RE2's first error.


class Token(NamedTuple):
    """A piece of a pattern: `kind` is one of atom (a character, escape, class or `\\Q...\\E`),
    open, close, flags (`(?i)`), alt (`|`), repeat, begin (`^`), end (`$`) and invalid (a `(?`
    that starts neither flags nor a group)."""

    kind: str
    start: int
    end: int
    #: The capture name of an `open` token of a named group.
    name: str | None = None


def _escape_end(pattern: str, i: int) -> int:
    """The end of the escape starting with the backslash at i."""
    after = pattern[i + 1 : i + 2]
    if after == "Q":
        close = pattern.find("\\E", i + 2)
        return len(pattern) if close < 0 else close + 2
    if after and after in "pPx" and pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 2)
        return len(pattern) if close < 0 else close + 1
    if after and after in "pP":
        return min(i + 3, len(pattern))
    return min(i + 2, len(pattern))


def _class_end(pattern: str, i: int) -> int:
    """The end of the bracketed class starting at i (Go's parseClass, for a valid class)."""
    j = i + 1
    if pattern.startswith("^", j):
        j += 1
    first = True  # a `]` right after `[` or `[^` is a literal
    while j < len(pattern) and (pattern[j] != "]" or first):
        first = False
        if pattern.startswith("[:", j):
            close = pattern.find(":]", j + 2)
            if close >= 0:
                j = close + 2
                continue
        j = _escape_end(pattern, j) if pattern[j] == "\\" else j + 1
    return min(j + 1, len(pattern))


def _group_token(pattern: str, i: int) -> Token:
    if not pattern.startswith("(?", i):
        return Token("open", i, i + 1)
    named = pattern.startswith("(?P<", i) or (
        pattern.startswith("(?<", i) and not pattern.startswith(_LOOKBEHINDS, i)
    )
    if named:
        begin = i + (4 if pattern[i + 2] == "P" else 3)
        close = pattern.find(">", begin)
        if close >= 0:
            return Token("open", i, close + 1, pattern[begin:close])
        return Token("open", i, len(pattern))
    j = i + 2
    while j < len(pattern) and pattern[j] in "imsU-":
        j += 1
    if pattern.startswith(")", j):
        return Token("flags", i, j + 1)
    if pattern.startswith(":", j):
        return Token("open", i, j + 1)
    return Token("invalid", i, j)  # e.g. a lookaround, which Go and RE2 refuse


def _repeat_end(pattern: str, i: int) -> int:
    """The end of the repetition operator at i, or -1 when a `{` there is literal text."""
    end = _braces_end(pattern, i) if pattern[i] == "{" else i + 1
    if end < 0:
        return -1
    return end + 1 if pattern.startswith("?", end) else end


def _braces_end(pattern: str, i: int) -> int:
    """`{n}`, `{n,}` or `{n,m}` at i: its end; -1 for anything else (Go's parseRepeat)."""
    j = i + 1
    for count in (1, 2):
        start = j
        while j < len(pattern) and "0" <= pattern[j] <= "9":
            j += 1
        if j == start:
            return j + 1 if count == 2 and pattern.startswith("}", j) else -1
        if pattern[start] == "0" and j - start > 1:
            return -1  # Go refuses leading zeros, so `{01}` is literal text
        if count == 1 and pattern.startswith(",", j):
            j += 1
            continue
        break
    return j + 1 if pattern.startswith("}", j) else -1


def tokens(pattern: str) -> Iterator[Token]:
    """The pattern's tokens, left to right."""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            token = Token("atom", i, _escape_end(pattern, i))
        elif c == "[":
            token = Token("atom", i, _class_end(pattern, i))
        elif c == "(":
            token = _group_token(pattern, i)
        elif c in ")|^$":
            token = Token({")": "close", "|": "alt", "^": "begin", "$": "end"}[c], i, i + 1)
        elif c in "*+?{" and (end := _repeat_end(pattern, i)) > 0:
            token = Token("repeat", i, end)
        else:
            token = Token("atom", i, i + 1)
        yield token
        i = token.end


class _Refusal(NamedTuple):
    """An error Go reports and RE2 does not, where it is and how many groups are open there."""

    error: RegexError
    offset: int
    depth: int


class _Scan(NamedTuple):
    """What a pattern holds that RE2 and Go treat differently."""

    #: The first refusal Go makes and RE2 does not.
    refusal: _Refusal | None
    #: `\\B`, which RE2 (looking at bytes) also finds inside a multi-byte character.
    not_word_boundary: bool


def _scan(pattern: str) -> _Scan:
    names: set[str] = set()
    depth = 0
    not_word_boundary = False
    for token in tokens(pattern):
        text = pattern[token.start : token.end]
        error: RegexError | None = None
        if token.kind == "invalid":
            break  # Go and RE2 both stop here, and RE2 says why
        if token.kind == "atom" and text == "\\B":
            not_word_boundary = True
        elif token.kind == "atom" and text == "\\C":
            error = RegexError("invalid escape sequence", text)
        elif token.name is not None:
            if not token.name or not all(
                c.isascii() and (c.isalnum() or c == "_") for c in token.name
            ):
                error = RegexError(_INVALID_NAMED_CAPTURE, text)
            elif token.name in names:
                error = RegexError("duplicate capture group name", token.name)
            names.add(token.name)
        if error is not None:
            return _Scan(_Refusal(error, token.start, depth), not_word_boundary)
        depth += {"open": 1, "close": -1}.get(token.kind, 0)
    return _Scan(None, not_word_boundary)


def _valid_prefix(pattern: str, end: int, depth: int) -> bool:
    """Whether Go reads `pattern[:end]` (`depth` groups open there) without an error."""
    if depth < 0:
        return False
    try:
        re2.compile(pattern[:end] + ")" * depth, _SEARCH_OPTIONS)
    except re2.error:
        return False
    return True


def _go_error(pattern: str, message: str) -> RegexError:
    """Go's error for a pattern RE2 refused with `message` ("<code>: <argument>")."""
    code, _, argument = message.partition(": ")
    go_code = _GO_WORDING.get(code)
    if go_code is None:  # e.g. "pattern too large - compile failed"
        return UnsupportedRegex(f"RE2 cannot compile this pattern ({message})", pattern)
    if argument.startswith(_LOOKBEHINDS):
        # Go reads `(?<` as the start of a group name and reports the text up to its `>`.
        start = next(
            (t.start for t in tokens(pattern) if pattern.startswith(_LOOKBEHINDS, t.start)), -1
        )
        if start >= 0:
            rest = pattern[start:]
            close = rest.find(">")
            return RegexError(_INVALID_NAMED_CAPTURE, rest if close < 0 else rest[: close + 1])
    return RegexError(go_code, argument)


def _utf8(text: str) -> bytes:
    try:
        return text.encode()
    except UnicodeEncodeError:
        # Only lone surrogates fail. Go never holds one: its decoders give U+FFFD instead.
        return "".join("\ufffd" if "\ud800" <= c <= "\udfff" else c for c in text).encode()


# ---------------------------------------------------------------------------------------------
# Compiled patterns


class GoRegexp:
    """A pattern compiled as Go's `regexp.Compile` would, matched by RE2."""

    __slots__ = ("_mid_character", "_regexp", "pattern")

    def __init__(self, pattern: str, regexp: re2._Regexp, mid_character: bool) -> None:
        self.pattern = pattern
        self._regexp = regexp
        #: Whether RE2 may report an (empty) match starting inside a multi-byte character.
        self._mid_character = mid_character

    def __repr__(self) -> str:
        return f"GoRegexp({self.pattern!r})"

    @property
    def groups(self) -> int:
        """The number of capture groups (without `capture`, RE2 still counts named ones)."""
        return self._regexp.groups

    @property
    def group_names(self) -> dict[str, int]:
        return dict(self._regexp.groupindex)

    def search(self, text: str) -> bool:
        """Go's `MatchString`: does the pattern match anywhere in `text`?"""
        if self._mid_character:
            return self._search(_utf8(text), 0) is not None
        return self._regexp.search(_utf8(text)) is not None

    def _search(self, data: bytes, pos: int) -> re2._Match[bytes] | None:
        """The leftmost match at or after `pos` that starts at a character, as Go finds it.

        RE2 searches bytes, so `\\B` also holds between the bytes of one character; Go looks
        only between characters. Only an empty match can start there, so skipping it is enough.
        """
        while (match := self._regexp.search(data, pos)) is not None:
            start = match.start()
            if not self._mid_character or start == len(data) or not 0x80 <= data[start] < 0xC0:
                return match
            pos = start + 1
        return None

    def fullmatch(self, text: str) -> bool:
        """Does the pattern match all of `text` (as `\\A(?:pattern)\\z` would)?"""
        return self._regexp.fullmatch(_utf8(text)) is not None

    def replace_all(self, text: str, template: str) -> str:
        """Go's `ReplaceAllString`: every match replaced by `template`, `$1`/`${name}` expanded.

        As in Go, an empty match right after a previous match is not replaced, and the search
        moves on by at least one character after each match.
        """
        data = _utf8(text)
        out: list[str] = []
        last_end = 0
        pos = 0
        while pos <= len(data):
            match = self._search(data, pos)
            if match is None:
                break
            start, end = match.span()
            out.append(data[last_end:start].decode())
            if end > last_end or start == 0:
                out.append(self._expand(template, match))
            last_end = end
            width = _rune_width(data, pos)
            if pos + width > end:
                pos += width
            elif pos + 1 > end:
                pos += 1  # at the end of the text, where there is no character to step over
            else:
                pos = end
        out.append(data[last_end:].decode())
        return "".join(out)

    def _expand(self, template: str, match: re2._Match[bytes]) -> str:
        """Go's `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown names are empty.

        `$1x` means the group named `1x`, as in Go; a malformed reference is literal text.
        """
        names = self._regexp.groupindex
        out: list[str] = []
        i = 0
        while (dollar := template.find("$", i)) >= 0:
            out.append(template[i:dollar])
            rest = template[dollar + 1 :]
            if rest.startswith("$"):
                out.append("$")
                i = dollar + 2
                continue
            brace = rest.startswith("{")
            k = 1 if brace else 0
            while k < len(rest) and (
                rest[k].isalpha() or rest[k] == "_" or unicodedata.category(rest[k]) == "Nd"
            ):
                k += 1
            name = rest[1 if brace else 0 : k]
            if not name or (brace and not rest.startswith("}", k)):
                out.append("$")
                i = dollar + 1
                continue
            i = dollar + 1 + k + (1 if brace else 0)
            number = _group_number(name)
            index = number if number >= 0 else names.get(name, -1)
            if 0 <= index <= self._regexp.groups:
                group = match.group(index)
                if group is not None:
                    out.append(group.decode())
        out.append(template[i:])
        return "".join(out)


def _group_number(name: str) -> int:
    """A reference's group number as Go's `extract` reads it, or -1 when it is a name."""
    number = 0
    for digit in name:
        if not "0" <= digit <= "9" or number >= 100_000_000:
            return -1
        number = number * 10 + ord(digit) - 48
    return -1 if name.startswith("0") and len(name) > 1 else number


def _rune_width(data: bytes, pos: int) -> int:
    """The length of the UTF-8 sequence at pos (0 at the end)."""
    if pos >= len(data):
        return 0
    lead = data[pos]
    return 1 if lead < 0x80 else 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4


def compile_go(pattern: str, *, capture: bool = False) -> GoRegexp:
    """Compile a Go regular expression. Raises RegexError (UnsupportedRegex: RE2's size limit).

    Without `capture` the groups do not capture, which is all a yes/no search needs.
    """
    try:
        pattern.encode()
    except UnicodeEncodeError as exc:
        # A lone surrogate: only byte escapes in a Go string literal make such a pattern.
        raise RegexError("invalid UTF-8", pattern[exc.start :]) from None
    scan = _scan(pattern)
    try:
        regexp = re2.compile(pattern, _CAPTURE_OPTIONS if capture else _SEARCH_OPTIONS)
    except re2.error as exc:
        # Go reports the first error from the left: RE2's, or one only Go sees before it.
        refusal = scan.refusal
        if refusal is not None and _valid_prefix(pattern, refusal.offset, refusal.depth):
            raise refusal.error from None
        raw = exc.args[0] if exc.args else b""
        message = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
        raise _go_error(pattern, message) from None
    if scan.refusal is not None:
        raise scan.refusal.error
    return GoRegexp(pattern, regexp, scan.not_word_boundary)
