"""Role matchers and claims_to_roles, as Teleport's parse.NewMatcher and TraitsToRoleMatchers."""

from __future__ import annotations

import pytest

from teleport_access._models import ClaimMapping
from teleport_access.where._matchers import MatcherError, new_matcher, traits_to_role_matchers


def produced(mappings: list[ClaimMapping], traits: dict[str, list[str]]) -> list[str]:
    return [m.pattern for m in traits_to_role_matchers(mappings, traits, "idp")]


def test_a_template_strips_an_overlapping_prefix_and_suffix_like_go() -> None:
    # TrimPrefix("ab", "ab") is "", then TrimSuffix("", "b") is "": the inner text is empty.
    match = new_matcher('ab{{regexp.match("^$")}}b')
    assert match("ab") is True
    assert match("abb") is True
    assert match("abxb") is False


@pytest.mark.parametrize(
    "value",
    [
        "{{regexp.match(1)}}",
        '{{regexp.replace("a", "b")}}',
        '{{regexp.match("a", "b")}}',
        "{{internal.logins}}",
        "{{}}",
        '{{regexp.match("(")}}',
        "a}}b",
        '{{regexp.match("a")}}{{regexp.match("b")}}',
    ],
)
def test_invalid_matchers_are_refused(value: str) -> None:
    with pytest.raises(MatcherError):
        new_matcher(value)


def test_parenthesised_template_arguments_are_accepted() -> None:
    assert new_matcher('{{(regexp.match(("^a")))}}')("abc") is True


def test_claims_match_the_trait_value_ignoring_case_but_skip_case_only_matches() -> None:
    mapping = ClaimMapping(claim="groups", value="Admins", roles=("admin-reviewer",))
    assert produced([mapping], {"groups": ["Admins"]}) == ["admin-reviewer"]
    # Teleport warns that "admins" matches "Admins" only case-insensitively, and skips it.
    assert produced([mapping], {"groups": ["admins"]}) == []


def test_a_mapping_with_an_invalid_pattern_is_skipped() -> None:
    bad = ClaimMapping(claim="groups", value="^(x$", roles=("r",))
    good = ClaimMapping(claim="groups", value="x", roles=("s",))
    assert produced([bad, good], {"groups": ["x"]}) == ["s"]


def test_an_empty_expansion_produces_no_role() -> None:
    mapping = ClaimMapping(claim="groups", value="^team-(.*)$", roles=("$1",))
    assert produced([mapping], {"groups": ["team-"]}) == []


def test_a_non_matching_trait_value_skips_the_remaining_roles_of_that_value() -> None:
    mapping = ClaimMapping(claim="groups", value="ops", roles=("a", "b"))
    assert produced([mapping], {"groups": ["dev", "ops"]}) == ["a", "b"]


def test_a_produced_role_that_is_not_a_valid_matcher_is_an_error() -> None:
    mapping = ClaimMapping(claim="groups", value="ops", roles=("^(bad$",))
    with pytest.raises(MatcherError):
        traits_to_role_matchers([mapping], {"groups": ["ops"]}, "idp")


def test_a_role_with_a_dollar_reference_matches_literally() -> None:
    mapping = ClaimMapping(claim="groups", value="ops", roles=("x-$1*",))
    [matcher] = traits_to_role_matchers([mapping], {"groups": ["ops"]}, "idp")
    assert matcher.pattern == "x-*"
    assert matcher.match("x-*") is True
    assert matcher.match("x-anything") is False
    assert matcher.from_claims is True
