"""Go's lexical rules and expression grammar, as Teleport's parser sees them."""

from __future__ import annotations

import re

import pytest

from teleport_access.where import (
    Context,
    Request,
    WhereSyntaxError,
    WhereTypeError,
    parse,
)
from teleport_access.where._parser import MAX_NESTING


def reason_literal(literal: str) -> str:
    """The value of a string literal, read through the parser."""
    expr = parse(f"equals(request.reason, {literal})")
    node = expr._root.args[1]  # type: ignore[attr-defined]
    value: str = node.value
    return value


# -- string literals ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"plain"', "plain"),
        (r'"tab\there"', "tab\there"),
        (r'"\a\b\f\n\r\t\v\\\""', '\a\b\f\n\r\t\v\\"'),
        (r'"\x41\101"', "AA"),
        (r'"\u00e9\U0001F600"', "é\U0001f600"),
        (r'"\xc3\xa9"', "é"),  # \x escapes are bytes: these two make one UTF-8 character
        ('"é"', "é"),
        ("`raw \\n string`", "raw \\n string"),
        ("`two\nlines`", "two\nlines"),
        ("`carriage\r\nreturn`", "carriage\nreturn"),
        ('""', ""),
    ],
)
def test_go_string_literals_decode_as_go_decodes_them(literal: str, value: str) -> None:
    assert reason_literal(literal) == value


def test_a_byte_escape_that_is_not_utf8_never_equals_valid_text() -> None:
    expr = parse(r'equals(request.reason, "\xff")')
    assert expr.evaluate(Context(request=Request(reason="\xff"))) is False
    assert expr.evaluate(Context(request=Request(reason="ÿ"))) is False
    assert str(expr) == r'equals(request.reason, "\xff")'


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        (r'"\q"', r"unknown escape sequence \q"),
        (r'"\'"', r"unknown escape sequence \'"),
        (r'"\400"', "octal escape value > 255"),
        (r'"\12"', "illegal octal escape"),
        (r'"\x4"', r"illegal \x escape"),
        (r'"\uD800"', "invalid Unicode code point"),
        (r'"\U00110000"', "invalid Unicode code point"),
        ('"open', "string literal not terminated"),
        ('"line\nbreak"', "string literal not terminated"),
        ("`open", "raw string literal not terminated"),
        ("'a'", "single quotes make a Go rune literal"),
        ("'abc'", "single quotes make a Go rune literal"),
    ],
)
def test_malformed_literals_are_syntax_errors(literal: str, message: str) -> None:
    with pytest.raises(WhereSyntaxError, match=message.replace("\\", "\\\\")):
        parse(f"equals(request.reason, {literal})")


def test_a_rune_literal_error_suggests_double_quotes() -> None:
    with pytest.raises(WhereSyntaxError) as info:
        parse("contains(reviewer.roles, 'admin')")
    assert info.value.hint == 'strings use double quotes: "admin"'


# -- numbers -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1 == 1", "017 == 17", "0 == 0"])
def test_decimal_integers_compare_as_teleport_reads_them_with_atoi(text: str) -> None:
    assert parse(text).evaluate(Context()) is True


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0x10 == 16", "integer literal 0x10 is not supported"),
        ("1_000 == 1000", "integer literal 1_000 is not supported"),
        ("08 == 8", "invalid digit '8' in octal literal"),
        ("1i == 1i", "imaginary number"),
        ("99999999999999999999 == 1", "out of range"),
        ("1e999 == 1", "out of range"),
        ("1e == 1", "malformed"),
    ],
)
def test_number_forms_teleport_cannot_read_are_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(WhereSyntaxError, match=message):
        parse(text)


# -- comments, line breaks and automatic semicolons -----------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'contains(reviewer.roles, "x") // a comment',
        'contains(reviewer.roles, "x") /* a comment */',
        '/* leading */ contains(reviewer.roles, "x")',
        'contains(reviewer.roles, "x") &&\n  contains(reviewer.roles, "y")',
        'contains(\n  reviewer.roles,\n  "x",\n)',
        'contains(reviewer.roles, "x")\n',
        '\ufeffcontains(reviewer.roles, "x")',
        'contains(reviewer.roles, "x") /* spans\nlines */',
    ],
)
def test_comments_and_line_breaks_where_go_allows_them(text: str) -> None:
    assert str(parse(text)).startswith("contains(reviewer.roles")


@pytest.mark.parametrize(
    "text",
    [
        'contains(reviewer.roles, "x")\n&& contains(reviewer.roles, "y")',
        'contains(reviewer.roles, "x"\n)',
        '(contains(reviewer.roles, "x")\n|| contains(reviewer.roles, "y"))',
        'contains(reviewer.roles, "x") // comment\n&& contains(reviewer.roles, "y")',
    ],
)
def test_a_line_break_after_an_operand_ends_the_expression_as_in_go(text: str) -> None:
    with pytest.raises(WhereSyntaxError) as info:
        parse(text)
    assert info.value.hint is not None
    assert "line break" in info.value.hint
    assert info.value.line == 2 or "line break" in info.value.problem


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty expression"),
        ("   \n ", "empty expression"),
        ('contains(reviewer.roles, "x") /* open', "comment not terminated"),
        ('contains(reviewer.roles, "x") # note', "illegal character U+0023"),
        ("contains(reviewer.roles, \u201cx\u201d)", "illegal character U+201C"),
        ('contains(reviewer.roles, "x");', "unexpected"),
        ('contains(reviewer.roles, "x\x00")', "illegal character NUL"),
        ('contains(reviewer.roles, "\ud800")', "invalid UTF-8"),
        ('contains(reviewer.roles, "\ufeff")', "illegal byte order mark"),
        ("contains(reviewer.roles, x²)", "illegal character U+00B2"),
    ],
)
def test_lexical_errors(text: str, message: str) -> None:
    with pytest.raises(WhereSyntaxError, match=re.escape(message)):
        parse(text)


