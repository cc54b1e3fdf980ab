"""teleport_pd_cli.clients: Teleport credentials and PagerDuty clients built from the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access import RefreshingIdentityFile, StaticIdentity
from teleport_access.testing import TestCertificateAuthority
from teleport_pd_cli._exceptions import CredentialsUnusable
from teleport_pd_cli.clients import identity_source
from teleport_pd_cli.config import TeleportSettings


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority("clients.example.com")


def test_no_credentials_is_a_clear_error() -> None:
    with pytest.raises(
        CredentialsUnusable, match=r"^no credentials configured: set \[teleport\] identity"
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
    with pytest.raises(
        CredentialsUnusable, match=r"^No valid credentials found, this likely means"
    ):
        identity_source(TeleportSettings(identity=path))


def test_a_missing_identity_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsUnusable, match="does not exist"):
        identity_source(TeleportSettings(identity=tmp_path / "nope"))
