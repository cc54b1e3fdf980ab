"""Credentials: identity files and the three TLS files become an `Identity`; identity sources.

An `Identity` is what a client needs for mutual TLS with the Auth Service: the private key, the
TLS client certificate, and the cluster's TLS CA certificates as the only trust roots. Every
`Identity` is consistent by construction (the key parses, is of a type Teleport issues, and
matches the certificate; there is at least one CA). Whether it is valid *now* is a separate
check (`check_valid`), done by the loaders and by callers before they connect.

Loading reports every problem as `CredentialsError` (or `CredentialsExpired`) with a message that
names the file, the line where it helps, and what to do. No message or log line ever contains key
material.

`IdentitySource` hands the current identity to a client: `StaticIdentity` for one loaded once,
`RefreshingIdentityFile` for a file that tbot (or a cron job) rewrites, re-read at most once per
interval, so new connections use the renewed certificate without a restart.
"""

from __future__ import annotations

import logging
import os
import stat
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeAlias, runtime_checkable

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
    decode_identity_file,
    encode_pem,
    scan_pem_blocks,
)

__all__ = [
    "Identity",
    "IdentitySource",
    "RefreshingIdentityFile",
    "StaticIdentity",
    "load_identity_file",
    "load_tls_files",
    "parse_identity_file",
]

logger = logging.getLogger(__name__)

PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# Identity files are a few kilobytes; refuse to slurp something that plainly is not one.
MAX_FILE_SIZE = 1024 * 1024

# The curves Teleport issues keys on (P-256 today, P-384 for some CAs) and TLS stacks accept.
_SUPPORTED_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
_KEY_LABELS = {
    "RSA PRIVATE KEY": "a PKCS#1 RSA key",
    "EC PRIVATE KEY": "a SEC1 EC key",
    "PRIVATE KEY": "a PKCS#8 key",
}


def _identity_file_help(path: str = "") -> str:
    return (
        f"Create one with `tctl auth sign --user=<user> --format=file --out={path or '<path>'}`, "
        "or use the `identity` file of a tbot identity output."
    )


_TLS_FILES_HELP = (
    "`tctl auth sign --user=<user> --format=tls --out=<prefix>` writes <prefix>.key, "
    "<prefix>.crt and <prefix>.cas."
)


# --- parsing helpers shared by Identity and the loaders -----------------------------------------


def _pem(label: str, der: bytes) -> bytes:
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


def _format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _parse_private_key(block: PemBlock, where: str) -> PrivateKey:
    """Parse the key block; `where` starts every message ("Identity file '/x' (line 1)")."""
    label = block.label
    if block.encrypted or label == "ENCRYPTED PRIVATE KEY":
        raise CredentialsError(
            f"{where}: the private key is encrypted. Teleport identity files hold an unencrypted "
            "key; issue a new one with `tctl auth sign` or tbot."
        )
    if "PIV" in label or "YUBIKEY" in label:
        raise CredentialsError(
            f"{where}: the private key is held by a hardware token ({label}), which a plugin "
            "cannot use. Issue a software key with `tctl auth sign --format=file` or tbot."
        )
    if label not in _KEY_LABELS:
        if label == "CERTIFICATE":
            problem = "expected a private key but found a CERTIFICATE"
        else:
            problem = f"the private key has an unsupported PEM type {label!r}"
        raise CredentialsError(
            f"{where}: {problem} (expected RSA PRIVATE KEY, EC PRIVATE KEY or PRIVATE KEY)."
        )
    try:
        key = serialization.load_pem_private_key(_pem(label, block.der), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # The library's message is not shown: it adds nothing a user can act on.
        raise CredentialsError(
            f"{where}: the private key could not be parsed as {_KEY_LABELS[label]} "
            f"({label}); the file is damaged or not a private key."
        ) from None
    return _check_key_type(key, where)


def _check_key_type(key: object, where: str) -> PrivateKey:
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
        "ECDSA (P-256, P-384 or P-521) or Ed25519."
    )


