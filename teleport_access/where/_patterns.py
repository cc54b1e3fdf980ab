"""Teleport's pattern semantics on top of the RE2 translation in `_regex.py`.

- `regexp.match` and role matchers: a pattern wrapped in `^...$` is a Go regular expression,
  anything else a glob where `*` matches any run of characters (but not a line break, as Go's
  `.*`) and everything else is literal. Matching is Go's `MatchString`: a search, which the
  anchors make whole-string.
- `claims_to_roles`: Go's `ReplaceAllString` with `$1`/`${name}` expansion.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable

from teleport_access.where._regex import RegexError, compile_go

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


#: A compiled pattern's match function: a match object when the string matches, else None.
Matcher = Callable[[str], "re.Match[str] | None"]
#: A compiled Teleport pattern, or the reason it does not compile (cached either way).
Compiled = Matcher | RegexError


@functools.lru_cache(maxsize=2048)
def compile_teleport_pattern(expression: str) -> Compiled:
    """`regexp.match`'s pattern: a `^...$` regular expression or a glob, matched like Go does.

    Go calls `MatchString` on the pattern it compiled, so a raw regex is searched (its own
    anchors make it whole-string, and `^a|b$` really matches any string starting with a); a glob
    is anchored at both ends. Errors are returned, not raised, so they are cached too.
    """
    if not is_regexp(expression):
        # Fast path for globs: the same language, without a trip through the RE2 parser.
        pieces = [re.escape(piece) for piece in expression.split("*")]
        return re.compile("(?:" + ".*".join(pieces) + ")").fullmatch
    try:
        return compile_go(expression_to_regexp(expression)).search
    except RegexError as exc:
        return exc


def regex_matches_any(values: Iterable[str], expression: str) -> bool:
    """Teleport's utils.RegexMatchesAny. Raises RegexError for an invalid pattern."""
    compiled = compile_teleport_pattern(expression)
    if isinstance(compiled, RegexError):
        raise type(compiled)(compiled.code, compiled.expr)  # not the cached instance
    return any(compiled(value) is not None for value in values)


# ---------------------------------------------------------------------------------------------
# Go's Regexp.ReplaceAllString, for claims_to_roles


def _expand(template: str, match: re.Match[str], names: dict[str, int]) -> str:
    """Go's Regexp.Expand: `$1`, `${1}`, `$name`, `${name}`, `$$`; unknown references are empty."""
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
            rest[k].isalpha() or unicodedata.category(rest[k]) == "Nd" or rest[k] == "_"
        ):
            k += 1
        name = rest[1 if brace else 0 : k]
        if not name or (brace and (k >= len(rest) or rest[k] != "}")):
            out.append("$")
            i = dollar + 1
            continue
        if brace:
            k += 1
        i = dollar + 1 + k
        number = int(name) if name.isascii() and name.isdigit() and len(name) <= 8 else -1
        if name.startswith("0") and len(name) > 1:
            number = -1
        index = number if number >= 0 else names.get(name, -1)
        if 0 <= index <= (match.re.groups):
            group = match.group(index)
            if group is not None:
                out.append(group)


def replace_all(pattern: re.Pattern[str], names: dict[str, int], text: str, repl: str) -> str:
    """Go's ReplaceAllString: an empty match right after a previous match is not replaced."""
    out: list[str] = []
    last_end = 0
    pos = 0
    while pos <= len(text):
        match = pattern.search(text, pos)
        if match is None:
            break
        start, end = match.span()
        out.append(text[last_end:start])
        if end > last_end or start == 0:
            out.append(_expand(repl, match, names))
        last_end = end
        pos = pos + 1 if pos + 1 > end else end
    out.append(text[last_end:])
    return "".join(out)
