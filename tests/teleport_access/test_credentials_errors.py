"""Every way credentials can be unusable gives a CredentialsError that names the file and problem.

No message may contain key material; `assert_clean` checks that on every error.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, x25519

from teleport_access._credentials import (
    MAX_FILE_SIZE,
    Identity,
    load_identity_file,
    load_tls_files,
    parse_identity_file,
)
from teleport_access._exceptions import CredentialsError
from teleport_access.testing._pki import TestCertificateAuthority


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority("example.com")


@pytest.fixture(scope="module")
def identity(ca: TestCertificateAuthority) -> Identity:
    return ca.issue_identity("access-plugin", roles=["access-plugin"])


@pytest.fixture
def id_text(ca: TestCertificateAuthority, identity: Identity) -> bytes:
    return ca.identity_file_bytes(identity)


def assert_clean(error: CredentialsError, identity: Identity) -> None:
    """The message never repeats any part of the key."""
    lines = identity.private_key_pem.decode().strip().splitlines()[1:-1]
    for line in lines:
        assert line[:16] not in str(error)


def load_error(path: Path, identity: Identity) -> CredentialsError:
    with pytest.raises(CredentialsError) as caught:
        load_identity_file(path)
    assert_clean(caught.value, identity)
    return caught.value


def parse_error(text: bytes, identity: Identity) -> str:
    with pytest.raises(CredentialsError) as caught:
        parse_identity_file(text, source="/etc/tpd/identity")
    assert_clean(caught.value, identity)
    message = str(caught.value)
    assert "'/etc/tpd/identity'" in message
    return message


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    path.chmod(0o600)
    return path


def blocks(text: bytes) -> list[bytes]:
    """The PEM blocks of an identity file, in order."""
    found: list[bytes] = []
    rest = text
    while b"-----BEGIN" in rest:
        start = rest.index(b"-----BEGIN")
        end = rest.index(b"-----\n", rest.index(b"-----END", start) + 8) + 6
        found.append(rest[start:end])
        rest = rest[end:]
    return found


# --- the file itself --------------------------------------------------------------------------


def test_missing_file_is_named_with_how_to_create_one(tmp_path: Path, identity: Identity) -> None:
    error = load_error(tmp_path / "nope", identity)
    assert f"Identity file '{tmp_path / 'nope'}' does not exist" in str(error)
    assert "tctl auth sign" in str(error)
    assert error.path == str(tmp_path / "nope")


def test_missing_tls_key_file_is_named_with_the_tls_format_hint(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    key_path.unlink()
    with pytest.raises(CredentialsError) as caught:
        load_tls_files(key_path, cert_path, cas_path)
    assert f"TLS key file '{key_path}' does not exist" in str(caught.value)
    assert "--format=tls" in str(caught.value)


def test_directory_is_refused_and_a_tbot_destination_gets_a_hint(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    assert "is a directory" in str(load_error(tmp_path, identity))
    ca.write_identity_file(tmp_path / "identity", identity)
    error = load_error(tmp_path, identity)
    assert f"use '{tmp_path / 'identity'}'" in str(error)


def test_a_fifo_is_refused_instead_of_blocking(tmp_path: Path, identity: Identity) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert "not a regular file" in str(load_error(fifo, identity))


def test_empty_file_is_reported_as_empty(tmp_path: Path, identity: Identity) -> None:
    assert "is empty" in str(load_error(write(tmp_path / "identity", b""), identity))


def test_whitespace_only_file_is_reported_as_empty(tmp_path: Path, identity: Identity) -> None:
    assert "is empty" in str(load_error(write(tmp_path / "identity", b" \r\n\n\t"), identity))


def test_huge_file_is_refused_without_reading_it_all(tmp_path: Path, identity: Identity) -> None:
    path = write(tmp_path / "identity", b"x" * (MAX_FILE_SIZE + 1))
    assert "larger than 1024 KiB" in str(load_error(path, identity))


@pytest.fixture
def world_dir() -> Iterator[Path]:
    """A directory outside pytest's private tmp tree that other users may traverse."""
    directory = Path(tempfile.mkdtemp(prefix="tpd-cred-"))
    directory.chmod(0o755)
    yield directory
    shutil.rmtree(directory)


