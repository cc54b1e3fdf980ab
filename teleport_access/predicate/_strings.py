"""Go's `strings.ToUpper` / `strings.ToLower`: one character at a time, simple case mapping.

Python's `str.upper()` applies Unicode's full mappings ("ß" becomes "SS", a final sigma lowers to
"ς" in context); Go maps each rune to one rune and leaves it when no single-rune mapping exists.
Python's full mapping of one character agrees with the simple mapping whenever it is a single
character; the table below lists the few characters whose full mapping is longer but whose simple
mapping is another single character.
"""

from __future__ import annotations

from typing import Final


def _greek_iota_subscripts() -> dict[str, str]:
    upper: dict[str, str] = {}
    for base in (0x1F80, 0x1F90, 0x1FA0):
        for k in range(8):
            upper[chr(base + k)] = chr(base + 8 + k)
    for small, capital in ((0x1FB3, 0x1FBC), (0x1FC3, 0x1FCC), (0x1FF3, 0x1FFC)):
        upper[chr(small)] = chr(capital)
    return upper


_UPPER_EXCEPTIONS: Final = _greek_iota_subscripts()
_LOWER_EXCEPTIONS: Final = {"\u0130": "i"}


def _upper_rune(c: str) -> str:
    mapped = c.upper()
    if len(mapped) == 1:
        return mapped
    return _UPPER_EXCEPTIONS.get(c, c)


def _lower_rune(c: str) -> str:
    mapped = c.lower()
    if len(mapped) == 1:
        return mapped
    return _LOWER_EXCEPTIONS.get(c, c)


def go_upper(text: str) -> str:
    """Go's strings.ToUpper."""
    if text.isascii():
        return text.upper()
    return "".join(map(_upper_rune, text))


def go_lower(text: str) -> str:
    """Go's strings.ToLower."""
    if text.isascii():
        return text.lower()
    return "".join(map(_lower_rune, text))
