"""`[pagerduty] requests_per_minute`: read, checked, and handed to the daemon's PagerDuty client."""

from __future__ import annotations

from pathlib import Path

import pytest

from teleport_pd_cli.config import ConfigError, load_config
from teleport_pd_cli.daemon import Daemon

BASE = '[pagerduty]\napi_key = "key-for-pacing-tests"\nuser_email = "bot@example.com"\n'


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "teleport-pagerduty.toml"
    path.write_text(BASE + extra)
    return path


def test_requests_per_minute_defaults_to_no_pacing(tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path, ""), environ={})
    assert config.pagerduty.requests_per_minute == 0


def test_requests_per_minute_is_read_from_the_pagerduty_table(tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path, "requests_per_minute = 960\n"), environ={})
    assert config.pagerduty.requests_per_minute == 960


def test_a_negative_requests_per_minute_is_an_error_naming_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"requests_per_minute.*got -5"):
        load_config(write(tmp_path, "requests_per_minute = -5\n"), environ={})


async def test_the_daemon_paces_its_pagerduty_client_at_the_configured_rate(
    tmp_path: Path,
) -> None:
    config, _ = load_config(write(tmp_path, "requests_per_minute = 480\n"), environ={})
    client = Daemon(config)._build_pagerduty()
    try:
        assert "requests_per_minute=480" in repr(client)
    finally:
        await client.aclose()


async def test_without_requests_per_minute_the_daemon_does_not_pace(tmp_path: Path) -> None:
    config, _ = load_config(write(tmp_path, ""), environ={})
    client = Daemon(config)._build_pagerduty()
    try:
        assert "requests_per_minute=None" in repr(client)
    finally:
        await client.aclose()
