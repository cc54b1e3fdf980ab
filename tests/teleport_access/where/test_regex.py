"""Go's regular expressions on RE2: Go's syntax, errors and matching semantics, linear time."""

from __future__ import annotations

import time

import pytest

from teleport_access.where._patterns import (
    compile_teleport_pattern,
    glob_to_regexp,
    quote_meta,
    regex_matches_any,
)
from teleport_access.where._regex import RegexError, UnsupportedRegex, compile_go, tokens


def go_match(pattern: str, text: str) -> bool:
    """Go's regexp.MustCompile(pattern).MatchString(text)."""
    return compile_go(pattern).search(text)


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        # Anchors: Go's $ (without m) is the end of the text, not before a final newline.
        ("^dev$", "dev", True),
        ("^dev$", "dev\n", False),
        ("^a|b$", "axxx", True),
        ("^a|b$", "xxxb", True),
        ("^a|b$", "xxx", False),
        (r"\Aab\z", "ab", True),
        (r"\Aab\z", "ab\n", False),
        ("(?m)^b$", "a\nb\nc", True),
        ("^b$", "a\nb\nc", False),
        # . does not match a line break unless (?s).
        ("^a.b$", "a\nb", False),
        ("(?s)^a.b$", "a\nb", True),
        ("^a[^x]b$", "a\nb", True),
        # Perl classes are ASCII-only in Go.
        (r"^\d+$", "123", True),
        (r"^\d+$", "١٢٣", False),
        (r"^\w+$", "héllo", False),
        (r"^\w+$", "hello_1", True),
        (r"^\s$", "\v", False),
        (r"^\s$", "\t", True),
        (r"^\S$", "\v", True),
        (r"\bfoo\b", "a foo b", True),
        (r"\bfoo\b", "éfooé", True),
        (r"\Bfoo", "xfoo", True),
        (r"\Bfoo", "foo", False),
        # Flags may appear anywhere and last until the end of the group.
        ("a(?i)b", "aB", True),
        ("a(?i)b", "AB", False),
        ("(?i:a)b", "Ab", True),
        ("(?i:a)b", "AB", False),
        ("(a(?i)b)c", "aBc", True),
        ("(a(?i)b)c", "aBC", False),
        ("(?i)x|y", "Y", True),
        ("(?i)k", "\u212a", True),
        ("(?i-i)a", "A", False),
        # POSIX classes, escapes and quoting.
        ("^[[:alpha:]]+$", "abcXYZ", True),
        ("^[[:alpha:]]+$", "ab1", False),
        ("^[[:^digit:]]+$", "ab", True),
        (r"^\Qa.b\E$", "a.b", True),
        (r"^\Qa.b\E$", "axb", False),
        (r"^\Qa.b$", "a.b$", True),
        (r"^\x41\x{42}\101$", "ABA", True),
        (r"^\0$", "\x00", True),
        (r"^\_$", "_", True),
        (r"^\pL+$", "héllo", True),
        (r"^\p{Lu}$", "É", True),
        (r"^\PL$", "1", True),
        (r"^\p{^L}$", "1", True),
        (r"^[\p{Nd}x]+$", "x1", True),
        (r"^\pN$", "Ⅻ", True),
        ("^[^a]$", "\n", True),
        ("^[]a]+$", "]a]", True),
        ("^[a-]+$", "a-", True),
        (r"^[\d-z]+$", "1-z", True),
        # Braces that are not a repetition are literal text.
        ("^a{,3}$", "a{,3}", True),
        ("^a{01}$", "a{01}", True),
        ("^a{2}$", "aa", True),
        ("^a{2,}$", "aaaa", True),
        ("^a{2,3}$", "aaaa", False),
        ("^x{1}}$", "x}", True),
        # Empty alternatives and groups, repeated assertions.
        ("^(|a)$", "", True),
        ("^()$", "", True),
        ("^*$", "", True),
        (r"^(?:\b)*x$", "x", True),
        ("a*(?i)*", "", True),
        # Named groups in both spellings.
        ("^(?P<x>a)(?<y>b)$", "ab", True),
        ("(?)^a$", "a", True),
        # Lazy and (?U) quantifiers match the same strings.
        ("^a+?$", "aaa", True),
        ("(?U)^a+$", "aaa", True),
    ],
)
def test_go_patterns_match_as_go_matches_them(pattern: str, text: str, expected: bool) -> None:
    assert go_match(pattern, text) is expected


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("^(unclosed$", "missing closing ): `^(unclosed$`"),
        ("a)", "unexpected ): `a)`"),
        ("[a", "missing closing ]: `[a`"),
        ("a**", "invalid nested repetition operator: `**`"),
        ("a*+", "invalid nested repetition operator: `*+`"),
        ("a++", "invalid nested repetition operator: `++`"),
        ("a{2}{3}", "invalid nested repetition operator: `{2}{3}`"),
        ("a*??", "invalid nested repetition operator: `*??`"),
        ("*a", "missing argument to repetition operator: `*`"),
        ("a|*", "missing argument to repetition operator: `*`"),
        ("(*)", "missing argument to repetition operator: `*`"),
        ("(?i)*", "missing argument to repetition operator: `*`"),
        ("{2}", "missing argument to repetition operator: `{2}`"),
        ("a{1001}", "invalid repeat count: `{1001}`"),
        ("a{3,2}", "invalid repeat count: `{3,2}`"),
        ("(a{100}){100}", "invalid repeat count: `{100}`"),
        (r"(\1)", "invalid escape sequence: `\\1`"),
        (r"\8", "invalid escape sequence: `\\8`"),
        (r"\Z", "invalid escape sequence: `\\Z`"),
        (r"\C", "invalid escape sequence: `\\C`"),
        (r"\e", "invalid escape sequence: `\\e`"),
        (r"[\b]", "invalid escape sequence: `\\b`"),
        ("\\", "trailing backslash at end of expression"),
        ("(?=x)", "invalid or unsupported Perl syntax: `(?=`"),
        ("(?!x)", "invalid or unsupported Perl syntax: `(?!`"),
        ("(?<=x)y", "invalid named capture"),
        ("(?<!x)y", "invalid named capture"),
        ("(?>x)", "invalid or unsupported Perl syntax"),
        ("(?#c)", "invalid or unsupported Perl syntax"),
        ("(?P=n)", "invalid or unsupported Perl syntax"),
        ("(?x)a", "invalid or unsupported Perl syntax"),
        ("(?i-)a", "invalid or unsupported Perl syntax"),
        ("(?P<>a)", "invalid named capture"),
        ("(?P<a-b>x)", "invalid named capture"),
        ("(?P<n>a)(?P<n>b)", "duplicate capture group name"),
        ("[z-a]", "invalid character class range: `z-a`"),
        ("[[:foo:]]", "invalid character class range: `[:foo:]`"),
        (r"\p{Foo}", "invalid character class range: `\\p{Foo}`"),
        (r"[a-\d]", "invalid escape sequence: `\\d`"),
        ("\udcff", "invalid UTF-8"),
        # Refused by Go although RE2 accepts them.
        (r"a\Cb", "invalid escape sequence: `\\C`"),
        ("(?P<é>a)", "invalid named capture: `(?P<é>`"),
        ("(?<n1>a)(?<n1>b)", "duplicate capture group name: `n1`"),
        # RE2 says "invalid perl operator"; Go reads `(?<` as the start of a group name.
        ("a(?<=x>)", "invalid named capture: `(?<=x>`"),
        (r"[(?<=]x(?<!y)", "invalid named capture: `(?<!y)`"),
    ],
)
def test_patterns_go_rejects_are_rejected_with_gos_message(pattern: str, message: str) -> None:
    with pytest.raises(RegexError) as info:
        compile_go(pattern)
    assert not isinstance(info.value, UnsupportedRegex)
    assert message in str(info.value)
    assert str(info.value).startswith("error parsing regexp: ")


