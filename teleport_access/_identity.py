"""`Identity` and the checks behind it: key and certificate parsing, key/cert match, validity.

Pure: no file access, no logging. `_credentials.py` reads the files and builds identities with
these helpers, so that every message names the file and line it is about. `where` arguments
start every message ("Identity file '/etc/tpd/identity' (line 1)").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeAlias

import attrs
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID

from teleport_access._exceptions import CredentialsError, CredentialsExpired
from teleport_access._identity_file import (
    IdentityFileFormatError,
    PemBlock,
    encode_pem,
    scan_pem_blocks,
)

__all__ = [
    "KEY_LABELS",
    "Identity",
    "PrivateKey",
    "canonical_pem",
    "check_key_matches",
    "finish_identity",
    "format_time",
    "parse_certificate",
    "parse_private_key",
    "ssh_certificate_problem",
    "validity_problem",
]

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# The curves Teleport issues keys on (P-256 today, P-384 for some CAs) and TLS stacks accept.
_SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
KEY_LABELS = {
    "RSA PRIVATE KEY": "a PKCS#1 RSA key",
    "EC PRIVATE KEY": "a SEC1 EC key",
    "PRIVATE KEY": "a PKCS#8 key",
}


# --- parsing helpers shared by Identity and the loaders -----------------------------------------


def canonical_pem(label: str, der: bytes) -> bytes:
    """A canonical PEM encoding (64-column base64), whatever layout the file had."""
    return encode_pem(label, der)


def _human_duration(delta: timedelta) -> str:
    """'3 hours 5 minutes', '2 days 4 hours', '12 seconds': the two largest units."""
    seconds = int(abs(delta.total_seconds()))
    units = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))
    parts: list[str] = []
    for name, size in units:
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
        if len(parts) == 2:
            break
    return " ".join(parts) if parts else "0 seconds"


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def parse_private_key(block: PemBlock, where: str, path: str | None = None) -> PrivateKey:
    """Parse the key block; `where` starts every message ("Identity file '/x' (line 1)")."""
    label = block.label
    if block.encrypted or label == "ENCRYPTED PRIVATE KEY":
        raise CredentialsError(
            f"{where}: the private key is encrypted. Teleport identity files hold an unencrypted "
            "key; issue a new one with `tctl auth sign` or tbot.",
            path=path,
        )
    if "PIV" in label or "YUBIKEY" in label:
        raise CredentialsError(
            f"{where}: the private key is held by a hardware token ({label}), which a plugin "
            "cannot use. Issue a software key with `tctl auth sign --format=file` or tbot.",
            path=path,
        )
    if label not in KEY_LABELS:
        if label == "CERTIFICATE":
            problem = "expected a private key but found a CERTIFICATE"
        else:
            problem = f"the private key has an unsupported PEM type {label!r}"
        raise CredentialsError(
            f"{where}: {problem} (expected RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY).",
            path=path,
        )
    try:
        key = serialization.load_pem_private_key(canonical_pem(label, block.der), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message is not shown: it adds nothing a user can act on.
        raise CredentialsError(
            f"{where}: the private key could not be parsed as {KEY_LABELS[label]} "
            f"({label}); the file is damaged or not a private key.",
            path=path,
        ) from None
    return _check_key_type(key, where, path)


def _check_key_type(key: object, where: str, path: str | None) -> PrivateKey:
    if isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if key.curve.name in _SUPPORTED_CURVES:
            return key
        kind = f"an ECDSA key on curve {key.curve.name}"
    else:
        kind = f"a {type(key).__name__.removeprefix('_').replace('PrivateKey', '')} key"
    raise CredentialsError(
        f"{where}: the private key is {kind}, which Teleport does not issue; expected RSA, "
        "ECDSA (P-256, P-384 or P-521) or Ed25519.",
        path=path,
    )


def parse_certificate(
    block: PemBlock, where: str, role: str, path: str | None = None
) -> x509.Certificate:
    """`role` is "TLS certificate" or "TLS CA certificate", for messages."""
    if block.label != "CERTIFICATE":
        raise CredentialsError(
            f"{where}: expected the {role} but found a {block.label} block.", path=path
        )
    try:
        cert = x509.load_der_x509_certificate(block.der)
        # cryptography decodes names and dates lazily: read them now, so a damaged field is
        # this error and not a ValueError from a later property access.
        _ = (cert.subject, cert.issuer, cert.not_valid_before_utc, cert.not_valid_after_utc)
        return cert
    except ValueError:
        raise CredentialsError(
            f"{where}: the {role} is not a valid X.509 certificate; the file is damaged.", path=path
        ) from None


def _public_key_der(key: object) -> bytes | None:
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return None


def check_key_matches(
    key: PrivateKey, cert: x509.Certificate, where: str, path: str | None = None
) -> None:
    try:
        cert_key = _public_key_der(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        cert_key = None
    if cert_key is None:
        raise CredentialsError(
            f"{where}: the TLS certificate carries a public key of a type Teleport does not issue.",
            path=path,
        )
    if cert_key != _public_key_der(key.public_key()):
        raise CredentialsError(
            f"{where}: the private key does not match the TLS certificate (issued to "
            f"{_first(cert.subject, NameOID.COMMON_NAME)!r}); they come from different "
            "issuances. Write them again together with `tctl auth sign` or tbot.",
            path=path,
        )


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> tuple[str, ...]:
    return tuple(
        value if isinstance(value, str) else value.decode("utf-8", errors="replace")
        for value in (attribute.value for attribute in name.get_attributes_for_oid(oid))
    )


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = _values(name, oid)
    return values[0] if values else ""


def _blocks_of(pem: bytes, what: str, where: str, path: str | None) -> tuple[PemBlock, ...]:
    try:
        return scan_pem_blocks(pem)
    except IdentityFileFormatError as exc:
        raise CredentialsError(
            f"{where}: {what} is not valid PEM: {exc.problem}.", path=path
        ) from None


def _renew_hint(username: str, source: str, tls_files: bool) -> str:
    user = username or "<user>"
    if tls_files:
        return (
            f"Renew with `tctl auth sign --user={user} --format=tls --out=<prefix>`, or check "
            "that tbot is running and renewing these files."
        )
    return (
        f"Renew with `tctl auth sign --user={user} --format=file --out={source or '<path>'}`, "
        "or check that tbot is running and renewing this file."
    )


def ssh_certificate_problem(line: str, key: PrivateKey) -> str | None:
    """Why the SSH certificate line is unusable with `key`, or None when it is fine."""
    try:
        certificate = serialization.load_ssh_public_identity(line.encode("utf-8"))
    except (ValueError, UnsupportedAlgorithm):
        return "the SSH certificate line is damaged or of an unsupported type"
    if not isinstance(certificate, serialization.SSHCertificate):
        return "the SSH certificate line holds a plain public key, not a certificate"
    if _ssh_public(certificate.public_key()) != _ssh_public(key.public_key()):
        return "the SSH certificate is for another key than the private key"
    return None


def _ssh_public(key: object) -> bytes | None:
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    return None


# --- Identity ---------------------------------------------------------------------------------


@attrs.frozen(kw_only=True, repr=False)
class Identity:
    """Mutual-TLS credentials for the Auth Service, as read from an identity file or TLS files.

    Construction checks consistency (parsable key of a supported type that matches the
    certificate, at least one CA) and raises `CredentialsError` otherwise. It does not check the
    validity period; call `check_valid()` for that. `repr()` and `str()` never show the key.
    """

    private_key_pem: bytes = attrs.field(repr=False)
    certificate_pem: bytes
    ca_pems: tuple[bytes, ...]
    ssh_certificate: str | None = None
    ssh_ca_lines: tuple[str, ...] = ()
    source: str = ""

    # Derived once from the certificate in __attrs_post_init__; not part of equality.
    _certificate: x509.Certificate = attrs.field(init=False, eq=False)
    _key_type: str = attrs.field(init=False, eq=False)
    _tls_files: bool = attrs.field(init=False, eq=False, default=False)

    def __attrs_post_init__(self) -> None:
        where = f"Credentials from '{self.source}'" if self.source else "Identity"
        path = self.source or None
        key_blocks = _blocks_of(self.private_key_pem, "the private key", where, path)
        cert_blocks = _blocks_of(self.certificate_pem, "the TLS certificate", where, path)
        if not key_blocks:
            raise CredentialsError(f"{where}: no private key PEM block.", path=path)
        if not cert_blocks:
            raise CredentialsError(f"{where}: no TLS certificate PEM block.", path=path)
        key = parse_private_key(key_blocks[0], where, path)
        certificate = parse_certificate(cert_blocks[0], where, "TLS certificate", path)
        check_key_matches(key, certificate, where, path)
        if not self.ca_pems:
            raise CredentialsError(
                f"{where}: no TLS CA certificates, so the Auth Service cannot be verified.",
                path=path,
            )
        for index, ca_pem in enumerate(self.ca_pems, start=1):
            ca_blocks = _blocks_of(ca_pem, f"TLS CA certificate #{index}", where, path)
            if not ca_blocks:
                raise CredentialsError(
                    f"{where}: TLS CA certificate #{index} holds no PEM block.", path=path
                )
            for block in ca_blocks:
                parse_certificate(block, where, "TLS CA certificate", path)
        object.__setattr__(self, "_certificate", certificate)
        key_type = "rsa" if isinstance(key, rsa.RSAPrivateKey) else "ecdsa"
        if isinstance(key, ed25519.Ed25519PrivateKey):
            key_type = "ed25519"
        object.__setattr__(self, "_key_type", key_type)

    @property
    def username(self) -> str:
        """The Teleport user (or bot user) the certificate was issued to: subject CN."""
        return _first(self._certificate.subject, NameOID.COMMON_NAME)

    @property
    def roles(self) -> tuple[str, ...]:
        """The Teleport roles in the certificate: the subject's Organization values."""
        return _values(self._certificate.subject, NameOID.ORGANIZATION_NAME)

    @property
    def cluster_name(self) -> str:
        """The cluster that issued the certificate: issuer O (Teleport's CAs), else issuer CN.

        Needed to route through a Proxy (`teleport-auth@<hex(cluster)>.teleport.cluster.local`).
        """
        issuer = self._certificate.issuer
        return _first(issuer, NameOID.ORGANIZATION_NAME) or _first(issuer, NameOID.COMMON_NAME)

    @property
    def not_before(self) -> datetime:
        """Start of the certificate's validity, an aware UTC datetime."""
        return self._certificate.not_valid_before_utc

    @property
    def not_after(self) -> datetime:
        """End of the certificate's validity, an aware UTC datetime."""
        return self._certificate.not_valid_after_utc

    @property
    def key_type(self) -> str:
        """The key's algorithm: "rsa", "ecdsa" or "ed25519"."""
        return self._key_type

    def check_valid(self, now: datetime | None = None) -> None:
        """Raise CredentialsExpired unless `now` (default: the current time) is in the validity
        period. The message says when it expired, how long ago and how to renew. A naive `now`
        is taken as UTC."""
        problem = self._validity_problem(now)
        if problem is not None:
            raise CredentialsExpired(problem, path=self.source or None)

    def _validity_problem(self, now: datetime | None) -> str | None:
        if now is None:
            now = datetime.now(UTC)
        elif now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        where = f"in '{self.source}' " if self.source else ""
        if now > self.not_after:
            return (
                f"The certificate {where}for user {self.username!r} expired at "
                f"{format_time(self.not_after)}, {_human_duration(now - self.not_after)} ago. "
                + _renew_hint(self.username, self.source, self._tls_files)
            )
        if now < self.not_before:
            return (
                f"The certificate {where}for user {self.username!r} is not valid until "
                f"{format_time(self.not_before)}, {_human_duration(self.not_before - now)} from "
                "now. Check this machine's clock (and the clock where it was issued)."
            )
        return None

    def __repr__(self) -> str:
        return (
            f"Identity(username={self.username!r}, roles={self.roles!r}, "
            f"cluster_name={self.cluster_name!r}, key_type={self.key_type!r}, "
            f"not_after={self.not_after.isoformat()!r}, source={self.source!r})"
        )

    __str__ = __repr__


def finish_identity(
    identity: Identity, *, tls_files: bool, check_validity: bool, path: str | None
) -> Identity:
    """Record how the identity was stored (for the renew hint) and check its validity period."""
    object.__setattr__(identity, "_tls_files", tls_files)
    if check_validity:
        problem = validity_problem(identity)
        if problem is not None:
            raise CredentialsExpired(problem, path=path or None)
    return identity


def validity_problem(identity: Identity, now: datetime | None = None) -> str | None:
    """Why the identity is not valid at `now` (default: the current time), or None."""
    return identity._validity_problem(now)
