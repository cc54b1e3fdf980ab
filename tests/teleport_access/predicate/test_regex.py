"""regexp.match and regexp.replace on the engine shared with `where` (Go's regexp on RE2):
Teleport's glob/regex rules, Go's ReplaceAllString and Expand, Go's errors, linear time."""

from __future__ import annotations

import time

import pytest

from teleport_access.predicate import Environment, parse
from teleport_access.where._patterns import compile_teleport_pattern
from teleport_access.where._patterns import expression_to_regexp as teleport_pattern
from teleport_access.where._regex import RegexError, compile_go


@pytest.mark.parametrize(
    ("expression", "pattern"),
    [
        ("dev", "^dev$"),
        ("dev-*", "^dev-(.*)$"),
        ("a.b+c", "^a\\.b\\+c$"),
        ("^raw.*$", "^raw.*$"),
        ("^not raw", "^\\^not raw$"),
    ],
)
def test_teleport_pattern_is_a_glob_unless_anchored_at_both_ends(
    expression: str, pattern: str
) -> None:
    assert teleport_pattern(expression) == pattern


def test_a_raw_regex_is_searched_with_its_own_anchors() -> None:
    matcher = compile_teleport_pattern("^a|b$")
    assert not isinstance(matcher, RegexError)
    assert matcher("axxx")
    assert matcher("xxxb")
    assert not matcher("xbx")


def test_invalid_patterns_give_gos_messages() -> None:
    error = compile_teleport_pattern("^(a$")
    assert isinstance(error, RegexError)
    assert str(error) == "error parsing regexp: missing closing ): `^(a$`"


@pytest.mark.parametrize(
    ("pattern", "text", "template", "result"),
    [
        ("a*", "baaac", "X", "XbXcX"),
        ("", "abc", "-", "-a-b-c-"),
        ("(a)(b)?", "ac", "[$2]", "[]c"),
        ("(?P<x>a)", "ab", "${x}$x$$", "aa$b"),
        ("(a)", "a", "$1x", ""),  # "$1x" names the group "1x", which does not exist
        ("(a)", "a", "${1}x", "ax"),
        ("(a)", "a", "$", "$"),
        ("(a)", "a", "${1", "${1"),
        ("x", "é x é", "y", "é y é"),
    ],
)
def test_replace_all_follows_go(pattern: str, text: str, template: str, result: str) -> None:
    assert compile_go(pattern, capture=True).replace_all(text, template) == result


def test_text_that_is_not_utf8_matches_as_replacement_characters() -> None:
    # "\xff" in a Go string literal is one byte that is not UTF-8; Go's regexp reads U+FFFD.
    assert parse('regexp.match(set("\\xff"), "^\\uFFFD$")').matches(Environment())


def test_a_pattern_that_is_not_utf8_is_an_error() -> None:
    with pytest.raises(RegexError, match="invalid UTF-8"):
        compile_go("\udcff")


def test_pathological_pattern_on_long_input_is_linear() -> None:
    # (a+)+$ against "aaaa...b" takes exponential time in a backtracking engine.
    env = Environment(user_traits={"x": ["a" * 50_000 + "b"]})
    match = parse('regexp.match(user.traits.x, "^(a+)+$")')
    replace = parse('regexp.replace(user.traits.x, "(a|aa)+$", "z").isempty()')
    started = time.perf_counter()
    assert not match.matches(env)
    assert replace.matches(env)
    assert time.perf_counter() - started < 1.0