def test_re2_errors_take_gos_wording_and_argument() -> None:
    with pytest.raises(RegexError) as info:
        compile_go("(a")
    assert str(info.value) == "error parsing regexp: missing closing ): `(a`"
    assert (info.value.code, info.value.expr) == ("missing closing )", "(a")


def test_a_trailing_backslash_has_gos_empty_argument() -> None:
    with pytest.raises(RegexError) as info:
        compile_go("a\\")
    assert str(info.value) == "error parsing regexp: trailing backslash at end of expression: ``"


def test_a_refused_pattern_writes_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RegexError):
        compile_go("(unclosed")
    assert capfd.readouterr().err == ""


def test_escapes_that_look_like_go_refusals_but_are_literal_text_compile() -> None:
    assert go_match(r"^\QC\C\E$", "C\\C")
    assert go_match(r"^\\C$", "\\C")
    assert go_match("^(?P<x>a)|(?P<y>b)$", "b")


def test_a_pattern_too_large_for_re2_is_unsupported_with_re2s_reason() -> None:
    with pytest.raises(UnsupportedRegex) as info:
        compile_go(r"\pL{1000}")
    assert "pattern too large" in str(info.value)
    assert not str(info.value).startswith("error parsing regexp")


def test_unicode_script_classes_match() -> None:
    assert go_match(r"^\p{Greek}+$", "αβγ")
    assert not go_match(r"^\p{Greek}+$", "abc")
    assert go_match(r"^\P{Han}$", "x")


