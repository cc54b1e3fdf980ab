"""Start-up checks: the Teleport version rule."""

from __future__ import annotations

import pytest

from teleport_access.testing import TestCertificateAuthority
from teleport_pd_cli.daemon._startup import (
    StartupError,
    check_server_version,
)
from teleport_pd_cli.policy._compat import parse_version


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
