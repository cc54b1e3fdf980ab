"""TestCertificateAuthority issues Teleport-shaped, real certificates and identity files."""

from __future__ import annotations

import json
import re
import socket
import ssl
import stat
import struct
import threading
from collections.abc import Iterator
from concurrent import futures
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path
from typing import cast

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from teleport_access._credentials import Identity, load_identity_file, load_tls_files
from teleport_access.testing._pki import TestCertificateAuthority

CLUSTER = "example.com"


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority(CLUSTER)


@pytest.fixture(scope="module")
def identity(ca: TestCertificateAuthority) -> Identity:
    return ca.issue_identity("alice@example.com", roles=["access", "reviewer"], logins=["alice"])


def cert(pem: bytes) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem)


def attrs_of(name: x509.Name, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in name.get_attributes_for_oid(oid)]


def ssh_certificate(identity: Identity) -> serialization.SSHCertificate:
    assert identity.ssh_certificate is not None
    loaded = serialization.load_ssh_public_identity(identity.ssh_certificate.encode())
    assert isinstance(loaded, serialization.SSHCertificate)
    return loaded


def public_der(key: object) -> bytes:
    return key.public_bytes(  # type: ignore[attr-defined,no-any-return]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


# --- certificate authorities ------------------------------------------------------------------


def test_test_certificate_authority_is_not_collected_by_pytest() -> None:
    assert TestCertificateAuthority.__test__ is False


@pytest.mark.parametrize("which", ["host_ca_pem", "user_ca_pem"])
def test_ca_subject_is_cluster_name_as_organization_and_common_name(
    ca: TestCertificateAuthority, which: str
) -> None:
    certificate = cert(getattr(ca, which))
    assert attrs_of(certificate.subject, NameOID.ORGANIZATION_NAME) == [CLUSTER]
    assert attrs_of(certificate.subject, NameOID.COMMON_NAME) == [CLUSTER]
    assert attrs_of(certificate.subject, NameOID.SERIAL_NUMBER) == [str(certificate.serial_number)]
    assert certificate.issuer == certificate.subject
    certificate.verify_directly_issued_by(certificate)
    basic = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.value.ca is True
    assert certificate.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_host_and_user_cas_are_distinct_authorities(ca: TestCertificateAuthority) -> None:
    host, user = cert(ca.host_ca_pem), cert(ca.user_ca_pem)
    assert host.subject != user.subject
    assert public_der(host.public_key()) != public_der(user.public_key())
    assert host.not_valid_after_utc - datetime.now(UTC) > timedelta(days=3000)


def test_empty_cluster_name_is_refused() -> None:
    with pytest.raises(ValueError, match="cluster_name"):
        TestCertificateAuthority("")


# --- user identities --------------------------------------------------------------------------


def test_user_certificate_subject_is_user_as_common_name_and_roles_as_organizations(
    identity: Identity,
) -> None:
    certificate = cert(identity.certificate_pem)
    assert attrs_of(certificate.subject, NameOID.COMMON_NAME) == ["alice@example.com"]
    assert attrs_of(certificate.subject, NameOID.ORGANIZATION_NAME) == ["access", "reviewer"]
    assert identity.username == "alice@example.com"
    assert identity.roles == ("access", "reviewer")
    assert identity.cluster_name == CLUSTER


def test_user_certificate_is_signed_by_the_user_ca_and_trusts_the_host_ca(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    certificate = cert(identity.certificate_pem)
    certificate.verify_directly_issued_by(cert(ca.user_ca_pem))
    assert certificate.issuer == cert(ca.user_ca_pem).subject
    assert identity.ca_pems == (ca.host_ca_pem,)


def test_user_certificate_is_for_client_and_server_auth_and_not_a_ca(identity: Identity) -> None:
    certificate = cert(identity.certificate_pem)
    usages = certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usages
    assert ExtendedKeyUsageOID.SERVER_AUTH in usages
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False


def test_default_validity_is_backdated_a_minute_and_lasts_the_ttl(
    ca: TestCertificateAuthority,
) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    issued = ca.issue_identity("bot", ttl=timedelta(hours=2))
    after = datetime.now(UTC)
    assert before - timedelta(minutes=1, seconds=1) <= issued.not_before
    assert issued.not_before <= after - timedelta(minutes=1)
    assert before + timedelta(hours=2) - timedelta(seconds=1) <= issued.not_after
    assert issued.not_after <= after + timedelta(hours=2)


def test_explicit_not_before_runs_for_the_ttl_from_that_moment(
    ca: TestCertificateAuthority,
) -> None:
    start = datetime(2020, 5, 1, 8, 0, tzinfo=UTC)
    issued = ca.issue_identity("bot", not_before=start, ttl=timedelta(minutes=30))
    assert (issued.not_before, issued.not_after) == (start, start + timedelta(minutes=30))
    ssh = ssh_certificate(issued)
    assert (ssh.valid_after, ssh.valid_before) == (
        int(start.timestamp()),
        int((start + timedelta(minutes=30)).timestamp()),
    )


@pytest.mark.parametrize(
    ("key_type", "key_format", "label"),
    [
        ("ecdsa", "pkcs8", "PRIVATE KEY"),
        ("ecdsa", "sec1", "EC PRIVATE KEY"),
        ("rsa", "pkcs1", "RSA PRIVATE KEY"),
        ("rsa", "pkcs8", "PRIVATE KEY"),
        ("ed25519", "pkcs8", "PRIVATE KEY"),
    ],
)
def test_key_type_and_format_choose_the_key_and_its_pem_label(
    ca: TestCertificateAuthority, key_type: str, key_format: str, label: str
) -> None:
    issued = ca.issue_identity("bot", key_type=key_type, key_format=key_format)
    assert issued.private_key_pem.startswith(f"-----BEGIN {label}-----\n".encode())
    assert issued.key_type == key_type


@pytest.mark.parametrize(
    ("key_type", "key_format"),
    [("ecdsa", "pkcs1"), ("rsa", "sec1"), ("ed25519", "sec1"), ("ed25519", "pkcs1")],
)
def test_key_formats_a_key_type_cannot_have_are_refused(
    ca: TestCertificateAuthority, key_type: str, key_format: str
) -> None:
    with pytest.raises(ValueError, match="key_format"):
        ca.issue_identity("bot", key_type=key_type, key_format=key_format)


def test_unknown_key_type_is_refused(ca: TestCertificateAuthority) -> None:
    with pytest.raises(ValueError, match="key_type"):
        ca.issue_identity("bot", key_type="dsa")


def test_non_positive_ttl_is_refused(ca: TestCertificateAuthority) -> None:
    with pytest.raises(ValueError, match="ttl"):
        ca.issue_identity("bot", ttl=timedelta(0))


# --- SSH parts --------------------------------------------------------------------------------


def test_ssh_certificate_is_a_real_openssh_user_certificate_signed_by_the_user_ca(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    ssh = ssh_certificate(identity)
    ssh.verify_cert_signature()
    signer = ssh.signature_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert signer.decode() == ca.ssh_user_ca_public_key
    assert ssh.type == serialization.SSHCertificateType.USER
    assert ssh.key_id == b"alice@example.com"
    assert ssh.valid_principals == [b"alice", b"-teleport-internal-join"]


def test_ssh_certificate_certifies_the_identity_key(identity: Identity) -> None:
    ssh = ssh_certificate(identity)
    key = serialization.load_pem_private_key(identity.private_key_pem, None)
    assert ssh.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    ) == key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    assert identity.ssh_certificate is not None
    assert identity.ssh_certificate.startswith("ecdsa-sha2-nistp256-cert-v01@openssh.com AAAA")


def test_ssh_certificate_carries_teleport_roles_and_cluster_extensions(
    identity: Identity,
) -> None:
    extensions = ssh_certificate(identity).extensions

    def unwrap(value: bytes) -> bytes:  # Go nests non-empty extension values in a string
        (length,) = struct.unpack(">I", value[:4])
        assert len(value) == 4 + length
        return value[4:]

    assert json.loads(unwrap(extensions[b"teleport-roles"])) == {
        "version": "v1",
        "roles": ["access", "reviewer"],
    }
    assert unwrap(extensions[b"teleport-route-to-cluster"]) == CLUSTER.encode()
    assert extensions[b"permit-pty"] == b""


def test_user_without_logins_gets_teleport_no_login_principal(
    ca: TestCertificateAuthority,
) -> None:
    principals = ssh_certificate(ca.issue_identity("bot")).valid_principals
    assert principals[0].startswith(b"-teleport-nologin-")
    assert principals[1] == b"-teleport-internal-join"


def test_cert_authority_lines_are_known_hosts_entries_for_the_host_ca(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    assert identity.ssh_ca_lines == (
        f"@cert-authority {CLUSTER},*.{CLUSTER} {ca.ssh_host_ca_public_key} type=host",
    )
    assert re.fullmatch(r"ssh-ed25519 AAAA[A-Za-z0-9+/=]+", ca.ssh_host_ca_public_key)
    assert ca.ssh_host_ca_public_key != ca.ssh_user_ca_public_key


def test_proxy_host_leads_the_cert_authority_host_list(ca: TestCertificateAuthority) -> None:
    issued = ca.issue_identity("bot", proxy_host="proxy.example.com:443")
    assert issued.ssh_ca_lines[0].startswith(
        f"@cert-authority proxy.example.com:443,{CLUSTER},*.{CLUSTER} ssh-ed25519 "
    )


# --- files ------------------------------------------------------------------------------------


def test_identity_file_has_tctl_order_key_ssh_cert_tls_cert_ssh_cas_tls_cas(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    assert identity.ssh_certificate is not None
    expected = (
        identity.private_key_pem
        + identity.ssh_certificate.encode()
        + b"\n"
        + identity.certificate_pem
        + identity.ssh_ca_lines[0].encode()
        + b"\n"
        + ca.host_ca_pem
    )
    assert ca.identity_file_bytes(identity) == expected


def test_identity_file_round_trips_through_the_loader(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    loaded = load_identity_file(ca.write_identity_file(tmp_path / "identity", identity))
    assert (loaded.private_key_pem, loaded.certificate_pem, loaded.ca_pems) == (
        identity.private_key_pem,
        identity.certificate_pem,
        identity.ca_pems,
    )
    assert (loaded.ssh_certificate, loaded.ssh_ca_lines) == (
        identity.ssh_certificate,
        identity.ssh_ca_lines,
    )


def test_identity_file_is_written_with_mode_0600_even_over_a_readable_file(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    path = tmp_path / "identity"
    path.write_text("old")
    path.chmod(0o644)
    assert ca.write_identity_file(str(path), identity) == path
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == ca.identity_file_bytes(identity)


def test_tls_files_are_key_crt_and_cas_with_mode_0600(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity, prefix="bot")
    assert [p.name for p in (key_path, cert_path, cas_path)] == ["bot.key", "bot.crt", "bot.cas"]
    assert key_path.read_bytes() == identity.private_key_pem
    assert cert_path.read_bytes() == identity.certificate_pem
    assert cas_path.read_bytes() == ca.host_ca_pem
    for path in (key_path, cert_path, cas_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --- server credentials -----------------------------------------------------------------------


def test_server_certificate_is_signed_by_the_host_ca_with_teleport_names(
    ca: TestCertificateAuthority,
) -> None:
    key_pem, cert_pem = ca.issue_server_credentials()
    certificate = cert(cert_pem)
    certificate.verify_directly_issued_by(cert(ca.host_ca_pem))
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == [
        "teleport.cluster.local",
        "*.teleport.cluster.local",
        "localhost",
    ]
    assert names.get_values_for_type(x509.IPAddress) == [ip_address("127.0.0.1")]
    key = serialization.load_pem_private_key(key_pem, None)
    assert public_der(key.public_key()) == public_der(certificate.public_key())


def test_server_names_can_be_chosen(ca: TestCertificateAuthority) -> None:
    _, cert_pem = ca.issue_server_credentials(dns_names=["auth.example.com"], ip_addresses=[])
    names = cert(cert_pem).extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["auth.example.com"]
    assert names.get_values_for_type(x509.IPAddress) == []


# --- the certificates work for real mutual TLS ------------------------------------------------


@pytest.fixture(scope="module")
def grpc_server(ca: TestCertificateAuthority) -> Iterator[int]:
    """A gRPC server on 127.0.0.1 that requires client certs from the user CA and echoes the CN."""

    def whoami(request: bytes, context: grpc.ServicerContext) -> bytes:
        # grpc's stubs type the values as bytes; at run time each is a list of bytes.
        names = cast(list[bytes], context.auth_context()["x509_common_name"])
        return names[0]

    handler = grpc.method_handlers_generic_handler(
        "test.Who", {"Am": grpc.unary_unary_rpc_method_handler(whoami)}
    )
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((handler,))
    key_pem, cert_pem = ca.issue_server_credentials()
    credentials = grpc.ssl_server_credentials(
        [(key_pem, cert_pem)], root_certificates=ca.user_ca_pem, require_client_auth=True
    )
    port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    yield port
    server.stop(None).wait()


def call_whoami(port: int, identity: Identity) -> bytes:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=b"".join(identity.ca_pems),
        private_key=identity.private_key_pem,
        certificate_chain=identity.certificate_pem,
    )
    options = [("grpc.ssl_target_name_override", "teleport.cluster.local")]
    with grpc.secure_channel(f"127.0.0.1:{port}", credentials, options=options) as channel:
        whoami: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary("/test.Who/Am")
        return whoami(b"", timeout=20)


@pytest.mark.parametrize(
    ("key_type", "key_format"),
    [("ecdsa", "pkcs8"), ("ecdsa", "sec1"), ("rsa", "pkcs1"), ("rsa", "pkcs8")],
)
def test_identity_completes_mutual_tls_with_a_grpc_server_using_the_server_credentials(
    ca: TestCertificateAuthority, grpc_server: int, key_type: str, key_format: str
) -> None:
    issued = ca.issue_identity("bot", key_type=key_type, key_format=key_format)
    assert call_whoami(grpc_server, issued) == b"bot"


def test_identity_from_another_cluster_is_refused_by_the_grpc_server(grpc_server: int) -> None:
    stranger = TestCertificateAuthority(CLUSTER).issue_identity("mallory")
    with pytest.raises(grpc.RpcError) as caught:
        call_whoami(grpc_server, stranger)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


def test_ed25519_identity_completes_mutual_tls_with_openssl(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    # grpcio's server side (BoringSSL) does not accept Ed25519 client signatures, so this key
    # type is checked against OpenSSL through the ssl module instead.
    issued = ca.issue_identity("bot", key_type="ed25519")
    server_key, server_cert = ca.issue_server_credentials()
    (tmp_path / "server.key").write_bytes(server_key)
    (tmp_path / "server.crt").write_bytes(server_cert)
    key_path, cert_path, _ = ca.write_tls_files(tmp_path, issued)

    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "server.crt", tmp_path / "server.key")
    server_context.load_verify_locations(cadata=ca.user_ca_pem.decode())
    server_context.verify_mode = ssl.CERT_REQUIRED
    client_context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_context.load_verify_locations(cadata=issued.ca_pems[0].decode())
    client_context.load_cert_chain(cert_path, key_path)

    seen: dict[str, object] = {}
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]

        def serve() -> None:
            connection, _ = listener.accept()
            with server_context.wrap_socket(connection, server_side=True) as tls:
                seen["peer"] = tls.getpeercert()
                tls.sendall(b"ok")

        thread = threading.Thread(target=serve)
        thread.start()
        try:
            with (
                socket.create_connection(("127.0.0.1", port), timeout=20) as raw,
                client_context.wrap_socket(raw, server_hostname="teleport.cluster.local") as tls,
            ):
                assert tls.recv(2) == b"ok"
        finally:
            thread.join(timeout=20)
    peer = seen["peer"]
    assert isinstance(peer, dict)
    assert (("commonName", "bot"),) in peer["subject"]


def test_tbot_destination_loads_as_identity_file_and_as_three_tls_files(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    destination = ca.write_tbot_destination(tmp_path / "bot", identity)
    names = sorted(path.name for path in destination.iterdir())
    assert names == sorted(
        [
            "identity",
            "key",
            "tlscert",
            "key-cert.pub",
            "teleport-host-ca.crt",
            "teleport-user-ca.crt",
            "known_hosts",
        ]
    )
    for path in destination.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    from_file = load_identity_file(destination / "identity")
    from_tls = load_tls_files(
        destination / "key", destination / "tlscert", destination / "teleport-host-ca.crt"
    )
    assert from_file.certificate_pem == from_tls.certificate_pem == identity.certificate_pem
    assert (destination / "known_hosts").read_text().startswith("@cert-authority ")
