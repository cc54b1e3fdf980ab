"""The address part of an RFC 5322 mailbox, as Go's `net/mail.ParseAddress` reads it.

`email.local` takes the part before "@" of the address Go's parser finds, so it has to agree with
Go on what is an address: `alice@example.com`, `Alice <alice@example.com>`,
`"alice smith"@example.com` (the local part is then `alice smith`), `alice@[192.0.2.1]`,
comments in parentheses. Errors carry Go's messages ("mail: missing '@' or angle-addr",
"mail: no angle-addr", ...). Display names are parsed only to be skipped; an RFC 2047 encoded
word in one matters only when its charset is one Go cannot read, which is an error there too.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Final

from teleport_access.where._ast import quote

_SPECIALS: Final = frozenset('()<>[]:;@\\,"')


class MailError(ValueError):
    """Go's parser refuses the address; `str()` is Go's message."""


def _is_vchar(c: str) -> bool:
    return "!" <= c <= "~" or ord(c) >= 0x80


def _is_atext(c: str, dot: bool, permissive: bool = False) -> bool:
    """RFC 5322 atext; `permissive` (display names) also lets specials but `<>:"` through."""
    if c == ".":
        return dot
    if c in _SPECIALS:
        return permissive and c not in '<>:"'
    return _is_vchar(c)


def _go_rune(c: str) -> str:
    """Go's %q of a rune: 'x' with Go escapes."""
    inner = quote(c)[1:-1].replace('\\"', '"')
    return "'" + ("\\'" if c == "'" else inner) + "'"


class _Parser:
    __slots__ = ("s",)

    def __init__(self, text: str) -> None:
        self.s = text

    def skip_space(self) -> None:
        self.s = self.s.lstrip(" \t")

    def consume(self, c: str) -> bool:
        if self.s.startswith(c):
            self.s = self.s[1:]
            return True
        return False

    def skip_cfws(self) -> bool:
        self.skip_space()
        while self.consume("("):
            if self.comment() is None:
                return False
            self.skip_space()
        return True

    def comment(self) -> str | None:
        """After "(": the comment's text, or None when it is not closed."""
        depth, out, i, s = 1, [], 0, self.s
        while i < len(s) and depth:
            c = s[i]
            if c == "\\" and i + 1 < len(s):
                i += 1
                c = s[i]
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            if depth:
                out.append(c)
            i += 1
        self.s = s[i:]
        return "".join(out) if depth == 0 else None

    def quoted_string(self) -> str:
        out: list[str] = []
        escaped = False
        s = self.s
        i = 1
        while True:
            if i >= len(s):
                raise MailError("mail: unclosed quoted-string")
            c = s[i]
            if "\ud800" <= c <= "\udfff":
                raise MailError(f"mail: invalid utf-8 in quoted-string: {quote(s)}")
            if escaped:
                if not _is_vchar(c) and c not in " \t":
                    raise MailError(f"mail: bad character in quoted-string: {_go_rune(c)}")
                out.append(c)
                escaped = False
            elif (_is_vchar(c) and c not in '"\\') or c in " \t":
                out.append(c)
            elif c == '"':
                break
            elif c == "\\":
                escaped = True
            else:
                raise MailError(f"mail: bad character in quoted-string: {_go_rune(c)}")
            i += 1
        self.s = s[i + 1 :]
        return "".join(out)

    def atom(self, dot: bool, permissive: bool) -> str:
        s = self.s
        i = 0
        while i < len(s):
            c = s[i]
            if "\ud800" <= c <= "\udfff":
                raise MailError(f"mail: invalid utf-8 in address: {quote(s)}")
            if not _is_atext(c, dot, permissive):
                break
            i += 1
        if i == 0:
            raise MailError("mail: invalid string")
        atom, self.s = s[:i], s[i:]
        if not permissive:
            if atom.startswith("."):
                raise MailError("mail: leading dot in atom")
            if ".." in atom:
                raise MailError("mail: double dot in atom")
            if atom.endswith("."):
                raise MailError("mail: trailing dot in atom")
        return atom

    def domain_literal(self) -> str:
        start = self.s
        self.consume("[")
        i = 0
        s = self.s
        while True:
            if i >= len(s):
                raise MailError("mail: unclosed domain-literal")
            c = s[i]
            if c == "]":
                break
            if "\ud800" <= c <= "\udfff":
                raise MailError(f"mail: invalid utf-8 in domain-literal: {quote(s[i:])}")
            if c in "[\\" or not _is_vchar(c):
                raise MailError(f"mail: bad character in domain-literal: {_go_rune(c)}")
            i += 1
        dtext = s[:i]
        self.s = s[i + 1 :]
        if dtext.startswith("IPv6:"):
            try:
                ipaddress.IPv6Address(dtext[5:])
            except ValueError:
                raise MailError(
                    f"mail: invalid IPv6 address in domain-literal: {quote(dtext)}"
                ) from None
        else:
            try:
                ipaddress.IPv4Address(dtext)
            except ValueError:
                raise MailError(
                    f"mail: invalid IP address in domain-literal: {quote(dtext)}"
                ) from None
        return start[: i + 2]

    def addr_spec(self) -> str:
        saved = self.s
        try:
            self.skip_space()
            if not self.s:
                raise MailError("mail: no addr-spec")
            if self.s.startswith('"'):
                local = self.quoted_string()
                if not local:
                    raise MailError("mail: empty quoted string in addr-spec")
            else:
                local = self.atom(dot=True, permissive=False)
            if not self.consume("@"):
                raise MailError("mail: missing @ in addr-spec")
            self.skip_space()
            if not self.s:
                raise MailError("mail: no domain in addr-spec")
            if self.s.startswith("["):
                domain = self.domain_literal()
            else:
                domain = self.atom(dot=True, permissive=False)
        except MailError:
            self.s = saved
            raise
        return f"{local}@{domain}"

    def phrase(self) -> str:
        words: list[str] = []
        error: MailError | None = None
        while True:
            if words and not self.skip_cfws():
                raise MailError("mail: misformatted parenthetical comment")
            self.skip_space()
            if not self.s:
                break
            try:
                if self.s.startswith('"'):
                    word = self.quoted_string()
                else:
                    word = self.atom(dot=True, permissive=True)
                    _check_encoded_word(word)
            except MailError as exc:
                error = exc
                break
            words.append(word)
        if error is not None and not words:
            raise MailError(f"mail: missing word in phrase: {error}")
        return " ".join(words)

    def address(self, handle_group: bool) -> list[str]:
        self.skip_space()
        if not self.s:
            raise MailError("mail: no address")
        try:
            spec = self.addr_spec()
        except MailError:
            pass
        else:
            self.skip_space()
            if self.s.startswith("("):
                self.consume("(")
                comment = self.comment()
                if comment is None:
                    raise MailError("mail: misformatted parenthetical comment")
                for word in comment.replace("\t", " ").split():
                    _check_encoded_word(word)
            return [spec]
        name = ""
        if not self.s.startswith("<"):
            name = self.phrase()
        self.skip_space()
        if handle_group and self.consume(":"):
            return self.group_list()
        if not self.consume("<"):
            if all(_is_atext(c, True) for c in name):
                raise MailError("mail: missing '@' or angle-addr")
            raise MailError("mail: no angle-addr")
        spec = self.addr_spec()
        if not self.consume(">"):
            raise MailError("mail: unclosed angle-addr")
        return [spec]

    def group_list(self) -> list[str]:
        group: list[str] = []
        self.skip_space()
        if self.consume(";"):
            if not self.skip_cfws():
                raise MailError("mail: misformatted parenthetical comment")
            return group
        while True:
            self.skip_space()
            group.extend(self.address(handle_group=False))
            if not self.skip_cfws():
                raise MailError("mail: misformatted parenthetical comment")
            if self.consume(";"):
                if not self.skip_cfws():
                    raise MailError("mail: misformatted parenthetical comment")
                return group
            if not self.consume(","):
                raise MailError("mail: expected comma")


