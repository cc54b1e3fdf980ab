"""Whatever bytes an identity file holds, loading ends in an Identity or a CredentialsError.

Never another exception, never a hang (the suite's per-test timeout would catch one).
"""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from teleport_access._credentials import Identity, parse_identity_file
from teleport_access._exceptions import CredentialsError
from teleport_access._identity_file import IdentityFileFormatError, decode_identity_file
from teleport_access.testing._pki import TestCertificateAuthority

_CA = TestCertificateAuthority("fuzz.example.com")
_IDENTITY = _CA.issue_identity("fuzzer", roles=["r"], key_format="sec1")
_VALID = _CA.identity_file_bytes(_IDENTITY)
_VALID_LINES = _VALID.split(b"\n")

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def outcome(data: bytes) -> Identity | CredentialsError:
    error: CredentialsError
    try:
        return parse_identity_file(data, source="fuzz", check_validity=False)
    except CredentialsError as exc:
        error = exc
    assert str(error)  # every error says something
    return error


# Lines that steer the parser into each of its branches.
_INTERESTING_LINES = st.sampled_from(
    [
        b"-----BEGIN PRIVATE KEY-----",
        b"-----BEGIN EC PRIVATE KEY-----",
        b"-----BEGIN RSA PRIVATE KEY-----",
        b"-----BEGIN CERTIFICATE-----",
        b"-----END CERTIFICATE-----",
        b"-----END PRIVATE KEY-----",
        b"-----BEGIN -----",
        b"-----END",
        b"Proc-Type: 4,ENCRYPTED",
        b"DEK-Info: AES-128-CBC,00",
        b"AAAA",
        b"MC4CAQAwBQYDK2VwBCIEIA==",
        b"====",
        b"ssh-ed25519-cert-v01@openssh.com AAAA",
        b"@cert-authority x ssh-ed25519 AAAA type=host",
        b"",
        b"\r",
        b"\xff\xfe",
    ]
)


@FUZZ
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_give_an_identity_or_a_credentials_error(data: bytes) -> None:
    outcome(data)


@FUZZ
@given(st.text(max_size=2048))
def test_arbitrary_text_gives_an_identity_or_a_credentials_error(text: str) -> None:
    outcome(text.encode("utf-8", errors="surrogatepass"))


@FUZZ
@given(st.lists(st.one_of(_INTERESTING_LINES, st.sampled_from(_VALID_LINES)), max_size=60))
def test_shuffled_identity_file_lines_give_an_identity_or_a_credentials_error(
    lines: list[bytes],
) -> None:
    outcome(b"\n".join(lines))


@FUZZ
@given(st.data())
def test_damaged_valid_file_gives_an_identity_or_a_credentials_error(data: st.DataObject) -> None:
    damaged = bytearray(_VALID)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        action = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        if action == "flip":
            damaged[position] ^= 1 << data.draw(st.integers(0, 7))
        elif action == "delete":
            del damaged[position]
        elif action == "insert":
            damaged.insert(position, data.draw(st.integers(0, 255)))
        else:
            del damaged[position:]
        if not damaged:
            break
    result = outcome(bytes(damaged))
    if isinstance(result, Identity):
        # Whatever survived the damage is still a consistent identity.
        assert result.username
        assert result.ca_pems


@FUZZ
@given(st.binary(max_size=4096))
def test_layout_decoder_raises_only_its_format_error(data: bytes) -> None:
    problem = "none"
    try:
        decode_identity_file(data)
    except IdentityFileFormatError as exc:
        problem = exc.problem
    assert problem


def test_the_unmodified_file_parses() -> None:
    result = outcome(_VALID)
    assert isinstance(result, Identity)
    assert result.certificate_pem == _IDENTITY.certificate_pem


def test_a_megabyte_of_pem_like_noise_is_handled_in_linear_time() -> None:
    noise = (b"-----BEGIN CERTIFICATE-----\n" + b"A" * 64 + b"\n") * 12000
    started = time.perf_counter()
    result = outcome(noise)
    elapsed = time.perf_counter() - started
    assert isinstance(result, CredentialsError)
    assert elapsed < 30  # generous: only a quadratic blow-up would come near
