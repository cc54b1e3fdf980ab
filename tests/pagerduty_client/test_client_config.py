"""What every request carries, and how the client refuses bad configuration."""

from __future__ import annotations

import pytest

import pagerduty_client
from pagerduty_client import (
    EU_BASE_URL,
    AsyncPagerDutyClient,
    ConfigurationError,
    PagerDutyClient,
    RetryPolicy,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import API_KEY, BOT_EMAIL, World


async def test_every_request_carries_auth_version_content_type_and_user_agent(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    await client.abilities()
    headers = fake.requests[-1].headers
    assert headers["authorization"] == f"Token token={API_KEY}"
    assert headers["accept"] == "application/vnd.pagerduty+json;version=2"
    assert headers["content-type"] == "application/json"
    assert headers["user-agent"].startswith(f"tpd-pagerduty_client/{pagerduty_client.__version__} ")


async def test_an_oauth_token_is_sent_as_a_bearer_token(clock: FakeClock) -> None:
    fake = FakePagerDuty(oauth_tokens=["oauth-token-1"], clock=clock.monotonic, now=clock.now)
    async with fake.client(api_key="oauth-token-1", token_type="bearer") as pd:
        assert await pd.abilities()
    assert fake.requests[-1].headers["authorization"] == "Bearer oauth-token-1"
    fake.assert_no_violations()


async def test_from_is_sent_only_on_the_writes_that_require_it(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    await client.check_on_call("alice@example.com", ["Payments"])
    incident = await client.create_incident(world.payments.id, "t", "d", "key-1")
    await client.add_note(incident.id, "note")
    await client.resolve_incident(incident.id)
    with_from = {(r.method, r.operation) for r in fake.requests if "from" in r.headers}
    assert with_from == {
        ("POST", "/incidents"),
        ("POST", "/incidents/{id}/notes"),
        ("PUT", "/incidents/{id}"),
    }
    assert all(r.headers["from"] == BOT_EMAIL for r in fake.requests if "from" in r.headers)


async def test_a_write_without_user_email_fails_before_anything_is_sent(
    fake: FakePagerDuty, world: World
) -> None:
    async with fake.client() as pd:
        with pytest.raises(ConfigurationError, match="requires PagerDuty's From header"):
            await pd.create_incident(world.payments.id, "t", "d", "k")
        with pytest.raises(ConfigurationError, match="user_email"):
            await pd.add_note("PI1", "x")
        with pytest.raises(ConfigurationError):
            await pd.resolve_incident("PI1")
    assert fake.requests == []


def test_the_eu_service_region_is_one_argument_away() -> None:
    client = PagerDutyClient(API_KEY, base_url=EU_BASE_URL)
    assert client.base_url == "https://api.eu.pagerduty.com"
    client.close()


@pytest.mark.parametrize(
    "base_url", ["http://api.pagerduty.com", "ftp://api.pagerduty.com", "https://x.io/?a=1", "::"]
)
def test_an_unsafe_or_malformed_base_url_is_refused(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="base_url"):
        PagerDutyClient(API_KEY, base_url=base_url)


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://localhost:1", "http://[::1]:2"]
)
def test_plain_http_is_accepted_for_a_loopback_test_server(base_url: str) -> None:
    PagerDutyClient(API_KEY, base_url=base_url).close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"api_key": ""}, "api_key is empty"),
        ({"api_key": "abc def"}, "whitespace"),
        ({"api_key": "abc\n"}, "whitespace"),
        ({"token_type": "basic"}, "token_type"),
        ({"timeout": 0}, "timeout"),
        ({"user_email": "not an email"}, "user_email"),
        ({"requests_per_minute": 0}, "requests_per_minute"),
        ({"retry": {"max_attempts": 3}}, "RetryPolicy"),
    ],
)
def test_invalid_settings_are_refused_with_a_message_naming_them(
    kwargs: dict[str, object], match: str
) -> None:
    arguments: dict[str, object] = {"api_key": API_KEY, **kwargs}
    with pytest.raises(ConfigurationError, match=match):
        AsyncPagerDutyClient(**arguments)  # type: ignore[arg-type]


def test_the_defaults_are_pagerdutys_us_region_and_a_ten_second_timeout() -> None:
    client = PagerDutyClient(API_KEY)
    assert client.base_url == "https://api.pagerduty.com"
    assert client._core.timeout == 10.0
    assert client._core.retry == RetryPolicy()
    client.close()


async def test_the_client_closes_when_its_block_ends(fake: FakePagerDuty) -> None:
    async with fake.client() as pd:
        pass
    assert pd._http.is_closed
