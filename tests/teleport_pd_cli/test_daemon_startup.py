"""Start-up checks: credentials from the config, the Teleport version rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access import RefreshingIdentityFile, StaticIdentity
from teleport_access.testing import TestCertificateAuthority
from teleport_pd_cli.config import TeleportSettings
from teleport_pd_cli.daemon._startup import (
    StartupError,
    check_server_version,
    identity_source,
    parse_version,
)


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority("startup.example.com")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("17.4.2", (17, 4, 2, None)),
        ("v6.1.0", (6, 1, 0, None)),
        ("6.1.0-beta.1", (6, 1, 0, ("beta", 1))),
        ("16.0.0+build.5", (16, 0, 0, None)),
        ("17.4", None),
        ("custom", None),
    ],
)
def test_versions_parse_as_semver(text: str, parsed: object) -> None:
    assert parse_version(text) == parsed


@pytest.mark.parametrize("version", ["6.1.0", "6.1.1", "6.2.0", "17.4.2", "10.0.0-rc.1"])
def test_versions_from_6_1_0_are_accepted(version: str) -> None:
    check_server_version(version)


@pytest.mark.parametrize("version", ["6.0.9", "5.2.0", "6.1.0-beta.1", "1.0.0"])
def test_older_versions_are_refused_with_the_go_message(version: str) -> None:
    with pytest.raises(StartupError, match=r"server version must be at least 6\.1\.0"):
        check_server_version(version)


def test_an_unparsable_version_is_logged_and_accepted(caplog: pytest.LogCaptureFixture) -> None:
    check_server_version("nightly")
    assert "Cannot parse the Teleport server version 'nightly'" in caplog.text


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(
        StartupError, match=r"^no credentials configured: set \[teleport\] identity"
    ):
        identity_source(TeleportSettings())


def test_an_identity_file_is_loaded_once(ca: TestCertificateAuthority, tmp_path: Path) -> None:
    path = ca.write_identity_file(tmp_path / "identity", ca.issue_identity("plugin"))
    source = identity_source(TeleportSettings(identity=path))
    assert isinstance(source, StaticIdentity)
    assert source.current().username == "plugin"


def test_refresh_identity_re_reads_the_file(ca: TestCertificateAuthority, tmp_path: Path) -> None:
    path = ca.write_identity_file(tmp_path / "identity", ca.issue_identity("plugin"))
    source = identity_source(
        TeleportSettings(
            identity=path, refresh_identity=True, refresh_identity_interval=timedelta(seconds=5)
        )
    )
    assert isinstance(source, RefreshingIdentityFile)


def test_the_three_tls_files_are_loaded(ca: TestCertificateAuthority, tmp_path: Path) -> None:
    key, crt, cas = ca.write_tls_files(tmp_path, ca.issue_identity("plugin"))
    source = identity_source(TeleportSettings(client_key=key, client_crt=crt, root_cas=cas))
    assert source.current().username == "plugin"


def test_expired_credentials_are_a_clear_error(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    expired = ca.issue_identity(
        "plugin", not_before=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    path = ca.write_identity_file(tmp_path / "identity", expired)
    with pytest.raises(StartupError, match=r"^No valid credentials found, this likely means"):
        identity_source(TeleportSettings(identity=path))


def test_a_missing_identity_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(StartupError, match="does not exist"):
        identity_source(TeleportSettings(identity=tmp_path / "nope"))