def _parse_certificate(block: PemBlock, where: str, role: str) -> x509.Certificate:
    """`role` is "TLS certificate" or "TLS CA certificate", for messages."""
    if block.label != "CERTIFICATE":
        raise CredentialsError(f"{where}: expected the {role} but found a {block.label} block.")
    try:
        return x509.load_der_x509_certificate(block.der)
    except ValueError:
        raise CredentialsError(
            f"{where}: the {role} is not a valid X.509 certificate; the file is damaged."
        ) from None


def _public_key_der(key: object) -> bytes | None:
    if isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    return None


def _check_key_matches(key: PrivateKey, cert: x509.Certificate, where: str) -> None:
    try:
        cert_key = _public_key_der(cert.public_key())
    except (ValueError, UnsupportedAlgorithm):
        cert_key = None
    if cert_key is None:
        raise CredentialsError(
            f"{where}: the TLS certificate carries a public key of a type Teleport does not issue."
        )
    if cert_key != _public_key_der(key.public_key()):
        raise CredentialsError(
            f"{where}: the private key does not match the TLS certificate (issued to "
            f"{_first(cert.subject, NameOID.COMMON_NAME)!r}); they come from different "
            "issuances. Write them again together with `tctl auth sign` or tbot."
        )


def _values(name: x509.Name, oid: x509.ObjectIdentifier) -> tuple[str, ...]:
    return tuple(
        value if isinstance(value, str) else value.decode("utf-8", errors="replace")
        for value in (attribute.value for attribute in name.get_attributes_for_oid(oid))
    )


def _first(name: x509.Name, oid: x509.ObjectIdentifier) -> str:
    values = _values(name, oid)
    return values[0] if values else ""


