"""The errors of the `where` language, each pointing at the place in the expression it is about.

    TeleportError
    └── WhereError             text, line, column; str() shows the line, a caret under the problem
        ├── WhereSyntaxError   the text is not an expression of the language (Go syntax, literals,
        │                      operators the dialect lacks, nesting limits)
        ├── WhereTypeError     names and types: unknown identifier or function, wrong number or type
        │                      of arguments, a non-boolean condition
        └── WhereEvalError     evaluation failed: an invalid regular expression, `equals` on
                               mismatched types, an invalid role matcher in `can_review`

Parse errors (the first two) are raised by `parse`; evaluation errors by `Expression.evaluate`
and `can_review`. Positions are 1-based and count characters (code points), not bytes.
"""

from __future__ import annotations

import unicodedata

from teleport_access._exceptions import TeleportError

#: Lines longer than this are shown as a window around the problem.
_MAX_SHOWN = 100


class WhereError(TeleportError):
    """A problem in a `where` or threshold-filter expression.

    `problem` is the one-line description, `text` the whole expression, `offset`/`end_offset` the
    0-based character span the problem is about, `line`/`column` the 1-based start of that span
    and `hint` an optional suggestion. `str(err)` is the problem, the expression line with a caret
    under the span, and the hint.
    """

    def __init__(
        self,
        problem: str,
        *,
        text: str,
        offset: int,
        end_offset: int | None = None,
        hint: str | None = None,
    ) -> None:
        offset = max(0, min(offset, len(text)))
        end = offset + 1 if end_offset is None else max(offset + 1, min(end_offset, len(text) + 1))
        line_start = text.rfind("\n", 0, offset) + 1
        self.problem = problem
        self.text = text
        self.offset = offset
        self.end_offset = end
        self.line = text.count("\n", 0, offset) + 1
        self.column = offset - line_start + 1
        self.hint = hint
        super().__init__(_render(problem, text, offset, end, self.line, self.column, hint))

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor: teach pickle (and copy) how to rebuild the error.
        return (
            _rebuild,
            (type(self), self.problem, self.text, self.offset, self.end_offset, self.hint),
        )


def _rebuild(
    cls: type[WhereError], problem: str, text: str, offset: int, end: int, hint: str | None
) -> WhereError:
    return cls(problem, text=text, offset=offset, end_offset=end, hint=hint)


class WhereSyntaxError(WhereError):
    """The text is not a valid expression: a Go syntax error or a construct the language lacks."""


class WhereTypeError(WhereError):
    """An unknown name, a wrong number or type of arguments, or a condition that is not boolean."""


class WhereEvalError(WhereError):
    """Evaluation failed, e.g. on an invalid regular expression. Never a silent false."""


def _width(char: str) -> int:
    """Terminal columns a character takes, so the caret lines up under wide and combining text."""
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def _pad(prefix: str) -> str:
    # Keep tabs as tabs so the caret lands under the same column as the text above it.
    return "".join("\t" if c == "\t" else " " * _width(c) for c in prefix)


def _render(
    problem: str, text: str, offset: int, end: int, line: int, column: int, hint: str | None
) -> str:
    line_start = offset - column + 1
    line_end = text.find("\n", line_start)
    if line_end < 0:
        line_end = len(text)
    source = text[line_start:line_end]
    start = offset - line_start
    stop = max(start + 1, min(end - line_start, len(source) + 1))
    shown, left_cut = source, 0
    if len(source) > _MAX_SHOWN:
        left_cut = max(0, min(start - _MAX_SHOWN // 3, len(source) - _MAX_SHOWN))
        shown = source[left_cut : left_cut + _MAX_SHOWN]
        stop = min(stop, left_cut + _MAX_SHOWN + 1)
        if left_cut:
            shown = "…" + shown
            left_cut -= 1
        if left_cut + _MAX_SHOWN + 1 < len(source):
            shown += "…"
    shown = shown.replace("\r", " ")
    caret_prefix = _pad(shown[: start - left_cut])
    underline = "^" + "~" * max(0, sum(_width(c) for c in source[start + 1 : stop]))
    where = f"line {line}, column {column}"
    lines = [f"{problem} ({where})", f"  {shown}", f"  {caret_prefix}{underline}"]
    if hint:
        lines.append(f"hint: {hint}")
    return "\n".join(lines)
