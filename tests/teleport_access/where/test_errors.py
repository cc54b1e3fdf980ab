"""Error messages: the problem, the expression line, and a caret under the problem."""

from __future__ import annotations

import copy
import pickle

from teleport_access._exceptions import TeleportError
from teleport_access.where import (
    WhereError,
    WhereEvalError,
    WhereSyntaxError,
    WhereTypeError,
    parse,
)


def error_of(text: str, kind: str = "where") -> WhereError:
    try:
        parse(text, kind)  # type: ignore[arg-type]
    except WhereError as exc:
        return exc
    raise AssertionError(f"{text!r} parsed")


def test_the_error_tree_derives_from_teleport_error() -> None:
    for cls in (WhereSyntaxError, WhereTypeError, WhereEvalError):
        assert issubclass(cls, WhereError)
    assert issubclass(WhereError, TeleportError)


def test_a_type_error_shows_the_line_with_a_caret_under_the_identifier() -> None:
    error = error_of('equals(fully.fake.path,"should-fail")')
    assert str(error) == (
        'unknown identifier "fully.fake.path" (line 1, column 8)\n'
        '  equals(fully.fake.path,"should-fail")\n'
        "         ^~~~~~~~~~~~~~~\n"
        "hint: the variables are reviewer.roles, reviewer.traits, request.roles, "
        "request.reason, request.system_annotations"
    )
    assert (error.line, error.column, error.offset, error.end_offset) == (1, 8, 7, 22)
    assert error.text == 'equals(fully.fake.path,"should-fail")'
    assert error.problem == 'unknown identifier "fully.fake.path"'


def test_a_syntax_error_at_the_end_points_just_past_the_text() -> None:
    assert str(error_of("!")) == (
        "unexpected end of the expression; expected an operand (line 1, column 2)\n  !\n   ^"
    )


def test_an_error_on_a_later_line_shows_that_line_only() -> None:
    error = error_of('contains(reviewer.roles, "x") &&\n    contains(reviewer.rols, "y")')
    assert error.line == 2
    assert error.column == 14
    assert str(error).splitlines()[1:3] == [
        '      contains(reviewer.rols, "y")',
        "               ^~~~~~~~~~~~~",
    ]


def test_the_caret_keeps_tabs_and_counts_wide_characters_twice() -> None:
    tabbed = error_of('\tcontains(reviewer.x, "y")')
    assert str(tabbed).splitlines()[2] == "  \t         ^~~~~~~~~~"
    wide = error_of('equals(request.reason, "日本") && x')
    assert (
        str(wide).splitlines()[2]
        == "  " + " " * (len('equals(request.reason, "日本") && ') + 2) + "^"
    )


def test_a_long_line_is_shown_as_a_window_around_the_problem() -> None:
    text = " && ".join(['contains(reviewer.roles, "a")'] * 10) + ' && contains(reviewer.rols, "b")'
    error = error_of(text)
    shown, caret = str(error).splitlines()[1:3]
    assert len(shown) < 110
    assert shown.startswith("  …")
    assert shown[caret.index("^")] == "r"
    assert "reviewer.rols" in shown


def test_an_evaluation_error_points_at_the_pattern() -> None:
    expr = parse('regexp.match(request.roles, "^(unclosed$")')
    error = expr.problems[0]
    assert str(error).splitlines() == [
        'invalid regular expression "^(unclosed$": error parsing regexp: missing closing ): '
        "`^(unclosed$` (line 1, column 29)",
        '  regexp.match(request.roles, "^(unclosed$")',
        "                              ^~~~~~~~~~~~~",
    ]


def test_errors_pickle_and_copy_with_their_attributes() -> None:
    error = error_of('contains(reviewer.rols, "x")')
    for clone in (pickle.loads(pickle.dumps(error)), copy.copy(error)):
        assert type(clone) is WhereTypeError
        assert str(clone) == str(error)
        assert (clone.line, clone.column, clone.hint) == (error.line, error.column, error.hint)


def test_errors_can_be_built_directly_for_other_tools() -> None:
    error = WhereSyntaxError("bad thing", text="abc\ndef", offset=5, end_offset=7, hint="fix it")
    assert str(error) == "bad thing (line 2, column 2)\n  def\n   ^~\nhint: fix it"
