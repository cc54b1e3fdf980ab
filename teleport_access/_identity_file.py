"""The identity-file text layout: splitting it into parts and writing it back. Pure, no I/O.

`tctl auth sign --format=file`, `tsh login --out` and tbot's `identity` output all write the same
layout, one item after another, each ending in a newline:

1. the private key (PEM),
2. the SSH user certificate (one `<type>-cert-v01@openssh.com AAAA...` line),
3. the TLS user certificate (PEM),
4. `@cert-authority ...` lines, the SSH host CAs in known_hosts format,
5. the TLS CA certificates (PEM), the trust roots for the Auth Service's certificate.

Reading is positional, the way Teleport's own decoder does it, working line by line on
whitespace-trimmed lines: the first PEM block is the key, the second the TLS certificate, every
later one a CA; an SSH certificate line is recognised by its certificate type token; anything
else is ignored. This module only splits and checks PEM framing; what the blocks contain is
checked in `_credentials.py`.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterable

import attrs

# The first space-separated token of an SSH certificate line, as Teleport recognises it.
_SSH_CERT_TYPE = re.compile(rb"[a-z0-9\-]+-cert-v[0-9]{2}@openssh\.com")
_BEGIN = re.compile(rb"-----BEGIN ([\x20-\x7e]+?)-----")
_END = re.compile(rb"-----END ([\x20-\x7e]+?)-----")
_HEADER = re.compile(rb"[A-Za-z0-9][A-Za-z0-9\-]*:.*")


class IdentityFileFormatError(ValueError):
    """The text is not well-formed. `problem` never contains key material."""

    def __init__(self, problem: str, *, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@attrs.frozen(kw_only=True)
class PemBlock:
    """One PEM block as found in a file. `text` is the block re-joined with newlines."""

    label: str
    line: int  # 1-based line of the BEGIN marker
    der: bytes = attrs.field(repr=False)
    text: bytes = attrs.field(repr=False)
    encrypted: bool = False  # RFC 1421 "Proc-Type: 4,ENCRYPTED" header (legacy OpenSSL)


@attrs.frozen(kw_only=True)
class IdentityFileParts:
    """The items of an identity file, in file order. `pem_blocks[0]` is the key by position."""

    pem_blocks: tuple[PemBlock, ...]
    ssh_certificate: str | None
    ssh_ca_lines: tuple[str, ...]


def is_ssh_certificate_line(line: bytes) -> bool:
    """True when the line's first space-separated token is an OpenSSH certificate type."""
    return _SSH_CERT_TYPE.fullmatch(line.split(b" ", 1)[0]) is not None


def _trimmed_lines(data: bytes) -> list[bytes]:
    # Splitting on "\n" and stripping also removes a "\r", like Go's line scanner plus TrimSpace.
    return [line.strip() for line in data.split(b"\n")]


def _decode_pem(lines: list[bytes], first_line: int) -> PemBlock:
    """Decode one block given its trimmed lines, BEGIN through END inclusive."""
    begin = _BEGIN.fullmatch(lines[0])
    if begin is None:
        raise IdentityFileFormatError(
            "malformed PEM BEGIN line (expected '-----BEGIN <TYPE>-----')", line=first_line
        )
    label = begin.group(1).decode("ascii")
    end = _END.fullmatch(lines[-1])
    if end is None:
        raise IdentityFileFormatError(
            f"malformed PEM END line for the {label} block (expected '-----END {label}-----')",
            line=first_line + len(lines) - 1,
        )
    if end.group(1) != begin.group(1):
        raise IdentityFileFormatError(
            f"the {label} PEM block ends with '-----END {end.group(1).decode('ascii')}-----'",
            line=first_line + len(lines) - 1,
        )
    body = lines[1:-1]
    encrypted = False
    # Optional RFC 1421 headers ("Proc-Type: 4,ENCRYPTED", "DEK-Info: ...") precede the base64.
    while body and _HEADER.fullmatch(body[0]):
        if body[0].lower().startswith(b"proc-type:") and b"ENCRYPTED" in body[0].upper():
            encrypted = True
        body = body[1:]
    encoded = b"".join(body)
    if not encoded:
        raise IdentityFileFormatError(f"the {label} PEM block is empty", line=first_line)
    try:
        der = binascii.a2b_base64(encoded, strict_mode=True)
    except binascii.Error:
        raise IdentityFileFormatError(
            f"the {label} PEM block is not valid base64", line=first_line
        ) from None
    text = b"\n".join(lines) + b"\n"
    return PemBlock(label=label, line=first_line, der=der, text=text, encrypted=encrypted)


def decode_identity_file(data: bytes) -> IdentityFileParts:
    """Split identity-file bytes into their parts. Raises IdentityFileFormatError.

    Linear in the input; never raises anything else, whatever the bytes.
    """
    lines = _trimmed_lines(data)
    blocks: list[PemBlock] = []
    ssh_certificate: str | None = None
    ssh_ca_lines: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if is_ssh_certificate_line(line):
            # Teleport keeps the last one if there are several; so do we.
            ssh_certificate = line.decode("utf-8", errors="replace")
        elif line.startswith(b"@cert-authority"):
            ssh_ca_lines.append(line.decode("utf-8", errors="replace"))
        elif line.startswith(b"-----BEGIN"):
            start = index
            while not lines[index].startswith(b"-----END"):
                index += 1
                if index == len(lines):
                    label = _BEGIN.fullmatch(line)
                    name = label.group(1).decode("ascii") if label else "PEM"
                    raise IdentityFileFormatError(
                        f"the {name} block has no -----END line (the file is cut short)",
                        line=start + 1,
                    )
            blocks.append(_decode_pem(lines[start : index + 1], start + 1))
        index += 1
    return IdentityFileParts(
        pem_blocks=tuple(blocks), ssh_certificate=ssh_certificate, ssh_ca_lines=tuple(ssh_ca_lines)
    )


def scan_pem_blocks(data: bytes) -> tuple[PemBlock, ...]:
    """Every PEM block in `data`, in order, ignoring other lines (for the separate TLS files)."""
    return decode_identity_file(data).pem_blocks


def encode_pem(label: str, der: bytes) -> bytes:
    """Standard PEM: BEGIN line, base64 in 64-character lines, END line, final newline."""
    encoded = binascii.b2a_base64(der, newline=False)
    body = b"".join(encoded[i : i + 64] + b"\n" for i in range(0, len(encoded), 64))
    marker = label.encode("ascii")
    return b"-----BEGIN " + marker + b"-----\n" + body + b"-----END " + marker + b"-----\n"


def _with_newline(item: bytes) -> bytes:
    return item if item.endswith(b"\n") else item + b"\n"


def encode_identity_file(
    *,
    private_key_pem: bytes,
    ssh_certificate: str | None,
    certificate_pem: bytes,
    ssh_ca_lines: Iterable[str],
    ca_pems: Iterable[bytes],
) -> bytes:
    """Write the parts in the order and with the newlines `tctl auth sign --format=file` uses."""
    items = [private_key_pem]
    if ssh_certificate:
        items.append(ssh_certificate.encode())
    items.append(certificate_pem)
    items.extend(line.encode() for line in ssh_ca_lines)
    items.extend(ca_pems)
    return b"".join(_with_newline(item) for item in items)
