"""RefreshingIdentityFile: re-reads at most once per interval, keeps the old identity on failure."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from teleport_access._credentials import IdentitySource, RefreshingIdentityFile
from teleport_access._exceptions import CredentialsError, CredentialsExpired
from teleport_access.testing._pki import TestCertificateAuthority

RELOAD_FAILED = "Failed to reload identity file from disk."


class FakeClock:
    """A monotonic clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority("example.com")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def path(ca: TestCertificateAuthority, tmp_path: Path) -> Path:
    return ca.write_identity_file(tmp_path / "identity", ca.issue_identity("bot", roles=["a"]))


@pytest.fixture
def source(path: Path, clock: FakeClock) -> RefreshingIdentityFile:
    return RefreshingIdentityFile(path, interval=timedelta(minutes=1), clock=clock)


def rotate(ca: TestCertificateAuthority, path: Path, roles: list[str]) -> None:
    """What tbot does: write a freshly issued identity over the file."""
    ca.write_identity_file(path, ca.issue_identity("bot", roles=roles))


def test_first_identity_is_loaded_at_construction_with_generation_zero(
    source: RefreshingIdentityFile, path: Path
) -> None:
    assert isinstance(source, IdentitySource)
    assert source.current().roles == ("a",)
    assert source.current().source == str(path)
    assert source.generation == 0
    assert source.path == path
    assert source.interval == timedelta(minutes=1)


def test_first_load_raises_like_load_identity_file(tmp_path: Path) -> None:
    with pytest.raises(CredentialsError, match="does not exist"):
        RefreshingIdentityFile(tmp_path / "missing")


