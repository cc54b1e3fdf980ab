"""Loading identity files and TLS files into an Identity; the Identity's derived facts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from teleport_access._credentials import (
    Identity,
    IdentitySource,
    StaticIdentity,
    load_identity_file,
    load_tls_files,
    parse_identity_file,
)
from teleport_access._exceptions import CredentialsError, CredentialsExpired
from teleport_access.testing._pki import TestCertificateAuthority

KEY_VARIANTS = [
    ("ecdsa", "pkcs8", "-----BEGIN PRIVATE KEY-----"),
    ("ecdsa", "sec1", "-----BEGIN EC PRIVATE KEY-----"),
    ("rsa", "pkcs1", "-----BEGIN RSA PRIVATE KEY-----"),
    ("rsa", "pkcs8", "-----BEGIN PRIVATE KEY-----"),
    ("ed25519", "pkcs8", "-----BEGIN PRIVATE KEY-----"),
]


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority("example.com")


@pytest.fixture(scope="module")
def identity(ca: TestCertificateAuthority) -> Identity:
    return ca.issue_identity("access-plugin", roles=["access-plugin", "reviewer"])


def key_body(identity: Identity) -> str:
    """The base64 body of the private key, to check it never leaks into text."""
    lines = identity.private_key_pem.decode().strip().splitlines()
    return "".join(lines[1:-1])


def test_identity_file_loads_with_user_roles_and_cluster_from_the_certificate(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    path = ca.write_identity_file(tmp_path / "identity", identity)
    loaded = load_identity_file(path)
    assert loaded.username == "access-plugin"
    assert loaded.roles == ("access-plugin", "reviewer")
    assert loaded.cluster_name == "example.com"
    assert loaded.source == str(path)
    assert loaded.ca_pems == (ca.host_ca_pem,)
    assert loaded.ssh_certificate == identity.ssh_certificate
    assert loaded.ssh_ca_lines == identity.ssh_ca_lines


def test_loaded_identity_equals_the_issued_one_apart_from_its_source(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    loaded = load_identity_file(ca.write_identity_file(tmp_path / "identity", identity))
    assert loaded.private_key_pem == identity.private_key_pem
    assert loaded.certificate_pem == identity.certificate_pem


@pytest.mark.parametrize(("key_type", "key_format", "marker"), KEY_VARIANTS)
def test_every_private_key_format_and_type_teleport_writes_loads(
    ca: TestCertificateAuthority, tmp_path: Path, key_type: str, key_format: str, marker: str
) -> None:
    issued = ca.issue_identity("bot", key_type=key_type, key_format=key_format)
    path = ca.write_identity_file(tmp_path / "identity", issued)
    assert path.read_text().startswith(marker)
    loaded = load_identity_file(path)
    assert loaded.key_type == key_type
    assert loaded.private_key_pem.decode().startswith(marker)


@pytest.mark.parametrize(("key_type", "key_format", "marker"), KEY_VARIANTS)
def test_the_three_tls_files_load_for_every_key_format(
    ca: TestCertificateAuthority, tmp_path: Path, key_type: str, key_format: str, marker: str
) -> None:
    issued = ca.issue_identity("bot", key_type=key_type, key_format=key_format)
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, issued)
    loaded = load_tls_files(key_path, cert_path, cas_path)
    assert loaded.key_type == key_type
    assert loaded.certificate_pem == issued.certificate_pem
    assert loaded.ca_pems == issued.ca_pems
    assert loaded.ssh_certificate is None
    assert str(key_path) in loaded.source
    assert str(cert_path) in loaded.source


def test_tls_ca_file_with_several_certificates_yields_one_root_each(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    other = TestCertificateAuthority("example.com")
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    cas_path.write_bytes(ca.host_ca_pem + other.host_ca_pem)
    loaded = load_tls_files(key_path, cert_path, cas_path)
    assert loaded.ca_pems == (ca.host_ca_pem, other.host_ca_pem)


def test_tbot_style_identity_file_with_rotation_cas_proxy_host_and_crlf_loads(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    # tbot writes the same layout; during a CA rotation it carries the old and the new host CA,
    # its @cert-authority lines lead with the proxy host, and files may pass through Windows.
    rotated = TestCertificateAuthority("example.com")
    issued = ca.issue_identity(
        "bot-pagerduty", roles=["bot-pagerduty"], key_format="sec1", proxy_host="proxy.example.com"
    )
    layout = ca.identity_file_bytes(issued) + rotated.host_ca_pem
    layout += rotated.ssh_ca_lines("proxy.example.com")[0].encode() + b"\n\n\n"
    path = tmp_path / "identity"
    path.write_bytes(b"  " + layout.replace(b"\n", b"\r\n"))
    path.chmod(0o600)
    loaded = load_identity_file(path)
    assert loaded.username == "bot-pagerduty"
    assert loaded.ca_pems == (ca.host_ca_pem, rotated.host_ca_pem)
    assert len(loaded.ssh_ca_lines) == 2
    assert all(
        line.startswith("@cert-authority proxy.example.com,example.com,*.example.com ")
        for line in loaded.ssh_ca_lines
    )
    assert loaded.ssh_certificate == issued.ssh_certificate


def test_lines_that_are_not_identity_items_are_ignored(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    text = ca.identity_file_bytes(identity)
    noisy = b"# written by hand\nsome note\n" + text.replace(
        b"@cert-authority", b"\n@cert-authority"
    )
    assert parse_identity_file(noisy + b"trailing words\n") == identity


def test_identity_file_without_ssh_certificate_loads_and_warns(
    ca: TestCertificateAuthority, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    # Teleport's own reader refuses this; for gRPC only the TLS parts matter, so we accept it.
    text = ca.identity_file_bytes(identity).replace(identity.ssh_certificate.encode(), b"")  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        loaded = parse_identity_file(text, source="/etc/tpd/identity")
    assert loaded.ssh_certificate is None
    assert loaded.certificate_pem == identity.certificate_pem
    assert "no SSH certificate line" in caplog.text
    assert "/etc/tpd/identity" in caplog.text


def test_last_ssh_certificate_line_wins_like_teleport(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    other = ca.issue_identity("someone-else")
    assert other.ssh_certificate is not None
    text = ca.identity_file_bytes(identity) + other.ssh_certificate.encode() + b"\n"
    assert parse_identity_file(text).ssh_certificate == other.ssh_certificate


def test_validity_period_is_aware_utc_and_matches_the_issued_ttl(
    ca: TestCertificateAuthority,
) -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    issued = ca.issue_identity("bot", not_before=start, ttl=timedelta(hours=8))
    assert issued.not_before == start
    assert issued.not_after == start + timedelta(hours=8)
    assert issued.not_before.tzinfo is not None
    assert issued.not_before.utcoffset() == timedelta(0)


def test_check_valid_accepts_a_moment_inside_the_validity_period(
    ca: TestCertificateAuthority,
) -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    issued = ca.issue_identity("bot", not_before=start, ttl=timedelta(hours=1))
    issued.check_valid(start)
    issued.check_valid(start + timedelta(hours=1))
    issued.check_valid(datetime(2030, 1, 1, 0, 30))  # naive means UTC


def test_expired_identity_says_when_how_long_ago_and_how_to_renew(
    ca: TestCertificateAuthority,
) -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    issued = ca.issue_identity("bot-pd", not_before=start, ttl=timedelta(hours=1))
    with pytest.raises(CredentialsExpired) as caught:
        issued.check_valid(start + timedelta(hours=4, minutes=5, seconds=9))
    message = str(caught.value)
    assert "expired at 2030-01-01 13:00:00 UTC" in message
    assert "3 hours 5 minutes ago" in message
    assert "tctl auth sign --user=bot-pd" in message
    assert "tbot" in message


def test_not_yet_valid_identity_raises_credentials_expired_pointing_at_the_clock(
    ca: TestCertificateAuthority,
) -> None:
    start = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
    issued = ca.issue_identity("bot", not_before=start, ttl=timedelta(hours=1))
    with pytest.raises(CredentialsExpired) as caught:
        issued.check_valid(start - timedelta(days=2, hours=1))
    message = str(caught.value)
    assert "not valid until 2030-01-01 12:00:00 UTC, 2 days 1 hour from now" in message
    assert "clock" in message


def test_loading_an_expired_identity_file_names_the_file_and_the_exact_renew_command(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.issue_identity(
        "bot", not_before=datetime.now(UTC) - timedelta(hours=3), ttl=timedelta(hours=1)
    )
    path = ca.write_identity_file(tmp_path / "identity", issued)
    with pytest.raises(CredentialsExpired) as caught:
        load_identity_file(path)
    assert f"--format=file --out={path}" in str(caught.value)
    assert "2 hours" in str(caught.value)
    assert caught.value.path == str(path)


def test_loading_expired_tls_files_suggests_the_tls_format(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.issue_identity(
        "bot", not_before=datetime.now(UTC) - timedelta(hours=3), ttl=timedelta(hours=1)
    )
    with pytest.raises(CredentialsExpired, match="--format=tls"):
        load_tls_files(*ca.write_tls_files(tmp_path, issued))


def test_loading_a_not_yet_valid_identity_file_raises(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.issue_identity("bot", not_before=datetime.now(UTC) + timedelta(hours=1))
    path = ca.write_identity_file(tmp_path / "identity", issued)
    with pytest.raises(CredentialsExpired, match="not valid until"):
        load_identity_file(path)


def test_validity_check_can_be_skipped_to_inspect_an_expired_file(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    issued = ca.issue_identity(
        "bot", not_before=datetime.now(UTC) - timedelta(days=2), ttl=timedelta(hours=1)
    )
    path = ca.write_identity_file(tmp_path / "identity", issued)
    loaded = load_identity_file(path, check_validity=False)
    assert loaded.not_after < datetime.now(UTC)


def test_repr_and_str_never_contain_the_private_key(identity: Identity) -> None:
    body = key_body(identity)
    for text in (repr(identity), str(identity), f"{identity}", repr(StaticIdentity(identity))):
        assert "PRIVATE KEY" not in text
        assert body not in text
        assert body[:20] not in text
    assert "access-plugin" in repr(identity)


def test_cluster_name_falls_back_to_the_issuer_common_name() -> None:
    # Real Teleport CAs carry O=<cluster>; a CA with only a CN still names its cluster.
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf.example.com")])
    now = datetime.now(UTC)
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    user_key = ec.generate_private_key(ec.SECP256R1())
    user_cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bot")]))
        .issuer_name(ca_name)
        .public_key(user_key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(hours=1))
        .sign(ca_key, hashes.SHA256())
    )
    identity = Identity(
        private_key_pem=user_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ),
        certificate_pem=user_cert.public_bytes(serialization.Encoding.PEM),
        ca_pems=(ca_cert.public_bytes(serialization.Encoding.PEM),),
    )
    assert identity.cluster_name == "leaf.example.com"
    assert identity.roles == ()


def test_cluster_name_is_the_issuer_organization_of_teleport_shaped_certificates(
    identity: Identity,
) -> None:
    issuer = x509.load_pem_x509_certificate(identity.certificate_pem).issuer
    # Like Teleport's CAs: O and CN are the cluster, plus a serial number attribute.
    assert issuer.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)[0].value == "example.com"
    assert issuer.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    assert identity.cluster_name == "example.com"


def test_direct_construction_rejects_a_key_that_does_not_match_the_certificate(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    other = ca.issue_identity("bot")
    with pytest.raises(CredentialsError, match="does not match"):
        Identity(
            private_key_pem=other.private_key_pem,
            certificate_pem=identity.certificate_pem,
            ca_pems=identity.ca_pems,
        )


def test_direct_construction_requires_a_trust_root(identity: Identity) -> None:
    with pytest.raises(CredentialsError, match="no TLS CA certificates"):
        Identity(
            private_key_pem=identity.private_key_pem,
            certificate_pem=identity.certificate_pem,
            ca_pems=(),
        )


def test_identities_with_the_same_content_are_equal_and_hashable(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    again = parse_identity_file(ca.identity_file_bytes(identity))
    assert again == identity
    assert hash(again) == hash(identity)


def test_static_identity_is_an_identity_source_that_never_changes(identity: Identity) -> None:
    source = StaticIdentity(identity)
    assert isinstance(source, IdentitySource)
    assert source.current() is identity
    assert source.generation == 0


def test_direct_construction_rejects_a_ca_entry_without_a_certificate(identity: Identity) -> None:
    with pytest.raises(CredentialsError, match="TLS CA certificate #2 holds no PEM block"):
        Identity(
            private_key_pem=identity.private_key_pem,
            certificate_pem=identity.certificate_pem,
            ca_pems=(*identity.ca_pems, b"not a certificate"),
        )


def test_direct_construction_errors_name_the_source(identity: Identity) -> None:
    with pytest.raises(CredentialsError) as caught:
        Identity(
            private_key_pem=identity.certificate_pem,
            certificate_pem=identity.certificate_pem,
            ca_pems=identity.ca_pems,
            source="vault:teleport/identity",
        )
    assert str(caught.value).startswith("Credentials from 'vault:teleport/identity': ")
    assert caught.value.path == "vault:teleport/identity"


def test_damaged_ssh_certificate_line_loads_with_a_warning(
    ca: TestCertificateAuthority, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    assert identity.ssh_certificate is not None
    _, body = identity.ssh_certificate.split(" ", 1)
    text = ca.identity_file_bytes(identity).replace(body.encode(), b"AAAA" + body[8:].encode())
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        loaded = parse_identity_file(text, source="/etc/tpd/identity")
    assert loaded.certificate_pem == identity.certificate_pem
    assert "the SSH certificate line is damaged" in caplog.text


def test_ssh_certificate_for_another_key_loads_with_a_warning(
    ca: TestCertificateAuthority, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    assert identity.ssh_certificate is not None
    other = ca.issue_identity("access-plugin")
    assert other.ssh_certificate is not None
    text = ca.identity_file_bytes(identity).replace(
        identity.ssh_certificate.encode(), other.ssh_certificate.encode()
    )
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        parse_identity_file(text)
    assert "the SSH certificate is for another key" in caplog.text


def test_valid_ssh_certificate_loads_without_warnings(
    ca: TestCertificateAuthority, identity: Identity, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        parse_identity_file(ca.identity_file_bytes(identity))
    assert caplog.records == []