def test_deeply_nested_groups_compile_and_match() -> None:
    pattern = "(" * 500 + "a" + ")" * 500
    assert go_match(pattern, "a")


def test_groups_capture_only_when_asked() -> None:
    assert compile_go("(a)(b)").groups == 0  # RE2 still counts named groups: harmless
    compiled = compile_go("(a)(?P<n>b)", capture=True)
    assert compiled.groups == 2
    assert compiled.group_names == {"n": 2}


def test_a_lone_surrogate_in_the_text_is_searched_as_the_replacement_character() -> None:
    assert go_match("^a.b$", "a\ud800b")
    assert go_match("^a\ufffdb$", "a\udfffb")
    assert not go_match("^ab$", "a\ud800b")


def test_not_word_boundary_is_looked_for_between_characters_only_as_in_go() -> None:
    # Every character boundary of "_αA" is a word boundary; RE2 alone would find \B between
    # the two bytes of α.
    assert not go_match(r"\B", "_αA")
    assert go_match(r"\B", "é")  # at the start: no word character on either side
    assert compile_go(r"\B", capture=True).replace_all("aé", "-") == "aé-"


def test_matching_counts_characters_not_bytes() -> None:
    assert go_match("^.{3}$", "äöü")
    assert not go_match("^.{6}$", "äöü")


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("^(a+)+$", "a" * 64 + "b"),
        ("^(a|aa)*$", "a" * 64 + "b"),
        ("^(a*)*b$", "a" * 5000),
        ("^(.*a){20}$", "a" * 5000 + "b"),
        ("(x+x+)+y", "x" * 5000),
    ],
)
def test_patterns_that_make_backtracking_engines_explode_are_answered_at_once(
    pattern: str, text: str
) -> None:
    started = time.perf_counter()
    assert not go_match(pattern, text)
    assert time.perf_counter() - started < 1.0  # a backtracking engine takes hours


def test_globs_with_many_stars_are_answered_at_once() -> None:
    started = time.perf_counter()
    assert not regex_matches_any(["a" * 5000], "*a*a*a*a*a*a*a*a*a*a*b")
    assert time.perf_counter() - started < 1.0


# -- the lexical scan ------------------------------------------------------------------------


def kinds(pattern: str) -> list[tuple[str, str]]:
    return [(token.kind, pattern[token.start : token.end]) for token in tokens(pattern)]


def test_the_scan_keeps_classes_escapes_and_quoted_text_whole() -> None:
    assert kinds(r"[]|)]\Q|)\E\)\p{Greek}[[:alpha:]|]") == [
        ("atom", "[]|)]"),
        ("atom", "\\Q|)\\E"),
        ("atom", "\\)"),
        ("atom", "\\p{Greek}"),
        ("atom", "[[:alpha:]|]"),
    ]