def _blocks_of(pem: bytes, what: str, where: str) -> tuple[PemBlock, ...]:
    try:
        return scan_pem_blocks(pem)
    except IdentityFileFormatError as exc:
        raise CredentialsError(f"{where}: {what} is not valid PEM: {exc.problem}.") from None


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
        key_blocks = _blocks_of(self.private_key_pem, "the private key", where)
        cert_blocks = _blocks_of(self.certificate_pem, "the TLS certificate", where)
        if not key_blocks:
            raise CredentialsError(f"{where}: no private key PEM block.")
        if not cert_blocks:
            raise CredentialsError(f"{where}: no TLS certificate PEM block.")
        key = _parse_private_key(key_blocks[0], where)
        certificate = _parse_certificate(cert_blocks[0], where, "TLS certificate")
        _check_key_matches(key, certificate, where)
        ca_count = 0
        for index, ca_pem in enumerate(self.ca_pems):
            for block in _blocks_of(ca_pem, f"TLS CA certificate #{index + 1}", where):
                _parse_certificate(block, where, "TLS CA certificate")
                ca_count += 1
        if ca_count == 0:
            raise CredentialsError(
                f"{where}: no TLS CA certificates, so the Auth Service cannot be verified."
            )
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
                f"{_format_time(self.not_after)}, {_human_duration(now - self.not_after)} ago. "
                + _renew_hint(self.username, self.source, self._tls_files)
            )
        if now < self.not_before:
            return (
                f"The certificate {where}for user {self.username!r} is not valid until "
                f"{_format_time(self.not_before)}, {_human_duration(self.not_before - now)} from "
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


# --- reading files ----------------------------------------------------------------------------


def _read_file(path: str, what: str, missing_help: str) -> tuple[bytes, os.stat_result]:
    """Read a small credentials file, translating every OSError into a CredentialsError."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CredentialsError(
            f"{what} '{path}' does not exist. {missing_help}", path=path
        ) from None
    except PermissionError:
        raise CredentialsError(
            f"{what} '{path}' cannot be reached: permission denied on a directory above it.",
            path=path,
        ) from None
    except OSError as exc:
        raise CredentialsError(
            f"{what} '{path}' cannot be read: {exc.strerror or exc}.", path=path
        ) from None
    if stat.S_ISDIR(info.st_mode):
        hint = ""
        if os.path.isfile(os.path.join(path, "identity")):
            hint = f" It looks like a tbot destination; use '{os.path.join(path, 'identity')}'."
        raise CredentialsError(f"{what} '{path}' is a directory, not a file.{hint}", path=path)
    if not stat.S_ISREG(info.st_mode):
        raise CredentialsError(f"{what} '{path}' is not a regular file.", path=path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_SIZE + 1)
    except PermissionError:
        raise CredentialsError(
            f"{what} '{path}' cannot be read: permission denied (owner uid {info.st_uid}, mode "
            f"{stat.S_IMODE(info.st_mode):04o}). Run as a user that may read it, or grant read "
            "access to this user's group (mode 0640).",
            path=path,
        ) from None
    except OSError as exc:
        raise CredentialsError(
            f"{what} '{path}' cannot be read: {exc.strerror or exc}.", path=path
        ) from None
    if len(data) > MAX_FILE_SIZE:
        raise CredentialsError(
            f"{what} '{path}' is larger than {MAX_FILE_SIZE // 1024} KiB; credentials files are "
            "a few kilobytes, so this is not one.",
            path=path,
        )
    if not data.strip():
        raise CredentialsError(f"{what} '{path}' is empty.", path=path)
    return data, info


def _warn_if_exposed(path: str, info: os.stat_result, what: str) -> None:
    """Warn when a file holding a private key is readable by group or others (POSIX only)."""
    if os.name != "posix":
        return
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o044:
        readers = "other users" if mode & 0o004 else "its group"
        logger.warning(
            "%s '%s' is readable by %s (mode %04o) and holds a private key; "
            "restrict it with `chmod 600 %s`.",
            what,
            path,
            readers,
            mode,
            path,
            extra={"credentials_path": path},
        )


def _finish(identity: Identity, *, tls_files: bool, check_validity: bool, path: str) -> Identity:
    object.__setattr__(identity, "_tls_files", tls_files)
    if check_validity:
        problem = identity._validity_problem(None)
        if problem is not None:
            raise CredentialsExpired(problem, path=path)
    return identity


def parse_identity_file(data: bytes, *, source: str = "", check_validity: bool = True) -> Identity:
    """Build an Identity from identity-file bytes (e.g. kept in a secret store, not on disk).

    `source` names the origin in messages. Raises CredentialsError / CredentialsExpired.
    """
    what = f"Identity file '{source}'" if source else "Identity file"

    def at(line: int) -> str:
        return f"{what} (line {line})"

    if not data.strip():
        raise CredentialsError(f"{what} is empty.", path=source or None)
    try:
        parts = decode_identity_file(data)
    except IdentityFileFormatError as exc:
        location = at(exc.line) if exc.line is not None else what
        raise CredentialsError(f"{location}: {exc.problem}.", path=source or None) from None
    blocks = parts.pem_blocks
    if not blocks:
        raise CredentialsError(
            f"{what} contains no private key: an identity file starts with a PEM block "
            "('-----BEGIN ... PRIVATE KEY-----'). " + _identity_file_help(source),
            path=source or None,
        )
    if blocks[0].label == "CERTIFICATE":
        raise CredentialsError(
            f"{at(blocks[0].line)}: the file starts with a CERTIFICATE, but an identity file "
            "starts with its private key. For the separate key/crt/cas files written by "
            "`tctl auth sign --format=tls`, configure the three TLS files instead.",
            path=source or None,
        )
    key = _parse_private_key(blocks[0], at(blocks[0].line))
    if len(blocks) < 2:
        raise CredentialsError(
            f"{what} has a private key but no TLS certificate (the PEM block after the key). "
            "Files from `--format=openssh` hold only SSH credentials; use `--format=file`.",
            path=source or None,
        )
    certificate = _parse_certificate(blocks[1], at(blocks[1].line), "TLS certificate")
    _check_key_matches(key, certificate, what)
    if len(blocks) < 3:
        raise CredentialsError(
            f"{what} has no TLS CA certificates (the PEM blocks after the TLS certificate), so "
            "the Auth Service cannot be verified. Write the file again with "
            "`tctl auth sign --format=file` or tbot.",
            path=source or None,
        )
    for block in blocks[2:]:
        _parse_certificate(block, at(block.line), "TLS CA certificate")
    if parts.ssh_certificate is None:
        # Teleport's own reader rejects such a file; we only need the TLS parts, so go on.
        logger.warning(
            "%s has no SSH certificate line. Teleport's tools would reject it; tpd only needs "
            "the TLS parts to reach the Auth Service directly, so it goes on.",
            what,
            extra={"credentials_path": source},
        )
    identity = Identity(
        private_key_pem=_pem(blocks[0].label, blocks[0].der),
        certificate_pem=_pem("CERTIFICATE", blocks[1].der),
        ca_pems=tuple(_pem("CERTIFICATE", block.der) for block in blocks[2:]),
        ssh_certificate=parts.ssh_certificate,
        ssh_ca_lines=parts.ssh_ca_lines,
        source=source,
    )
    return _finish(identity, tls_files=False, check_validity=check_validity, path=source)


def load_identity_file(path: str | os.PathLike[str], *, check_validity: bool = True) -> Identity:
    """Load an identity file as `tctl auth sign --format=file` or tbot write it.

    Raises CredentialsError naming the file and the problem, or CredentialsExpired when the
    certificate is outside its validity period (unless `check_validity=False`). Logs a warning
    when the file is readable by group or others.
    """
    name = os.fspath(path)
    data, info = _read_file(name, "Identity file", _identity_file_help(name))
    _warn_if_exposed(name, info, "Identity file")
    return parse_identity_file(data, source=name, check_validity=check_validity)


def load_tls_files(
    key_path: str | os.PathLike[str],
    cert_path: str | os.PathLike[str],
    cas_path: str | os.PathLike[str],
    *,
    check_validity: bool = True,
) -> Identity:
    """Load the three files `tctl auth sign --format=tls` writes (<out>.key, .crt, .cas).

    The key file's first PEM block is the private key, the certificate file's first block the
    TLS certificate, and every block of the CA file a trust root. Same errors as
    `load_identity_file`; warns when the key file is readable by group or others.
    """
    key_name, cert_name, cas_name = os.fspath(key_path), os.fspath(cert_path), os.fspath(cas_path)

    def blocks(name: str, what: str) -> tuple[PemBlock, ...]:
        data, info = _read_file(name, what, _TLS_FILES_HELP)
        if what == "TLS key file":
            _warn_if_exposed(name, info, what)
        try:
            return scan_pem_blocks(data)
        except IdentityFileFormatError as exc:
            line = f" (line {exc.line})" if exc.line is not None else ""
            raise CredentialsError(f"{what} '{name}'{line}: {exc.problem}.", path=name) from None

    key_blocks = blocks(key_name, "TLS key file")
    cert_blocks = blocks(cert_name, "TLS certificate file")
    ca_blocks = blocks(cas_name, "TLS CA file")
    if not key_blocks:
        raise CredentialsError(
            f"TLS key file '{key_name}' contains no private key PEM block.", path=key_name
        )
    if key_blocks[0].label == "CERTIFICATE":
        raise CredentialsError(
            f"TLS key file '{key_name}' holds a certificate, not a private key; are the key "
            "and certificate paths swapped?",
            path=key_name,
        )
    key = _parse_private_key(key_blocks[0], f"TLS key file '{key_name}'")
    if not cert_blocks:
        raise CredentialsError(
            f"TLS certificate file '{cert_name}' contains no certificate PEM block.",
            path=cert_name,
        )
    where_cert = f"TLS certificate file '{cert_name}'"
    certificate = _parse_certificate(cert_blocks[0], where_cert, "TLS certificate")
    _check_key_matches(key, certificate, f"TLS key file '{key_name}' and {where_cert}")
    if not ca_blocks:
        raise CredentialsError(
            f"TLS CA file '{cas_name}' contains no certificates, so the Auth Service cannot be "
            "verified.",
            path=cas_name,
        )
    for block in ca_blocks:
        _parse_certificate(block, f"TLS CA file '{cas_name}' (line {block.line})", "CA")
    identity = Identity(
        private_key_pem=_pem(key_blocks[0].label, key_blocks[0].der),
        certificate_pem=_pem("CERTIFICATE", cert_blocks[0].der),
        ca_pems=tuple(_pem("CERTIFICATE", block.der) for block in ca_blocks),
        source=f"{key_name}, {cert_name}, {cas_name}",
    )
    return _finish(identity, tls_files=True, check_validity=check_validity, path=cert_name)


# --- identity sources -------------------------------------------------------------------------


@runtime_checkable
class IdentitySource(Protocol):
    """Where a client gets its credentials for each new connection."""

    def current(self) -> Identity:
        """The identity to use now. Cheap; never raises once the source exists."""
        ...

    @property
    def generation(self) -> int:
        """Starts at 0 and increments whenever `current()` starts returning another identity."""
        ...


class StaticIdentity:
    """An IdentitySource that always returns the same identity (generation stays 0)."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity

    def current(self) -> Identity:
        return self._identity

    @property
    def generation(self) -> int:
        return 0

    def __repr__(self) -> str:
        return f"StaticIdentity({self._identity!r})"


class RefreshingIdentityFile:
    """An IdentitySource that re-reads an identity file at most once per `interval`.

    The first load happens in the constructor and raises like `load_identity_file`. Afterwards
    `current()` never raises: when the file is unchanged nothing happens; when it changed and
    loads cleanly the new identity is used and `generation` increments; when the reload fails
    (missing, half-written, expired, ...) the previous identity is kept and a warning
    "Failed to reload identity file from disk." is logged with the reason. Reading happens
    inside `current()`, at most once per interval (a few kilobytes), under a lock, so it is safe
    to call from several threads.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        interval: timedelta = timedelta(minutes=1),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if interval < timedelta(0):
            raise ValueError(f"interval must not be negative, got {interval}")
        self._path = os.fspath(path)
        self._interval = interval.total_seconds()
        self._clock = clock
        self._lock = threading.Lock()
        data, info = _read_file(self._path, "Identity file", _identity_file_help(self._path))
        _warn_if_exposed(self._path, info, "Identity file")
        self._identity = parse_identity_file(data, source=self._path)
        self._data = data
        self._generation = 0
        self._checked_at = clock()

    @property
    def path(self) -> Path:
        return Path(self._path)

    @property
    def interval(self) -> timedelta:
        return timedelta(seconds=self._interval)

    @property
    def generation(self) -> int:
        return self._generation

    def current(self) -> Identity:
        now = self._clock()
        if now - self._checked_at >= self._interval:
            with self._lock:
                if now - self._checked_at >= self._interval:
                    self._reload()
                    # Stamped after the read, so that callers arriving meanwhile wait on the
                    # lock and get the new identity rather than the one being replaced.
                    self._checked_at = now
        return self._identity

    def refresh(self) -> bool:
        """Re-read the file now, ignoring the interval. True when the identity changed.

        Never raises; a failed reload keeps the previous identity and logs a warning.
        """
        with self._lock:
            changed = self._reload()
            self._checked_at = self._clock()
            return changed

    def _reload(self) -> bool:
        try:
            data, info = _read_file(self._path, "Identity file", _identity_file_help(self._path))
            if data == self._data:
                self._warn_if_held_identity_expired()
                return False
            _warn_if_exposed(self._path, info, "Identity file")
            identity = parse_identity_file(data, source=self._path)
        except CredentialsError as exc:
            logger.warning(
                "Failed to reload identity file from disk. %s Keeping the identity loaded "
                "before (certificate valid until %s).",
                exc,
                _format_time(self._identity.not_after),
                extra={"credentials_path": self._path},
            )
            return False
        self._data = data
        if identity == self._identity:
            return False
        self._identity = identity
        self._generation += 1
        logger.info(
            "Reloaded identity file '%s': certificate for %r valid until %s.",
            self._path,
            identity.username,
            _format_time(identity.not_after),
            extra={"credentials_path": self._path},
        )
        return True

    def _warn_if_held_identity_expired(self) -> None:
        problem = self._identity._validity_problem(None)
        if problem is not None:
            logger.warning(
                "The identity file has not been renewed. %s",
                problem,
                extra={"credentials_path": self._path},
            )

    def __repr__(self) -> str:
        return (
            f"RefreshingIdentityFile({self._path!r}, interval={self.interval}, "
            f"generation={self._generation})"
        )
