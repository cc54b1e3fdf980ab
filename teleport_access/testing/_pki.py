"""A test PKI shaped like a Teleport cluster's: host and user CAs, user identities, server certs.

Teleport keeps separate certificate authorities per purpose. Two matter to an API client:

* the **host CA** signs the Auth Service's (and Proxy's) TLS certificate; clients trust it, and
  identity files carry its TLS certificate(s) as their only trust roots, plus its SSH public key
  as `@cert-authority` known_hosts lines;
* the **user CA** signs users' (and bots') certificates; the Auth Service verifies client
  certificates against it. Its SSH key signs the user's OpenSSH certificate.

Certificates follow Teleport's layout (lib/tlsca): a CA's subject is `O=<cluster>, CN=<cluster>,
SERIALNUMBER=<serial>`; a user certificate's subject is `CN=<user>` with one `O=<role>` per
role, not-before one minute in the past, usage digitalSignature + keyEncipherment for serverAuth
and clientAuth. Identity files are written byte for byte in the layout of
`tctl auth sign --format=file`; see `identity_file_bytes`.

Usage::

    ca = TestCertificateAuthority("example.com")
    identity = ca.issue_identity("access-plugin", roles=["access-plugin"])
    path = ca.write_identity_file(tmp_path / "identity", identity)
    server_key_pem, server_cert_pem = ca.issue_server_credentials()
"""

from __future__ import annotations

import json
import os
import secrets
import struct
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import TypeAlias

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from teleport_access._credentials import Identity
from teleport_access._identity_file import encode_identity_file

__all__ = ["TestCertificateAuthority"]

_PrivateKey: TypeAlias = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

KEY_TYPES = ("ecdsa", "rsa", "ed25519")
KEY_FORMATS = {"ecdsa": ("pkcs8", "sec1"), "rsa": ("pkcs8", "pkcs1"), "ed25519": ("pkcs8",)}

# Teleport gives CAs a ten-year lifetime and back-dates issued certificates by a minute to
# tolerate clock skew between machines.
_CA_TTL = timedelta(days=3650)
_BACKDATE = timedelta(minutes=1)
_FILE_MODE = 0o600
# Principals Teleport adds to every user SSH certificate (session joining, no-login users).
_JOIN_PRINCIPAL = "-teleport-internal-join"


def _new_key(key_type: str) -> _PrivateKey:
    if key_type == "ecdsa":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    if key_type == "ed25519":
        return ed25519.Ed25519PrivateKey.generate()
    raise ValueError(f"key_type must be one of {', '.join(KEY_TYPES)}, got {key_type!r}")


def _private_key_pem(key: _PrivateKey, key_format: str) -> bytes:
    key_type = (
        "rsa"
        if isinstance(key, rsa.RSAPrivateKey)
        else "ecdsa"
        if isinstance(key, ec.EllipticCurvePrivateKey)
        else "ed25519"
    )
    if key_format not in KEY_FORMATS[key_type]:
        raise ValueError(
            f"key_format {key_format!r} is not available for {key_type} keys; "
            f"use one of {', '.join(KEY_FORMATS[key_type])}"
        )
    # "Traditional OpenSSL" is PKCS#1 ("RSA PRIVATE KEY") for RSA and SEC1 ("EC PRIVATE KEY")
    # for EC keys.
    private_format = (
        serialization.PrivateFormat.PKCS8
        if key_format == "pkcs8"
        else serialization.PrivateFormat.TraditionalOpenSSL
    )
    return key.private_bytes(
        serialization.Encoding.PEM, private_format, serialization.NoEncryption()
    )


def _signature_hash(key: _PrivateKey) -> hashes.SHA256 | None:
    return None if isinstance(key, ed25519.Ed25519PrivateKey) else hashes.SHA256()


def _ca_subject(cluster_name: str, serial: int) -> x509.Name:
    # Teleport stores the serial number in the subject too, so that two CAs of one cluster
    # (host and user, or old and new during rotation) never share a subject.
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, cluster_name),
            x509.NameAttribute(NameOID.COMMON_NAME, cluster_name),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, str(serial)),
        ]
    )


