"""Credentials from disk: identity files and the three TLS files become an `Identity`; sources.

An `Identity` (defined in `_identity.py`) is what a client needs for mutual TLS with the Auth
Service: the private key, the TLS client certificate, and the cluster's TLS CA certificates as
the only trust roots. This module reads the files, checks their layout, and reports every problem
as `CredentialsError` (or `CredentialsExpired`) with a message that names the file, the line where
it helps, and what to do. No message or log line ever contains key material.

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
from datetime import timedelta
from pathlib import Path
from typing import Protocol, runtime_checkable

from teleport_access._exceptions import CredentialsError
from teleport_access._identity import (
    Identity,
    canonical_pem,
    check_key_matches,
    finish_identity,
    format_time,
    parse_certificate,
    parse_private_key,
    ssh_certificate_problem,
    validity_problem,
)
from teleport_access._identity_file import (
    IdentityFileFormatError,
    PemBlock,
    decode_identity_file,
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

# Identity files are a few kilobytes; refuse to slurp something that plainly is not one.
MAX_FILE_SIZE = 1024 * 1024


def _identity_file_help(path: str = "") -> str:
    return (
        f"Create one with `tctl auth sign --user=<user> --format=file --out={path or '<path>'}`, "
        "or use the `identity` file of a tbot identity output."
    )


_TLS_FILES_HELP = (
    "`tctl auth sign --user=<user> --format=tls --out=<prefix>` writes <prefix>.key, "
    "<prefix>.crt and <prefix>.cas."
)


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


def parse_identity_file(data: bytes, *, source: str = "", check_validity: bool = True) -> Identity:
    """Build an Identity from identity-file bytes (e.g. kept in a secret store, not on disk).

    `source` names the origin in messages. Raises CredentialsError / CredentialsExpired.
    """
    what = f"Identity file '{source}'" if source else "Identity file"
    path = source or None

    def at(line: int) -> str:
        return f"{what} (line {line})"

    if not data.strip():
        raise CredentialsError(f"{what} is empty.", path=path)
    try:
        parts = decode_identity_file(data)
    except IdentityFileFormatError as exc:
        location = at(exc.line) if exc.line is not None else what
        raise CredentialsError(f"{location}: {exc.problem}.", path=path) from None
    blocks = parts.pem_blocks
    if not blocks:
        raise CredentialsError(
            f"{what} contains no private key: an identity file starts with a PEM block "
            "('-----BEGIN ... PRIVATE KEY-----'). " + _identity_file_help(source),
            path=path,
        )
    if blocks[0].label == "CERTIFICATE":
        raise CredentialsError(
            f"{at(blocks[0].line)}: the file starts with a CERTIFICATE, but an identity file "
            "starts with its private key. For the separate key/crt/cas files written by "
            "`tctl auth sign --format=tls`, configure the three TLS files instead.",
            path=path,
        )
    key = parse_private_key(blocks[0], at(blocks[0].line), path)
    if len(blocks) < 2:
        raise CredentialsError(
            f"{what} has a private key but no TLS certificate (the PEM block after the key). "
            "Files from `--format=openssh` hold only SSH credentials; use `--format=file`.",
            path=path,
        )
    certificate = parse_certificate(blocks[1], at(blocks[1].line), "TLS certificate", path)
    check_key_matches(key, certificate, what, path)
    if len(blocks) < 3:
        raise CredentialsError(
            f"{what} has no TLS CA certificates (the PEM blocks after the TLS certificate), so "
            "the Auth Service cannot be verified. Write the file again with "
            "`tctl auth sign --format=file` or tbot.",
            path=path,
        )
    for block in blocks[2:]:
        parse_certificate(block, at(block.line), "TLS CA certificate", path)
    if parts.ssh_certificate is None:
        # Teleport's own reader rejects such a file; we only need the TLS parts, so go on.
        logger.warning(
            "%s has no SSH certificate line. Teleport's tools would reject it; tpd only needs "
            "the TLS parts to reach the Auth Service directly, so it goes on.",
            what,
            extra={"credentials_path": source},
        )
    else:
        # Only the Proxy's SSH tunnel route uses the SSH certificate, so a bad one is worth a
        # warning now rather than a refusal.
        problem = ssh_certificate_problem(parts.ssh_certificate, key)
        if problem is not None:
            logger.warning(
                "%s: %s; connecting through the Proxy's SSH tunnel will fail.",
                what,
                problem,
                extra={"credentials_path": source},
            )
    identity = Identity(
        private_key_pem=canonical_pem(blocks[0].label, blocks[0].der),
        certificate_pem=canonical_pem("CERTIFICATE", blocks[1].der),
        ca_pems=tuple(canonical_pem("CERTIFICATE", block.der) for block in blocks[2:]),
        ssh_certificate=parts.ssh_certificate,
        ssh_ca_lines=parts.ssh_ca_lines,
        source=source,
    )
    return finish_identity(identity, tls_files=False, check_validity=check_validity, path=source)


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
    key = parse_private_key(key_blocks[0], f"TLS key file '{key_name}'", key_name)
    if not cert_blocks:
        raise CredentialsError(
            f"TLS certificate file '{cert_name}' contains no certificate PEM block.",
            path=cert_name,
        )
    where_cert = f"TLS certificate file '{cert_name}'"
    certificate = parse_certificate(cert_blocks[0], where_cert, "TLS certificate", cert_name)
    check_key_matches(key, certificate, f"TLS key file '{key_name}' and {where_cert}", key_name)
    if not ca_blocks:
        raise CredentialsError(
            f"TLS CA file '{cas_name}' contains no certificates, so the Auth Service cannot be "
            "verified.",
            path=cas_name,
        )
    for block in ca_blocks:
        parse_certificate(
            block, f"TLS CA file '{cas_name}' (line {block.line})", "TLS CA certificate", cas_name
        )
    identity = Identity(
        private_key_pem=canonical_pem(key_blocks[0].label, key_blocks[0].der),
        certificate_pem=canonical_pem("CERTIFICATE", cert_blocks[0].der),
        ca_pems=tuple(canonical_pem("CERTIFICATE", block.der) for block in ca_blocks),
        source=f"{key_name}, {cert_name}, {cas_name}",
    )
    return finish_identity(identity, tls_files=True, check_validity=check_validity, path=cert_name)


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
                format_time(self._identity.not_after),
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
            format_time(identity.not_after),
            extra={"credentials_path": self._path},
        )
        return True

    def _warn_if_held_identity_expired(self) -> None:
        problem = validity_problem(self._identity)
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