def _check_encoded_word(word: str) -> None:
    """An RFC 2047 encoded word whose charset Go cannot read is an error; others pass."""
    if (
        len(word) < 8
        or not word.startswith("=?")
        or not word.endswith("?=")
        or word.count("?") != 4
    ):
        return
    charset, encoding, text = word[2:-2].split("?")
    if not charset or len(encoding) != 1:
        return
    try:
        if encoding in "Bb":
            base64.b64decode(text, validate=True)
        elif encoding in "Qq":
            _q_decode(text)
        else:
            return
    except (ValueError, binascii.Error):
        return
    if charset.lower() not in ("utf-8", "iso-8859-1", "us-ascii"):
        raise MailError(f"charset not supported: {quote(charset)}")


def _q_decode(text: str) -> None:
    i = 0
    while i < len(text):
        c = text[i]
        if c == "=":
            digits = text[i + 1 : i + 3]
            if len(digits) != 2 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(digits)
            i += 3
            continue
        if not (" " <= c <= "~" or c in "\n\r\t"):
            raise ValueError(c)
        i += 1


def parse_address(text: str) -> str:
    """Go's `mail.ParseAddress(text).Address`: `local@domain`. Raises MailError."""
    parser = _Parser(text)
    addresses = parser.address(handle_group=True)
    if not parser.skip_cfws():
        raise MailError("mail: misformatted parenthetical comment")
    if parser.s:
        raise MailError(f"mail: expected single address, got {quote(parser.s)}")
    if not addresses:
        raise MailError("mail: empty group")
    if len(addresses) > 1:
        raise MailError("mail: group with multiple addresses")
    return addresses[0]