def test_the_scan_tells_groups_flags_and_repetitions_apart() -> None:
    assert kinds("^(?i)(?P<n>a)(?:b)*?{2,3}{01}|$") == [
        ("begin", "^"),
        ("flags", "(?i)"),
        ("open", "(?P<n>"),
        ("atom", "a"),
        ("close", ")"),
        ("open", "(?:"),
        ("atom", "b"),
        ("close", ")"),
        ("repeat", "*?"),
        ("repeat", "{2,3}"),
        ("atom", "{"),
        ("atom", "0"),
        ("atom", "1"),
        ("atom", "}"),
        ("alt", "|"),
        ("end", "$"),
    ]
    assert [t.name for t in tokens("(?P<n>a)(?<m>b)(c)")][::3] == ["n", "m", None]


# -- Teleport's glob / regex patterns --------------------------------------------------------


def test_quote_meta_escapes_what_go_escapes() -> None:
    assert quote_meta(r"a.b+c*d?e(f)g|h[i]j{k}l^m$n\o") == (
        r"a\.b\+c\*d\?e\(f\)g\|h\[i\]j\{k\}l\^m\$n\\o"
    )


def test_glob_to_regexp_turns_each_star_into_a_capture_group() -> None:
    assert glob_to_regexp("team-*.eu-*") == r"team-(.*)\.eu-(.*)"


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "anything", True),
        ("*", "two\nlines", False),  # Go's .* stops at a line break
        ("dev", "dev", True),
        ("dev", "developer", False),
        ("^dev", "^dev", True),  # starts with ^ but does not end with $: a glob
        ("dev$", "dev$", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("[x]", "[x]", True),
        ("^$", "", True),
        ("^$", "x", False),
    ],
)
def test_teleport_patterns_are_globs_unless_wrapped_in_caret_and_dollar(
    pattern: str, value: str, expected: bool
) -> None:
    assert regex_matches_any([value], pattern) is expected


def test_compiled_patterns_and_their_errors_are_cached() -> None:
    assert compile_teleport_pattern("^a+$") is compile_teleport_pattern("^a+$")
    first = compile_teleport_pattern("^(bad$")
    assert isinstance(first, RegexError)
    assert compile_teleport_pattern("^(bad$") is first


def test_regex_matches_any_raises_for_an_invalid_pattern() -> None:
    with pytest.raises(RegexError):
        regex_matches_any(["x"], "^(bad$")


# -- Go's ReplaceAllString, for claims_to_roles ----------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "text", "template", "expected"),
    [
        ("^team-(.*)$", "team-dev", "$1-reviewer", "dev-reviewer"),
        ("^team-(.*)$", "team-dev", "${1}x", "devx"),
        ("^team-(.*)$", "team-dev", "$1x", ""),  # $1x is ${1x}: no such group
        ("^team-(.*)$", "team-dev", "$$1", "$1"),
        ("^team-(.*)$", "team-dev", "$2", ""),
        ("^team-(.*)$", "team-dev", "a$", "a$"),
        ("^team-(.*)$", "team-dev", "${1", "${1"),
        ("^(?P<name>.*)@example.com$", "ann@example.com", "user-${name}", "user-ann"),
        ("^(?P<name>.*)@example.com$", "ann@example.com", "user-$name", "user-ann"),
        ("^(a)?b$", "b", "[$1]", "[]"),
        ("x*", "abxd", "-", "-a-b-d-"),  # no empty match right after a match
        ("a|", "baaac", "<$0>", "<>b<a><a><a>c<>"),
        ("b", "abcbd", "X", "aXcXd"),
        ("(?i)^TEAM-(.*)$", "team-Dev", "$1", "Dev"),
    ],
)
def test_replace_all_follows_gos_replace_all_string(
    pattern: str, text: str, template: str, expected: str
) -> None:
    assert compile_go(pattern, capture=True).replace_all(text, template) == expected
