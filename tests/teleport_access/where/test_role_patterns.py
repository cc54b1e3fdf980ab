"""Role patterns for a configuration: Teleport's meaning, the whole-name one, where they differ."""

from __future__ import annotations

import pytest

from teleport_access.where import RolePattern, RolePatternError, compile_role_pattern


def test_a_glob_matches_whole_names_in_both_meanings() -> None:
    pattern = compile_role_pattern("dev-*")
    for role, expected in [("dev-db", True), ("dev-", True), ("xdev-db", False), ("dev", False)]:
        assert pattern.matches(role) is expected
        assert pattern.matches_whole_name(role) is expected
    assert not pattern.meanings_differ
    assert pattern.difference is None


def test_glob_characters_other_than_star_are_literal() -> None:
    pattern = compile_role_pattern("a.b+*")
    assert pattern.matches_whole_name("a.b+c")
    assert not pattern.matches_whole_name("axb+c")
    assert not pattern.matches_whole_name("a.bb")


def test_a_star_does_not_cross_a_line_break_as_in_go() -> None:
    assert not compile_role_pattern("*").matches("two\nlines")


def test_an_anchored_regex_means_the_same_in_both() -> None:
    pattern = compile_role_pattern("^db-(ro|rw)$")
    assert pattern.matches("db-ro")
    assert pattern.matches_whole_name("db-rw")
    assert not pattern.matches("db-ro-extra")
    assert not pattern.matches_whole_name("db-ro-extra")
    assert not pattern.meanings_differ


def test_a_top_level_alternation_means_a_search_to_teleport_and_says_how_to_fix_it() -> None:
    pattern = compile_role_pattern("^a|b$")
    assert pattern.matches("admin")  # Teleport: starts with a
    assert pattern.matches("web")  # or ends with b
    assert not pattern.matches_whole_name("admin")
    assert pattern.matches_whole_name("a")
    assert pattern.matches_whole_name("b")
    assert pattern.meanings_differ
    assert pattern.difference is not None
    assert "'^a|b$'" in pattern.difference
    assert "'^(?:a|b)$'" in pattern.difference


def test_alternatives_anchored_each_mean_the_same_in_both() -> None:
    assert not compile_role_pattern("^a$|^b$").meanings_differ
    assert not compile_role_pattern("^(?i)a$|^[b|]$").meanings_differ


@pytest.mark.parametrize(
    ("pattern", "teleport_only"),
    [
        (r"^a\$", "a$x"),  # the final $ is a literal: no end anchor
        (r"^\Qa$", "a$x"),  # quoted text
        ("^*a$", "xa"),  # a repeated ^ is optional
        ("^a$|b*$", "x"),  # an alternative that may match the empty end of any name
        ("^a(?m)$", "a\nx"),  # (?m): $ matches before a line break
    ],
)
def test_patterns_whose_anchors_do_not_hold_everywhere_are_reported(
    pattern: str, teleport_only: str
) -> None:
    compiled = compile_role_pattern(pattern)
    assert compiled.matches(teleport_only)
    assert not compiled.matches_whole_name(teleport_only)
    assert compiled.meanings_differ


def test_perl_classes_are_ascii_as_in_go() -> None:
    digits = compile_role_pattern(r"^team-\d+$")
    assert digits.matches_whole_name("team-42")
    assert not digits.matches_whole_name("team-٤٢")  # Arabic-Indic digits: Python's \d says yes
    word = compile_role_pattern(r"^\w+$")
    assert not word.matches_whole_name("équipe")


def test_matching_is_case_sensitive() -> None:
    assert not compile_role_pattern("Dev").matches("dev")
    assert compile_role_pattern("^(?i)dev$").matches("DEV")


def test_an_invalid_regex_is_a_value_error_with_gos_message() -> None:
    with pytest.raises(RolePatternError) as info:
        compile_role_pattern("^(x$")
    assert isinstance(info.value, ValueError)
    assert str(info.value) == (
        "invalid regular expression '^(x$': error parsing regexp: missing closing ): `^(x$`"
    )


def test_an_empty_pattern_is_refused() -> None:
    with pytest.raises(RolePatternError, match="must not be empty"):
        compile_role_pattern("")


def test_patterns_compare_by_their_text() -> None:
    assert compile_role_pattern("dev-*") == compile_role_pattern("dev-*")
    assert isinstance(compile_role_pattern("dev-*"), RolePattern)
    assert "dev-*" in repr(compile_role_pattern("dev-*"))