def load_message_as_other_user(path: Path) -> str:
    """Load as an unprivileged user: as root, in a forked child that drops to 'nobody'."""
    if os.geteuid() != 0:
        try:
            load_identity_file(path)
        except CredentialsError as exc:
            return str(exc)
        return "loaded"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                load_identity_file(path)
                message = "loaded"
            except CredentialsError as exc:
                message = str(exc)
            os.write(write_end, message.encode())
        finally:
            os._exit(0)
    os.close(write_end)
    chunks = []
    while chunk := os.read(read_end, 65536):
        chunks.append(chunk)
    os.close(read_end)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_unreadable_file_says_permission_denied_with_owner_and_mode(
    ca: TestCertificateAuthority, identity: Identity, world_dir: Path
) -> None:
    path = ca.write_identity_file(world_dir / "identity", identity)
    path.chmod(0o600)
    if os.geteuid() != 0:
        pytest.skip("needs a file owned by someone else; covered when the suite runs as root")
    message = load_message_as_other_user(path)
    assert f"Identity file '{path}' cannot be read: permission denied" in message
    assert "mode 0600" in message


def test_unreadable_own_file_says_permission_denied(
    ca: TestCertificateAuthority, identity: Identity, world_dir: Path
) -> None:
    path = ca.write_identity_file(world_dir / "identity", identity)
    path.chmod(0o000)
    message = load_message_as_other_user(path)
    assert "cannot be read: permission denied" in message


def test_unreachable_directory_says_permission_denied_on_a_directory_above(
    ca: TestCertificateAuthority, identity: Identity, world_dir: Path
) -> None:
    inner = world_dir / "private"
    inner.mkdir(mode=0o700)
    path = ca.write_identity_file(inner / "identity", identity)
    if os.geteuid() != 0:
        inner.chmod(0o000)
    try:
        message = load_message_as_other_user(path)
    finally:
        inner.chmod(0o700)
    assert "permission denied on a directory above it" in message


# --- layout -----------------------------------------------------------------------------------


def test_text_without_pem_blocks_has_no_private_key(identity: Identity) -> None:
    message = parse_error(b"hello\nworld\n", identity)
    assert "contains no private key" in message


def test_file_starting_with_a_certificate_is_recognised_as_a_tls_cert_file(
    identity: Identity,
) -> None:
    message = parse_error(identity.certificate_pem + b"".join(identity.ca_pems), identity)
    assert "(line 1)" in message
    assert "starts with a CERTIFICATE" in message
    assert "--format=tls" in message


def test_key_without_certificate_says_no_tls_certificate(identity: Identity) -> None:
    message = parse_error(identity.private_key_pem, identity)
    assert "no TLS certificate" in message
    assert "--format=file" in message


def test_key_and_certificate_without_ca_says_the_server_cannot_be_verified(
    identity: Identity,
) -> None:
    message = parse_error(identity.private_key_pem + identity.certificate_pem, identity)
    assert "no TLS CA certificates" in message
    assert "cannot be verified" in message


def test_second_block_that_is_not_a_certificate_is_named_with_its_line(
    identity: Identity,
) -> None:
    text = identity.private_key_pem + identity.private_key_pem + b"".join(identity.ca_pems)
    message = parse_error(text, identity)
    assert "expected the TLS certificate but found a PRIVATE KEY block" in message
    key_lines = identity.private_key_pem.count(b"\n")
    assert f"(line {key_lines + 1})" in message


def test_ca_block_that_is_not_a_certificate_is_named(identity: Identity) -> None:
    text = (
        identity.private_key_pem
        + identity.certificate_pem
        + b"-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n"
    )
    message = parse_error(text, identity)
    assert "expected the TLS CA certificate but found a X509 CRL block" in message


def test_garbage_certificate_says_not_a_valid_certificate(identity: Identity) -> None:
    text = (
        identity.private_key_pem
        + b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        + b"".join(identity.ca_pems)
    )
    message = parse_error(text, identity)
    assert "TLS certificate is not a valid X.509 certificate" in message


def test_cut_off_file_reports_the_unterminated_block_and_its_line(
    id_text: bytes, identity: Identity
) -> None:
    cut = id_text[: id_text.rindex(b"-----END")]
    message = parse_error(cut, identity)
    assert "has no -----END line" in message
    last_begin_line = cut[: cut.rindex(b"-----BEGIN")].count(b"\n") + 1
    assert f"(line {last_begin_line})" in message


