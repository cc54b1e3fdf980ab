"""The clients with a token provider: bearer tokens, renewal after a refusal, scopes in 403s."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pagerduty_client import (
    AsyncPagerDutyClient,
    ConfigurationError,
    Forbidden,
    InvalidClient,
    OAuthTokenProvider,
    PagerDutyClient,
    Unauthorized,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL, World

CLIENT_ID = "tpd-app"
SECRET = "s3cret-of-the-app"
READS = ["users.read", "services.read", "oncalls.read", "incidents.read"]


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty(strict=True, clock=clock.monotonic, now=clock.now, token_lifetime=60)
    fake.add_user("Access Bot", BOT_EMAIL)
    fake.add_oauth_client(CLIENT_ID, SECRET)
    fake.add_oauth_client("reader", SECRET, scopes=READS)
    yield fake
    fake.assert_no_violations()


def client(
    fake: FakePagerDuty, clock: FakeClock, client_id: str = CLIENT_ID
) -> AsyncPagerDutyClient:
    auth = fake.oauth_provider(client_id, SECRET, clock=clock.monotonic, sleep=clock.sleep)
    return fake.client(auth=auth, user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep)


async def test_every_request_carries_the_providers_token_and_writes_carry_from(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    async with client(fake, clock) as pd:
        incident = await pd.create_incident(world.payments.id, "t", "d", "key")
        token = pd.auth.current if pd.auth else None
    assert token is not None
    (create,) = fake.requests_to("POST", "/incidents")
    assert create.headers["authorization"] == f"Bearer {token.value}"
    assert create.headers["from"] == BOT_EMAIL
    assert fake.incident(incident.id).title == "t"


async def test_a_refused_token_is_renewed_once_and_the_request_resent(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    async with client(fake, clock) as pd:
        await pd.abilities()
        fake.revoke_tokens()
        assert await pd.abilities()
    assert [(r.operation, r.status) for r in fake.requests] == [
        ("/oauth/token", 200),
        ("/abilities", 200),
        ("/abilities", 401),
        ("/oauth/token", 200),
        ("/abilities", 200),
    ]


async def test_a_token_refused_again_after_renewal_raises_unauthorized(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    elsewhere = FakePagerDuty(strict=True, clock=clock.monotonic, now=clock.now)
    auth = fake.oauth_provider(CLIENT_ID, SECRET, clock=clock.monotonic)
    async with elsewhere.client(auth=auth, clock=clock.monotonic, sleep=clock.sleep) as pd:
        with pytest.raises(Unauthorized):
            await pd.abilities()
    assert [r.status for r in elsewhere.requests] == [401, 401]
    assert len(fake.requests_to("POST", "/oauth/token")) == 2


async def test_a_long_session_renews_its_token_and_no_call_fails(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    async with client(fake, clock) as pd:
        for _ in range(40):
            assert await pd.check_on_call("alice@example.com", ["Payments"])
            clock.advance(7)
    refused = [r for r in fake.requests if r.status != 200]
    assert refused == []
    assert len(fake.requests_to("POST", "/oauth/token")) == 6  # 280 s, renewed every 48 s


async def test_a_403_names_the_scope_the_operation_needs(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    async with client(fake, clock, client_id="reader") as pd:
        assert (await pd.check_on_call("alice@example.com", ["Payments"])).on_call
        with pytest.raises(Forbidden) as caught:
            await pd.create_incident(world.payments.id, "t", "d", "key")
    assert caught.value.required_scope == "incidents.write"
    assert "the OAuth token needs the scope incidents.write" in str(caught.value)


async def test_with_an_api_key_a_403_carries_the_scope_but_does_not_blame_a_token(
    clock: FakeClock, world: World
) -> None:
    fake = FakePagerDuty(read_only_api_keys=["ro"], clock=clock.monotonic, now=clock.now)
    fake.add_user("Access Bot", BOT_EMAIL)
    async with fake.client(api_key="ro", user_email=BOT_EMAIL) as pd:
        with pytest.raises(Forbidden) as caught:
            await pd.resolve_incident("P1")
    assert caught.value.required_scope == "incidents.write"
    assert "OAuth" not in str(caught.value)


async def test_a_refusal_of_the_token_request_ends_the_call(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    auth = fake.oauth_provider(CLIENT_ID, "wrong", clock=clock.monotonic)
    async with fake.client(auth=auth, clock=clock.monotonic, sleep=clock.sleep) as pd:
        with pytest.raises(InvalidClient):
            await pd.abilities()
    assert [r.operation for r in fake.requests] == ["/oauth/token"]


def test_the_sync_client_takes_the_sync_provider(fake: FakePagerDuty, world: World) -> None:
    auth = fake.sync_oauth_provider(CLIENT_ID, SECRET)
    with fake.sync_client(auth=auth, user_email=BOT_EMAIL) as pd:
        incident = pd.create_incident(world.payments.id, "t", "d", "key")
        pd.add_note(incident.id, "n")
        assert pd.resolve_incident(incident.id).is_resolved
    assert len(fake.requests_to("POST", "/oauth/token")) == 1


def test_closing_a_client_leaves_its_provider_usable(fake: FakePagerDuty) -> None:
    auth = fake.sync_oauth_provider(CLIENT_ID, SECRET)
    with fake.sync_client(auth=auth) as first:
        first.abilities()
    auth.renew(auth.current)
    with fake.sync_client(auth=auth) as second:
        second.abilities()


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [
        ({"api_key": "k", "auth": "provider"}, "either api_key or auth"),
        ({}, "give api_key, or auth="),
        ({"auth": object()}, "auth must be an OAuthTokenProvider, got object"),
    ],
)
def test_the_client_needs_exactly_one_kind_of_credentials(
    arguments: dict[str, object], problem: str
) -> None:
    if arguments.get("auth") == "provider":
        arguments["auth"] = OAuthTokenProvider(CLIENT_ID, SECRET, subdomain="acme")
    with pytest.raises(ConfigurationError, match=problem):
        PagerDutyClient(**arguments)  # type: ignore[arg-type]


def test_the_async_client_refuses_the_sync_provider() -> None:
    with pytest.raises(ConfigurationError, match="AsyncOAuthTokenProvider, got OAuthTokenProvider"):
        AsyncPagerDutyClient(auth=OAuthTokenProvider(CLIENT_ID, SECRET, subdomain="acme"))  # type: ignore[arg-type]
