"""A throwaway certificate authority and server certificate, so the fake PagerDuty can serve HTTPS.

Some clients (PagerDuty's own `pagerduty` library among them) refuse a base URL that is not
`https://`. `TestCA` makes a CA and a certificate for `localhost`, `127.0.0.1` and `::1`, signed
by it, with the extensions strict verifiers (Python 3.13's `VERIFY_X509_STRICT`) ask for. The
CA's certificate is written to a PEM file (`ca_file`) that any client can be told to trust; the
directory is removed when the `TestCA` is garbage collected or `cleanup()` is called.
"""

from __future__ import annotations

import ipaddress
import shutil
import ssl
import tempfile
import weakref
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["TestCA"]

_LIFETIME = timedelta(days=30)
_HOSTS = ("localhost",)
_ADDRESSES = ("127.0.0.1", "::1")


def _key_usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=not cert_sign,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "pagerduty_client.testing"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


class TestCA:
    """A CA, a server certificate for the loopback names it signed, and the PEM files."""

    __test__ = False  # not a pytest test class, whatever its name says

    def __init__(self) -> None:
        now = datetime.now(UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = _name("fake PagerDuty test CA")
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(cert_sign=True), critical=True)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        server_key = ec.generate_private_key(ec.SECP256R1())
        names: list[x509.GeneralName] = [x509.DNSName(host) for host in _HOSTS]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in _ADDRESSES]
        server_cert = (
            x509.CertificateBuilder()
            .subject_name(_name("localhost"))
            .issuer_name(ca_name)
            .public_key(server_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + _LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        self.directory = Path(tempfile.mkdtemp(prefix="fake-pagerduty-tls-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.directory, True)
        #: The CA certificate (PEM) a client trusts to reach the fake over HTTPS.
        self.ca_file = self.directory / "ca.pem"
        self.ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
        self._cert_file = self.directory / "server.pem"
        self._cert_file.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
        self._key_file = self.directory / "server-key.pem"
        self._key_file.write_bytes(
            server_key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )

    def server_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the loopback certificate."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert_file, self._key_file)
        return context

    def cleanup(self) -> None:
        """Remove the PEM files now rather than at garbage collection."""
        self._cleanup()