def test_mismatched_end_label_is_malformed_pem(id_text: bytes, identity: Identity) -> None:
    text = id_text.replace(b"-----END PRIVATE KEY-----", b"-----END CERTIFICATE-----", 1)
    message = parse_error(text, identity)
    assert "ends with '-----END CERTIFICATE-----'" in message


def test_broken_base64_is_malformed_pem(id_text: bytes, identity: Identity) -> None:
    cert_line = identity.certificate_pem.splitlines()[1]
    text = id_text.replace(cert_line, cert_line[:10] + b"!!" + cert_line[12:])
    assert "is not valid base64" in parse_error(text, identity)


def test_empty_pem_block_is_malformed(identity: Identity) -> None:
    text = b"-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"
    assert "PEM block is empty" in parse_error(text, identity)


# --- the private key --------------------------------------------------------------------------


def with_key(identity: Identity, key_pem: bytes) -> bytes:
    return key_pem + identity.certificate_pem + b"".join(identity.ca_pems)


def test_encrypted_pkcs8_key_is_refused_as_encrypted(identity: Identity) -> None:
    key = serialization.load_pem_private_key(identity.private_key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    )
    assert "is encrypted" in parse_error(with_key(identity, encrypted), identity)


def test_legacy_openssl_encrypted_key_is_refused_as_encrypted(identity: Identity) -> None:
    key = serialization.load_pem_private_key(identity.private_key_pem, None)
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.BestAvailableEncryption(b"secret"),
    )
    assert b"Proc-Type: 4,ENCRYPTED" in encrypted
    assert "is encrypted" in parse_error(with_key(identity, encrypted), identity)


def test_hardware_key_placeholder_is_refused_with_a_software_key_hint(identity: Identity) -> None:
    piv = b"-----BEGIN PIV YUBIKEY PRIVATE KEY-----\nAAAA\n-----END PIV YUBIKEY PRIVATE KEY-----\n"
    assert "hardware token" in parse_error(with_key(identity, piv), identity)


def test_openssh_format_key_is_an_unsupported_pem_type(identity: Identity) -> None:
    key = serialization.load_pem_private_key(identity.private_key_pem, None)
    openssh = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    message = parse_error(with_key(identity, openssh), identity)
    assert "unsupported PEM type 'OPENSSH PRIVATE KEY'" in message


def test_key_bytes_that_do_not_parse_say_which_format_was_expected(identity: Identity) -> None:
    junk = b"-----BEGIN EC PRIVATE KEY-----\nAAAAAAAA\n-----END EC PRIVATE KEY-----\n"
    message = parse_error(with_key(identity, junk), identity)
    assert "could not be parsed as a SEC1 EC key" in message


def test_key_under_the_wrong_label_does_not_parse(identity: Identity) -> None:
    # A PKCS#8 body under the PKCS#1 label: the label decides the format, as in Teleport.
    relabelled = identity.private_key_pem.replace(b"PRIVATE KEY", b"RSA PRIVATE KEY")
    assert "PKCS#1 RSA key" in parse_error(with_key(identity, relabelled), identity)


@pytest.mark.parametrize(
    ("make_key", "kind"),
    [
        (lambda: dsa.generate_private_key(2048), "a DSA key"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "an ECDSA key on curve secp256k1"),
        (lambda: x25519.X25519PrivateKey.generate(), "a X25519 key"),
    ],
)
def test_key_types_teleport_does_not_issue_are_unsupported(
    identity: Identity, make_key: Callable[[], object], kind: str
) -> None:
    key = make_key()
    pem = key.private_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    message = parse_error(with_key(identity, pem), identity)
    assert f"the private key is {kind}, which Teleport does not issue" in message


def test_key_from_another_issuance_does_not_match_the_certificate(
    ca: TestCertificateAuthority, identity: Identity
) -> None:
    other = ca.issue_identity("access-plugin")
    message = parse_error(with_key(identity, other.private_key_pem), identity)
    assert "the private key does not match the TLS certificate" in message
    assert "'access-plugin'" in message
    assert_clean(CredentialsError(message), other)