# -- grammar -----------------------------------------------------------------------------------

A = 'contains(reviewer.roles, "a")'
B = 'contains(reviewer.roles, "b")'
C = 'contains(reviewer.roles, "c")'


@pytest.mark.parametrize(
    ("text", "normalised"),
    [
        (f"{A} || {B} && {C}", f"{A} || {B} && {C}"),
        (f"({A} || {B}) && {C}", f"({A} || {B}) && {C}"),
        (f"{A} && {B} && {C}", f"{A} && {B} && {C}"),
        (f"{A} && ({B} && {C})", f"{A} && ({B} && {C})"),
        (f"(({A}))", A),
        (f"!!{A}", f"!!{A}"),
        (f"!({A} && {B})", f"!({A} && {B})"),
        ('request.reason == "x"', 'request.reason == "x"'),
        ('!(request.reason != "x")', '!(request.reason != "x")'),
        ("reviewer.traits.team", None),
    ],
)
def test_precedence_and_grouping_survive_normalisation(text: str, normalised: str | None) -> None:
    if normalised is None:
        with pytest.raises(WhereTypeError):
            parse(text)
        return
    assert str(parse(text)) == normalised


def test_comparison_binds_tighter_than_and() -> None:
    expr = parse('request.reason == "a" && request.reason != "b"')
    assert expr.evaluate(Context(request=Request(reason="a"))) is True
    assert expr.evaluate(Context(request=Request(reason="b"))) is False


def test_a_trailing_comma_in_a_call_is_allowed_as_in_go() -> None:
    assert str(parse('contains(reviewer.roles, "x",)')) == 'contains(reviewer.roles, "x")'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("-1 == 1", "unary operator - is not supported"),
        ('^contains(reviewer.roles, "x")', "unary operator ^ is not supported"),
        ("1 + 1 == 2", "operator + is not supported"),
        ("1 < 2", "operator < is not supported"),
        ('contains(reviewer.roles, "x") & contains(reviewer.roles, "y")', "operator &"),
        ('contains(reviewer.roles, "x") = true', "unexpected"),
        ("contains(reviewer.roles...)", "variadic"),
        ('contains(reviewer.roles "x")', "expected ',' or ')'"),
        ("contains(reviewer.roles, [x])", "list literals are not supported"),
        ('contains([]string{"a"}, "a")', "list literals are not supported"),
        ("reviewer.roles[0:1]", "slice expressions"),
        ('reviewer.traits["a", "b"]', "single key"),
        ("reviewer.traits[]", "expected an index expression"),
        ("reviewer.(string)", "type assertions"),
        ("func() bool { return true }()", "function literals"),
        ("map[string]string{}", "map types"),
        ("if x", "Go keyword 'if'"),
        ("reviewer.traits.type", "expected a name after '.'"),
        ("reviewer.traits.1", "expected a name after '.'"),
        ("reviewer{}", "composite literals"),
        ('(contains(reviewer.roles, "x")', "expected ')'"),
        ('contains(reviewer.roles, "x"))', "unexpected"),
        ('contains(reviewer.roles, "x") contains(reviewer.roles, "y")', "unexpected"),
        ("&& missing-left", "expected an operand"),
        ("!", "unexpected end"),
    ],
)
def test_go_constructs_outside_the_language_are_syntax_errors(text: str, message: str) -> None:
    with pytest.raises(WhereSyntaxError, match=re.escape(message)):
        parse(text)


def test_a_hyphenated_dot_key_suggests_index_syntax() -> None:
    with pytest.raises(WhereSyntaxError) as info:
        parse('contains(reviewer.traits.my-team, "x")')
    assert info.value.hint == 'a map key with "-" needs index syntax: reviewer.traits["my-team"]'


def test_a_keyword_dot_key_suggests_index_syntax() -> None:
    with pytest.raises(WhereSyntaxError) as info:
        parse('contains(reviewer.traits.type, "x")')
    assert info.value.hint == 'write map keys that are not Go names as reviewer.traits["key"]'


def test_assignment_suggests_the_comparison_operator() -> None:
    with pytest.raises(WhereSyntaxError) as info:
        parse('request.reason = "x"')
    assert info.value.hint is not None
    assert "==" in info.value.hint


def test_nesting_beyond_the_limit_is_a_syntax_error_not_a_crash() -> None:
    deep = "(" * (MAX_NESTING + 1) + A + ")" * (MAX_NESTING + 1)
    with pytest.raises(WhereSyntaxError, match="nests more than"):
        parse(deep)
    with pytest.raises(WhereSyntaxError, match="nests more than"):
        parse("!" * (MAX_NESTING + 1) + A)
    with pytest.raises(WhereSyntaxError, match="nests more than"):
        parse('request.reason == "a"' + ' == "a"' * (MAX_NESTING + 1))


def test_nesting_at_the_limit_parses() -> None:
    text = "(" * (MAX_NESTING - 1) + A + ")" * (MAX_NESTING - 1)
    assert str(parse(text)) == A


def test_very_long_and_chains_do_not_nest() -> None:
    text = " && ".join([A] * 5000)
    expr = parse(text)
    assert expr.evaluate(Context()) is False
    assert str(expr) == text
