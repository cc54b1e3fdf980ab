"""The errors of the predicate language and of schedules.

    TeleportError
    ├── PredicateError             text, line, column; str() shows the line and a caret
    │   ├── PredicateParseError    the text is not a condition of the language: Go syntax, unknown
    │   │                          names, wrong number or static type of arguments, unsupported
    │   │                          operators (Teleport reports all of these when it parses)
    │   └── PredicateEvalError     evaluation failed: a value of the wrong type at run time, an
    │                              invalid regular expression or time, email.local on a
    │                              non-address, choose() without a true option, ...
    └── ScheduleError              a rule schedule that cannot be evaluated: an unknown time zone,
                                   a start or end that is not HH:MM

`problem` is Teleport's own message for the error (without the outermost "parsing expression: " or
"evaluating access monitoring rule condition expression" wrappers), so logs read like Teleport's.
Positions are 1-based and count characters (code points), not bytes.
"""

from __future__ import annotations

from teleport_access._exceptions import TeleportError

# One caret renderer for both languages: the `where` language owns it.
from teleport_access.where._errors import _render as render_caret


class PredicateError(TeleportError):
    """A problem in a predicate condition.

    `problem` is the one-line description, `text` the whole condition, `offset`/`end_offset` the
    0-based character span the problem is about, `line`/`column` the 1-based start of that span
    and `hint` an optional suggestion. `str(err)` is the problem, the condition's line with a caret
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
        super().__init__(
            render_caret(problem, text, offset, end, self.line, self.column, hint)
            if text
            else problem
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Keyword-only constructor: teach pickle (and copy) how to rebuild the error.
        return (
            _rebuild,
            (type(self), self.problem, self.text, self.offset, self.end_offset, self.hint),
        )


def _rebuild(
    cls: type[PredicateError], problem: str, text: str, offset: int, end: int, hint: str | None
) -> PredicateError:
    return cls(problem, text=text, offset=offset, end_offset=end, hint=hint)


class PredicateParseError(PredicateError):
    """The text is not a valid condition; Teleport would refuse to save the rule."""


class PredicateEvalError(PredicateError):
    """Evaluating the condition failed for this request. Never a silent false."""


class ScheduleError(TeleportError):
    """A rule's schedule cannot be evaluated; Teleport skips such a rule with a warning."""