# --- the three TLS files ----------------------------------------------------------------------


def test_swapped_key_and_certificate_paths_are_pointed_out(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    with pytest.raises(CredentialsError, match="are the key and certificate paths swapped"):
        load_tls_files(cert_path, key_path, cas_path)


def test_tls_files_with_a_key_that_does_not_match_name_both_files(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    write(key_path, ca.issue_identity("x").private_key_pem)
    with pytest.raises(CredentialsError) as caught:
        load_tls_files(key_path, cert_path, cas_path)
    assert "does not match" in str(caught.value)
    assert str(key_path) in str(caught.value)
    assert str(cert_path) in str(caught.value)


def test_tls_ca_file_without_certificates_is_refused(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    write(cas_path, b"not a certificate\n")
    with pytest.raises(CredentialsError, match=f"TLS CA file '{cas_path}' contains no cert"):
        load_tls_files(key_path, cert_path, cas_path)


def test_tls_certificate_file_without_certificate_is_refused(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    write(cert_path, b"\n# nothing here\n")
    with pytest.raises(CredentialsError, match="contains no certificate PEM block"):
        load_tls_files(key_path, cert_path, cas_path)


def test_tls_key_file_with_malformed_pem_names_file_and_line(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    write(key_path, b"\n-----BEGIN PRIVATE KEY-----\nAAAA\n")
    with pytest.raises(CredentialsError, match=rf"TLS key file '{key_path}' \(line 2\)"):
        load_tls_files(key_path, cert_path, cas_path)


# --- permissions ------------------------------------------------------------------------------


def test_identity_file_readable_by_others_logs_a_warning_with_the_path(
    ca: TestCertificateAuthority,
    identity: Identity,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = ca.write_identity_file(tmp_path / "identity", identity)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        load_identity_file(path)
    [record] = [r for r in caplog.records if "readable by" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert f"'{path}' is readable by other users (mode 0644)" in record.getMessage()
    assert f"chmod 600 {path}" in record.getMessage()
    assert record.credentials_path == str(path)  # type: ignore[attr-defined]


def test_identity_file_with_mode_0600_loads_without_a_permission_warning(
    ca: TestCertificateAuthority,
    identity: Identity,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = ca.write_identity_file(tmp_path / "identity", identity)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        load_identity_file(path)
    assert "readable by" not in caplog.text


def test_tls_key_file_readable_by_its_group_logs_a_warning(
    ca: TestCertificateAuthority,
    identity: Identity,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    key_path.chmod(0o640)
    cert_path.chmod(0o644)  # certificates are public; only the key matters
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        load_tls_files(key_path, cert_path, cas_path)
    warnings = [r.getMessage() for r in caplog.records if "readable by" in r.getMessage()]
    assert warnings == [
        f"TLS key file '{key_path}' is readable by its group (mode 0640) and holds a private "
        f"key; restrict it with `chmod 600 {key_path}`."
    ]


def test_no_log_line_ever_contains_key_material(
    ca: TestCertificateAuthority,
    identity: Identity,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = ca.write_identity_file(tmp_path / "identity", identity)
    path.chmod(0o666)
    text = ca.identity_file_bytes(identity).replace(identity.ssh_certificate.encode(), b"")  # type: ignore[union-attr]
    write(path, text).chmod(0o666)
    with caplog.at_level(logging.DEBUG):
        load_identity_file(path)
    assert caplog.records
    assert_clean(CredentialsError(caplog.text), identity)


def test_errors_about_the_content_carry_the_path(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    other = ca.issue_identity("x")
    path = write(tmp_path / "identity", with_key(identity, other.private_key_pem))
    assert load_error(path, identity).path == str(path)
    path = write(tmp_path / "identity", identity.private_key_pem + b"-----BEGIN X-----\n")
    assert load_error(path, identity).path == str(path)


def test_tls_file_errors_carry_the_path_of_the_file_at_fault(
    ca: TestCertificateAuthority, identity: Identity, tmp_path: Path
) -> None:
    key_path, cert_path, cas_path = ca.write_tls_files(tmp_path, identity)
    write(cas_path, b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    with pytest.raises(CredentialsError) as caught:
        load_tls_files(key_path, cert_path, cas_path)
    assert caught.value.path == str(cas_path)