class _TLSAuthority:
    """One self-signed TLS CA (key + certificate) that can sign leaf certificates."""

    def __init__(self, cluster_name: str, now: datetime) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        serial = x509.random_serial_number()
        subject = _ca_subject(cluster_name, serial)
        public_key = self.key.public_key()
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(public_key)
            .serial_number(serial)
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + _CA_TTL)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.certificate.public_bytes(serialization.Encoding.PEM)

    def sign_leaf(
        self,
        *,
        subject: x509.Name,
        public_key: rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
        not_before: datetime,
        not_after: datetime,
        san: x509.SubjectAlternativeName | None = None,
    ) -> bytes:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
        )
        if san is not None:
            builder = builder.add_extension(san, critical=False)
        return builder.sign(self.key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def _ssh_public_line(key: ed25519.Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
        .decode("ascii")
    )


def _ssh_string(value: bytes) -> bytes:
    # Go's ssh package (and so Teleport) wraps non-empty extension values in a second SSH string.
    return struct.pack(">I", len(value)) + value


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` with mode 0600, also when the file already existed."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, _FILE_MODE)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.chmod(path, _FILE_MODE)


class TestCertificateAuthority:
    """A cluster's host and user CAs (TLS and SSH) that issue identities and server certs.

    Not thread-safe; create one per test or fixture. Certificates are real: grpcio, OpenSSL and
    OpenSSH accept them.
    """

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, cluster_name: str = "teleport.example.com") -> None:
        if not cluster_name:
            raise ValueError("cluster_name must not be empty")
        now = datetime.now(UTC)
        self.cluster_name = cluster_name
        self._host_tls = _TLSAuthority(cluster_name, now)
        self._user_tls = _TLSAuthority(cluster_name, now)
        self._host_ssh = ed25519.Ed25519PrivateKey.generate()
        self._user_ssh = ed25519.Ed25519PrivateKey.generate()
        self.host_ca_pem: bytes = self._host_tls.pem
        self.user_ca_pem: bytes = self._user_tls.pem

    @property
    def ssh_host_ca_public_key(self) -> str:
        """The host CA's SSH public key, authorized_keys format ("ssh-ed25519 AAAA...")."""
        return _ssh_public_line(self._host_ssh)

    @property
    def ssh_user_ca_public_key(self) -> str:
        """The user CA's SSH public key: it signs users' OpenSSH certificates."""
        return _ssh_public_line(self._user_ssh)

    def ssh_ca_lines(self, proxy_host: str | None = None) -> tuple[str, ...]:
        """The `@cert-authority` known_hosts lines for the host CA, as identity files carry them.

        `<proxy_host>,` leads the host list only when a proxy address is known, as in Teleport.
        """
        hosts = [self.cluster_name, f"*.{self.cluster_name}"]
        if proxy_host:
            hosts.insert(0, proxy_host)
        return (f"@cert-authority {','.join(hosts)} {self.ssh_host_ca_public_key} type=host",)

    def issue_identity(
        self,
        username: str,
        *,
        roles: Sequence[str] = (),
        ttl: timedelta = timedelta(hours=1),
        not_before: datetime | None = None,
        key_type: str = "ecdsa",
        key_format: str = "pkcs8",
        logins: Sequence[str] = (),
        proxy_host: str | None = None,
    ) -> Identity:
        """Issue a user's identity: key, TLS cert (user CA), SSH cert (user CA), host CA roots.

        Validity: from one minute ago until `ttl` from now, like Teleport; with `not_before`
        given, from `not_before` until `not_before + ttl` (to make expired or not-yet-valid
        credentials). `key_type` is "ecdsa" (P-256), "rsa" (2048) or "ed25519"; `key_format`
        "pkcs8", "pkcs1" (RSA) or "sec1" (ECDSA). `logins` become the SSH principals.
        """
        if not username:
            raise ValueError("username must not be empty")
        if ttl <= timedelta(0):
            raise ValueError(f"ttl must be positive, got {ttl}")
        key = _new_key(key_type)
        key_pem = _private_key_pem(key, key_format)
        if not_before is None:
            now = datetime.now(UTC)
            start, end = now - _BACKDATE, now + ttl
        else:
            start = not_before if not_before.tzinfo else not_before.replace(tzinfo=UTC)
            end = start + ttl
        # Teleport's subject: CN=user, O=each role (pkix order puts O before CN).
        subject = x509.Name(
            [x509.NameAttribute(NameOID.ORGANIZATION_NAME, role) for role in roles]
            + [x509.NameAttribute(NameOID.COMMON_NAME, username)]
        )
        certificate_pem = self._user_tls.sign_leaf(
            subject=subject, public_key=key.public_key(), not_before=start, not_after=end
        )
        return Identity(
            private_key_pem=key_pem,
            certificate_pem=certificate_pem,
            ca_pems=(self.host_ca_pem,),
            ssh_certificate=self._ssh_user_certificate(key, username, roles, logins, start, end),
            ssh_ca_lines=self.ssh_ca_lines(proxy_host),
        )

    def _ssh_user_certificate(
        self,
        key: _PrivateKey,
        username: str,
        roles: Sequence[str],
        logins: Sequence[str],
        start: datetime,
        end: datetime,
    ) -> str:
        principals = list(logins) or [f"-teleport-nologin-{uuid.uuid4()}"]
        principals.append(_JOIN_PRINCIPAL)
        builder = (
            serialization.SSHCertificateBuilder()
            .public_key(key.public_key())
            .serial(secrets.randbits(64))
            .type(serialization.SSHCertificateType.USER)
            .key_id(username.encode())
            .valid_principals([principal.encode() for principal in principals])
            .valid_after(int(start.timestamp()))
            .valid_before(int(end.timestamp()))
        )
        for flag in ("permit-agent-forwarding", "permit-port-forwarding", "permit-pty"):
            builder = builder.add_extension(flag.encode(), b"")
        roles_json = json.dumps({"version": "v1", "roles": list(roles)}, separators=(",", ":"))
        builder = builder.add_extension(b"teleport-roles", _ssh_string(roles_json.encode()))
        builder = builder.add_extension(
            b"teleport-route-to-cluster", _ssh_string(self.cluster_name.encode())
        )
        return builder.sign(self._user_ssh).public_bytes().decode("ascii")

    def issue_server_credentials(
        self,
        *,
        dns_names: Sequence[str] = (
            "teleport.cluster.local",
            "*.teleport.cluster.local",
            "localhost",
        ),
        ip_addresses: Sequence[str] = ("127.0.0.1",),
    ) -> tuple[bytes, bytes]:
        """(key_pem, cert_pem) for an Auth Service (or Proxy) TLS server, signed by the host CA.

        The default names are those every Teleport host certificate carries
        (`teleport.cluster.local`, `*.teleport.cluster.local`) plus loopback.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Admin"),
                x509.NameAttribute(NameOID.COMMON_NAME, f"{uuid.uuid4()}.{self.cluster_name}"),
            ]
        )
        names: list[x509.GeneralName] = [x509.DNSName(name) for name in dns_names]
        names += [x509.IPAddress(ip_address(address)) for address in ip_addresses]
        certificate_pem = self._host_tls.sign_leaf(
            subject=subject,
            public_key=key.public_key(),
            not_before=now - _BACKDATE,
            not_after=now + _CA_TTL / 10,
            san=x509.SubjectAlternativeName(names) if names else None,
        )
        return _private_key_pem(key, "pkcs8"), certificate_pem

    def identity_file_bytes(self, identity: Identity) -> bytes:
        """The identity file exactly as `tctl auth sign --format=file` lays it out."""
        return encode_identity_file(
            private_key_pem=identity.private_key_pem,
            ssh_certificate=identity.ssh_certificate,
            certificate_pem=identity.certificate_pem,
            ssh_ca_lines=identity.ssh_ca_lines,
            ca_pems=identity.ca_pems,
        )

    def write_identity_file(self, path: str | os.PathLike[str], identity: Identity) -> Path:
        """Write the identity file (mode 0600, replacing any file there) and return its path."""
        target = Path(path)
        _write_private(target, self.identity_file_bytes(identity))
        return target

    def write_tls_files(
        self, directory: str | os.PathLike[str], identity: Identity, *, prefix: str = "identity"
    ) -> tuple[Path, Path, Path]:
        """Write `<prefix>.key`, `.crt`, `.cas` like `tctl auth sign --format=tls` (mode 0600).

        Returns (key path, certificate path, CA path).
        """
        base = Path(directory)
        key_path, cert_path, cas_path = (
            base / f"{prefix}{ext}" for ext in (".key", ".crt", ".cas")
        )
        _write_private(key_path, identity.private_key_pem)
        _write_private(cert_path, identity.certificate_pem)
        _write_private(cas_path, b"".join(identity.ca_pems))
        return key_path, cert_path, cas_path

    def write_tbot_destination(self, directory: str | os.PathLike[str], identity: Identity) -> Path:
        """Write the files of a tbot `identity` output into `directory`; return the directory.

        `identity` (the identity file), `key`, `tlscert`, `key-cert.pub`, `teleport-host-ca.crt`,
        `teleport-user-ca.crt` and `known_hosts`, all mode 0600, the names tbot uses.
        """
        base = Path(directory)
        base.mkdir(parents=True, exist_ok=True)
        files = {
            "identity": self.identity_file_bytes(identity),
            "key": identity.private_key_pem,
            "tlscert": identity.certificate_pem,
            "key-cert.pub": (identity.ssh_certificate or "").encode() + b"\n",
            "teleport-host-ca.crt": b"".join(identity.ca_pems),
            "teleport-user-ca.crt": self.user_ca_pem,
            "known_hosts": "".join(line + "\n" for line in identity.ssh_ca_lines).encode(),
        }
        for name, data in files.items():
            _write_private(base / name, data)
        return base

    def __repr__(self) -> str:
        return f"TestCertificateAuthority(cluster_name={self.cluster_name!r})"
