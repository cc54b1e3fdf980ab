"""teleport_pd_cli._email: Go's ParseAddress-equals-original check and safe email comparison."""

from __future__ import annotations

import pytest

from teleport_pd_cli._email import fold_email, is_exact_email, same_email


@pytest.mark.parametrize(
    "text",
    [
        "alice@example.com",
        "a@b",
        "a.b+tag@x.example.co",
        "o'neil@example.com",
        "x!#$%&*/=?^_`{|}~-@example.com",
        "用户@例子.广告",
        "аlice@example.com",  # Cyrillic а: Go accepts any non-ASCII atom character
    ],
)
def test_a_bare_addr_spec_is_an_exact_email(text: str) -> None:
    assert is_exact_email(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "alice",
        "@example.com",
        "alice@",
        "alice@@example.com",
        "a@b@c",
        ".alice@example.com",
        "alice.@example.com",
        "al..ice@example.com",
        "alice@example.com.",
        "alice@example..com",
        "alice smith@example.com",
        "<alice@example.com>",
        "Alice <alice@example.com>",
        "alice@example.com (Alice)",
        "(comment)alice@example.com",
        " alice@example.com",
        "alice@example.com ",
        "alice@example.com\n",
        "\talice@example.com",
        '"alice"@example.com',
        '"alice smith"@example.com',
        "alice@[127.0.0.1]",
        "a,b@example.com",
        "a;b@example.com",
        "a\\b@example.com",
        "alice＠example.com",  # FULLWIDTH COMMERCIAL AT is not "@"
        "alice@exa mple.com",
        "alice@example.com\x00",
    ],
)
def test_anything_else_is_not_an_exact_email(text: str) -> None:
    assert not is_exact_email(text)


def test_emails_compare_case_insensitively_for_ascii_letters() -> None:
    assert same_email("Alice.Smith@Example.COM", "alice.smith@example.com")


@pytest.mark.parametrize(
    "requester",
    [
        "\u212aate@example.com",  # KELVIN SIGN lower-cases to "k" under Unicode rules
        "kate@examp\u0130e.com",  # LATIN CAPITAL I WITH DOT ABOVE
        "kаte@example.com",  # CYRILLIC SMALL A
        "kate\u200b@example.com",  # ZERO WIDTH SPACE
        "ｋate@example.com",  # FULLWIDTH k
    ],
)
def test_unicode_look_alikes_never_equal_the_ascii_email(requester: str) -> None:
    assert not same_email(requester, "kate@example.com")


def test_non_ascii_characters_must_match_exactly() -> None:
    assert same_email("用户@例子.广告", "用户@例子.广告")
    assert not same_email("Ä@example.com", "ä@example.com")


def test_fold_email_lowers_only_ascii() -> None:
    assert fold_email("ÄBC@X") == "Äbc@x"