def test_first_load_of_an_expired_file_raises_credentials_expired(
    ca: TestCertificateAuthority, tmp_path: Path
) -> None:
    expired = ca.issue_identity(
        "bot", not_before=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    with pytest.raises(CredentialsExpired):
        RefreshingIdentityFile(ca.write_identity_file(tmp_path / "identity", expired))


def test_rewritten_file_is_not_read_before_the_interval_has_passed(
    ca: TestCertificateAuthority,
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
) -> None:
    first = source.current()
    rotate(ca, path, ["b"])
    clock.advance(59.9)
    assert source.current() is first
    assert source.generation == 0


def test_rewritten_file_is_used_after_the_interval_with_a_new_generation(
    ca: TestCertificateAuthority,
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
) -> None:
    first = source.current()
    rotate(ca, path, ["b"])
    clock.advance(60)
    renewed = source.current()
    assert renewed.roles == ("b",)
    assert renewed.certificate_pem != first.certificate_pem
    assert source.generation == 1
    clock.advance(60)
    assert source.current() is renewed
    assert source.generation == 1


def test_each_rotation_increments_the_generation_once(
    ca: TestCertificateAuthority,
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
) -> None:
    for expected, roles in enumerate([["b"], ["c"], ["d"]], start=1):
        rotate(ca, path, roles)
        clock.advance(61)
        assert source.current().roles == tuple(roles)
        assert source.generation == expected


def test_rewriting_identical_content_keeps_the_generation(
    source: RefreshingIdentityFile, path: Path, clock: FakeClock
) -> None:
    first = source.current()
    path.write_bytes(path.read_bytes())
    clock.advance(120)
    assert source.current() is first
    assert source.generation == 0


def test_reformatted_file_with_the_same_credentials_keeps_the_generation(
    source: RefreshingIdentityFile, path: Path, clock: FakeClock
) -> None:
    first = source.current()
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    clock.advance(120)
    assert source.current() is first
    assert source.generation == 0


def test_broken_rewrite_keeps_the_previous_identity_and_warns_with_the_reason(
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = source.current()
    text = path.read_bytes()
    path.write_bytes(text[: len(text) // 2])  # a half-written file
    clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        assert source.current() is first
    assert source.generation == 0
    [record] = caplog.records
    assert record.getMessage().startswith(RELOAD_FAILED)
    assert "has no -----END line" in record.getMessage()
    assert "PRIVATE KEY-----\n" not in record.getMessage()


def test_identity_is_picked_up_once_a_broken_file_is_repaired(
    ca: TestCertificateAuthority, source: RefreshingIdentityFile, path: Path, clock: FakeClock
) -> None:
    path.write_bytes(b"garbage")
    clock.advance(60)
    source.current()
    rotate(ca, path, ["b"])
    clock.advance(60)
    assert source.current().roles == ("b",)
    assert source.generation == 1


def test_deleted_file_keeps_the_previous_identity(
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = source.current()
    path.unlink()
    clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        assert source.current() is first
    assert RELOAD_FAILED in caplog.text
    assert "does not exist" in caplog.text


def test_expired_rewrite_is_rejected_and_the_previous_identity_kept(
    ca: TestCertificateAuthority,
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = source.current()
    expired = ca.issue_identity(
        "bot", not_before=datetime.now(UTC) - timedelta(hours=2), ttl=timedelta(hours=1)
    )
    ca.write_identity_file(path, expired)
    clock.advance(60)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        assert source.current() is first
    assert "expired at" in caplog.text


def test_failed_reload_is_retried_and_logged_every_interval(
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path.write_bytes(b"garbage")
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        for _ in range(3):
            clock.advance(60)
            source.current()
            source.current()  # within the interval: no second read, no second warning
    assert caplog.text.count(RELOAD_FAILED) == 3


def test_refresh_reads_the_file_now_regardless_of_the_interval(
    ca: TestCertificateAuthority, source: RefreshingIdentityFile, path: Path
) -> None:
    assert source.refresh() is False
    rotate(ca, path, ["b"])
    assert source.refresh() is True
    assert source.current().roles == ("b",)
    assert source.generation == 1


def test_refresh_never_raises(source: RefreshingIdentityFile, path: Path) -> None:
    path.unlink()
    assert source.refresh() is False


def test_held_identity_that_expired_is_reported_while_the_file_is_unchanged(
    ca: TestCertificateAuthority,
    tmp_path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=59, seconds=59)
    short = ca.issue_identity("bot", not_before=start, ttl=timedelta(hours=1))
    path = ca.write_identity_file(tmp_path / "identity", short)
    source = RefreshingIdentityFile(path, clock=clock, interval=timedelta(seconds=0))
    deadline = datetime.now(UTC) + timedelta(seconds=10)
    # Wait (at most 10 s of wall time) for the one-second-left certificate to expire.
    while datetime.now(UTC) <= short.not_after and datetime.now(UTC) < deadline:
        threading.Event().wait(0.05)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        source.current()
    assert "has not been renewed" in caplog.text
    assert "expired at" in caplog.text


def test_permission_warning_is_not_repeated_while_the_file_is_unchanged(
    ca: TestCertificateAuthority,
    source: RefreshingIdentityFile,
    path: Path,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="teleport_access._credentials"):
        for _ in range(5):
            clock.advance(60)
            source.current()
        assert "readable by" not in caplog.text
        rotate(ca, path, ["b"])
        path.chmod(0o644)
        clock.advance(60)
        source.current()
    assert caplog.text.count("readable by other users") == 1


def test_concurrent_callers_see_one_reload(
    ca: TestCertificateAuthority, source: RefreshingIdentityFile, path: Path, clock: FakeClock
) -> None:
    rotate(ca, path, ["b"])
    clock.advance(60)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(source.current().roles)) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [("b",)] * 8
    assert source.generation == 1


def test_negative_interval_is_refused(path: Path) -> None:
    with pytest.raises(ValueError, match="interval"):
        RefreshingIdentityFile(path, interval=timedelta(seconds=-1))


def test_symlink_swap_like_a_kubernetes_secret_update_is_picked_up(
    ca: TestCertificateAuthority, tmp_path: Path, clock: FakeClock
) -> None:
    # Kubernetes updates mounted secrets by pointing a symlink at a new directory.
    old_dir, new_dir = tmp_path / "..2024_old", tmp_path / "..2024_new"
    old_dir.mkdir()
    new_dir.mkdir()
    ca.write_identity_file(old_dir / "identity", ca.issue_identity("bot", roles=["old"]))
    ca.write_identity_file(new_dir / "identity", ca.issue_identity("bot", roles=["new"]))
    data = tmp_path / "..data"
    data.symlink_to(old_dir.name)
    (tmp_path / "identity").symlink_to("..data/identity")
    source = RefreshingIdentityFile(tmp_path / "identity", clock=clock)
    assert source.current().roles == ("old",)
    (tmp_path / "..data_tmp").symlink_to(new_dir.name)
    (tmp_path / "..data_tmp").replace(data)
    clock.advance(60)
    assert source.current().roles == ("new",)
    assert source.generation == 1
