"""Email checks shared by config validation and the approval policy.

Two questions, answered strictly because an approval hangs on them:

* `is_exact_email(text)`: would Go's `net/mail.ParseAddress(text)` succeed with `.Address`
  equal to `text`? That holds exactly for a bare RFC 5322 addr-spec whose local part and domain
  are dot-atoms: no display name, no angle brackets, no comments, no surrounding whitespace, no
  quoted local part (Go returns it unquoted, so it never equals the original). Like Go, atoms may
  contain any non-ASCII character (RFC 6532), and a domain without a dot (`a@b`) is accepted.
  Unlike Go 1.22+, a domain literal (`a@[10.0.0.1]`) is rejected: no PagerDuty account has one.
* `same_email(a, b)`: PagerDuty compares emails case-insensitively. We fold ASCII letters only;
  every other character must match exactly. Full Unicode lower-casing (what Go's
  `strings.ToLower` does) maps look-alikes such as the Kelvin sign "K" (U+212A) onto "k", which
  would let a Teleport user named `\u212aate@example.com` be approved as `kate@example.com`.
"""

from __future__ import annotations

import functools
import re

# RFC 5322 atext, plus every non-ASCII character (Go's isAtext accepts any rune >= 0x80).
_ATEXT = r"[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~\u0080-\U0010ffff]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"


@functools.cache
def _addr_spec() -> re.Pattern[str]:
    # Compiled on first use: the class spanning every non-ASCII character costs ~10 ms, paid
    # otherwise by every `import teleport_pd_cli.config` (e.g. `tpd --help`).
    return re.compile(rf"{_DOT_ATOM}@{_DOT_ATOM}")


_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def is_exact_email(text: str) -> bool:
    """True when `text` is a bare addr-spec that Go's ParseAddress returns unchanged."""
    return _addr_spec().fullmatch(text) is not None


def fold_email(text: str) -> str:
    """The comparison key of an email: ASCII letters lower-cased, everything else unchanged."""
    return text.translate(_ASCII_FOLD)


def same_email(a: str, b: str) -> bool:
    """Case-insensitive (ASCII only) equality of two emails."""
    return fold_email(a) == fold_email(b)
