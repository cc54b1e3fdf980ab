"""Teleport's pattern semantics on top of Go's regular expressions (`_regex.py`).

- `regexp.match` and role matchers: a pattern wrapped in `^...$` is a Go regular expression,
  anything else a glob where `*` matches any run of characters (but not a line break, as Go's
  `.*`) and everything else is literal. Matching is Go's `MatchString`: a search, which the
  anchors make whole-string.
- Role patterns of a configuration (`RolePattern`): the same language, matched either as Teleport
  matches role conditions or against whole role names, and which of the two a pattern's meaning
  depends on.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable

import attrs

from teleport_access.where._regex import RegexError, compile_go, tokens

_GO_META = frozenset("\\.+*?()|[]{}^$")


def quote_meta(text: str) -> str:
    """Go's regexp.QuoteMeta."""
    return "".join("\\" + c if c in _GO_META else c for c in text)


def glob_to_regexp(text: str) -> str:
    """Teleport's utils.GlobToRegexp: quote everything, then each `*` becomes `(.*)`."""
    return quote_meta(text).replace("\\*", "(.*)")


def is_regexp(expression: str) -> bool:
    """Teleport reads a pattern as a raw regular expression iff it starts with ^ and ends in $."""
    return expression.startswith("^") and expression.endswith("$")


def expression_to_regexp(expression: str) -> str:
    """The Go pattern Teleport compiles for a matcher or `regexp.match` argument."""
    if is_regexp(expression):
        return expression
    return "^" + glob_to_regexp(expression) + "$"


#: A compiled pattern's match function: does the string match?
Matcher = Callable[[str], bool]
#: A compiled Teleport pattern, or the reason it does not compile (cached either way).
Compiled = Matcher | RegexError


@functools.lru_cache(maxsize=2048)
def compile_teleport_pattern(expression: str) -> Compiled:
    """`regexp.match`'s pattern: a `^...$` regular expression or a glob, matched like Go does.

    Go calls `MatchString` on the pattern it compiled, so a raw regex is searched (its own
    anchors make it whole-string, and `^a|b$` really matches any string starting with a); a glob
    is anchored at both ends. Errors are returned, not raised, so they are cached too.
    """
    if not is_regexp(expression) and "*" not in expression and expression.isascii():
        # A glob without a star is its quoted text between ^ and $: it matches itself only.
        # (Non-ASCII text goes to RE2, which refuses a lone surrogate as Go does.)
        return expression.__eq__
    try:
        return compile_go(expression_to_regexp(expression)).search
    except RegexError as exc:
        return exc


def regex_matches_any(values: Iterable[str], expression: str) -> bool:
    """Teleport's utils.RegexMatchesAny. Raises RegexError for an invalid pattern."""
    compiled = compile_teleport_pattern(expression)
    if isinstance(compiled, RegexError):
        raise type(compiled)(compiled.code, compiled.expr)  # not the cached instance
    return any(compiled(value) for value in values)


# ---------------------------------------------------------------------------------------------
# Role patterns


class RolePatternError(ValueError):
    """A role pattern that cannot be used: empty, or an invalid regular expression."""


@attrs.frozen
class RolePattern:
    """A role pattern compiled once: a glob (`*` for any run of characters) or a `^...$` regex.

    Teleport's role conditions search a role name with the pattern; a list such as tpd's
    `approve_roles` is documented to match whole names. The two agree unless the regex's anchors
    do not hold for every match, e.g. `^a|b$`, which Teleport reads as "starts with a, or ends
    with b". `difference` then says so in a sentence.
    """

    pattern: str
    _search: Matcher = attrs.field(repr=False, eq=False)
    _whole: Matcher = attrs.field(repr=False, eq=False)
    #: Why Teleport's meaning and the whole-name meaning differ for this pattern, or None.
    difference: str | None = attrs.field(eq=False)

    def matches(self, role: str) -> bool:
        """Teleport's meaning: does the pattern match in the role name (a search)?"""
        return self._search(role)

    def matches_whole_name(self, role: str) -> bool:
        """Does the pattern match the whole role name?"""
        return self._whole(role)

    @property
    def meanings_differ(self) -> bool:
        """Whether some role name matches in Teleport's meaning but not as a whole name."""
        return self.difference is not None


def compile_role_pattern(pattern: str) -> RolePattern:
    """Compile a role pattern. Raises RolePatternError naming the pattern and the problem."""
    if not pattern:
        raise RolePatternError("a role pattern must not be empty")
    search = compile_teleport_pattern(pattern)
    if isinstance(search, RegexError):
        raise RolePatternError(f"invalid regular expression {pattern!r}: {search}")
    if not is_regexp(pattern):
        return RolePattern(pattern, search, search, None)  # a glob is anchored at both ends
    whole = compile_go(pattern).fullmatch
    return RolePattern(pattern, search, whole, _anchoring_difference(pattern))


def _anchoring_difference(pattern: str) -> str | None:
    """Why a search with the regex `pattern` may match only part of a name, or None.

    Searching and whole-name matching agree when every top-level alternative starts with `^`
    (not repeated) and ends with `$`, both meaning the ends of the text. Anything else is
    reported, so a warning may be given for a pattern that would in fact agree, never the reverse.
    """
    alternatives: list[list[str]] = [[]]
    line_anchors = False  # a top-level (?m) makes ^ and $ match at line breaks
    multiline = False
    depth = 0
    for token in tokens(pattern):
        if depth == 0:
            if token.kind == "alt":
                alternatives.append([])
                continue
            if token.kind == "flags":
                on, _, off = pattern[token.start + 2 : token.end - 1].partition("-")
                multiline = ("m" in on or multiline) and "m" not in off
            if token.kind in ("begin", "end") and multiline:
                line_anchors = True
            alternatives[-1].append(token.kind)
        depth += {"open": 1, "close": -1}.get(token.kind, 0)
    if line_anchors:
        return (
            f"{pattern!r} sets the m flag, so its ^ and $ also match at line breaks and Teleport "
            "matches names of several lines that only contain a matching line"
        )
    kinds = [[kind for kind in alternative if kind != "flags"] for alternative in alternatives]
    anchored = [k[:1] == ["begin"] and k[1:2] != ["repeat"] and k[-1:] == ["end"] for k in kinds]
    if all(anchored):
        return None
    if len(alternatives) > 1 and kinds[0][:1] == ["begin"] and kinds[-1][-1:] == ["end"]:
        grouped = f"^(?:{pattern[1:-1]})$"
        return (
            f"Teleport applies the ^ and $ of {pattern!r} only to its first and last "
            "alternatives, so it matches role names that merely start with, end with or "
            f"contain a match of one; write {grouped!r} to match whole names only"
        )
    return (
        f"{pattern!r} is not anchored at both ends for every match, so Teleport also matches "
        "role names that merely contain a match"
    )
