"""The token providers: fetch, cache, renew at 80% of a token's life or after a refusal, one
fetch for concurrent callers, typed refusals, retried network failures."""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from collections.abc import Iterator

import pytest

from pagerduty_client import (
    AsyncOAuthTokenProvider,
    CallAttempt,
    CallRetry,
    ConfigurationError,
    InvalidClient,
    InvalidScope,
    OAuthTokenProvider,
    RetryPolicy,
    ServerError,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

CLIENT_ID = "tpd-app"
SECRET = "s3cret-of-the-app"
TOKEN = ("POST", "/oauth/token")


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty(
        strict=True, clock=clock.monotonic, now=clock.now, subdomain="acme", token_lifetime=100
    )
    fake.add_oauth_client(CLIENT_ID, SECRET, scopes=["users.read", "incidents.read"])
    yield fake
    fake.assert_no_violations()


@pytest.fixture
def provider(fake: FakePagerDuty, clock: FakeClock) -> AsyncOAuthTokenProvider:
    return fake.oauth_provider(
        CLIENT_ID, SECRET, scopes=["users.read"], clock=clock.monotonic, sleep=clock.sleep
    )


def token_requests(fake: FakePagerDuty) -> int:
    return len(fake.requests_to(*TOKEN))


async def test_the_first_token_is_fetched_with_the_account_scope_and_then_kept(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider
) -> None:
    first = await provider.token()
    assert await provider.token() is first
    assert token_requests(fake) == 1
    assert fake.requests_to(*TOKEN)[0].body["scope"] == "as_account-us.acme users.read"
    assert first.scopes == {"as_account-us.acme", "users.read"}
    assert fake.token_scopes(first.value) == first.scopes
    assert provider.current is first


async def test_a_token_is_renewed_once_80_percent_of_its_life_has_passed(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider, clock: FakeClock
) -> None:
    first = await provider.token()
    clock.advance(79.9)
    assert await provider.token() is first
    clock.advance(0.1)
    second = await provider.token()
    assert second != first
    assert token_requests(fake) == 2


async def test_concurrent_callers_share_one_fetch(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider
) -> None:
    fake.faults.delay = 0.01  # the first fetch is still under way when the others ask
    tokens = await asyncio.gather(*(provider.token() for _ in range(10)))
    assert len(set(tokens)) == 1
    assert token_requests(fake) == 1


async def test_concurrent_callers_share_one_refusal(fake: FakePagerDuty, clock: FakeClock) -> None:
    fake.faults.delay = 0.01
    provider = fake.oauth_provider(CLIENT_ID, "wrong", clock=clock.monotonic, sleep=clock.sleep)
    outcomes = await asyncio.gather(*(provider.token() for _ in range(5)), return_exceptions=True)
    assert all(isinstance(outcome, InvalidClient) for outcome in outcomes)
    assert token_requests(fake) == 1


async def test_a_later_call_after_a_refusal_asks_again(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    provider = fake.oauth_provider(CLIENT_ID, "wrong", clock=clock.monotonic, sleep=clock.sleep)
    for _ in range(2):
        with pytest.raises(InvalidClient):
            await provider.token()
    assert token_requests(fake) == 2


async def test_renewing_a_refused_token_fetches_a_new_one(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider
) -> None:
    first = await provider.token()
    second = await provider.renew(first)
    assert second != first
    assert token_requests(fake) == 2


async def test_renewing_a_token_another_caller_already_replaced_returns_the_replacement(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider
) -> None:
    first = await provider.token()
    second = await provider.renew(first)
    assert await provider.renew(first) is second
    assert token_requests(fake) == 2


async def test_network_failures_of_the_token_endpoint_are_retried_like_other_calls(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider, clock: FakeClock
) -> None:
    fake.fail_next(2, status=503)
    fake.fail_next(after_processing=True, disconnect=True)
    token = await provider.token()
    assert fake.token_scopes(token.value) is not None
    assert [r.status for r in fake.requests_to(*TOKEN)] == [503, 503, None, 200]
    assert len(clock.sleeps) == 3


async def test_when_retries_run_out_the_last_failure_is_raised(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    provider = fake.oauth_provider(
        CLIENT_ID,
        SECRET,
        retry=RetryPolicy(max_attempts=2),
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    fake.fail_next(2, status=500)
    with pytest.raises(ServerError) as caught:
        await provider.token()
    assert caught.value.attempts == 2


async def test_a_renewal_that_fails_in_passing_keeps_the_valid_token(
    fake: FakePagerDuty,
    provider: AsyncOAuthTokenProvider,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first = await provider.token()
    clock.advance(85)
    fake.faults.error_rate = 1.0
    assert await provider.token() is first
    assert "renewal failed" in caplog.text
    fake.reset_faults()
    assert await provider.token() != first


async def test_scopes_the_app_lacks_are_left_out_and_logged(
    fake: FakePagerDuty, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pagerduty_client")
    provider = fake.oauth_provider(
        CLIENT_ID, SECRET, scopes=["users.read", "incidents.write"], clock=clock.monotonic
    )
    token = await provider.token()
    assert token.missing(provider.scopes) == {"incidents.write"}
    assert "granted the OAuth token without the scopes incidents.write" in caplog.text


async def test_another_accounts_scope_is_an_invalid_scope_error(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    provider = fake.oauth_provider(CLIENT_ID, SECRET, subdomain="other", clock=clock.monotonic)
    with pytest.raises(InvalidScope, match=r"as_account-us\.other names the account"):
        await provider.token()


async def test_the_observer_sees_token_calls_by_their_endpoint(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    events: list[CallAttempt | CallRetry] = []
    provider = fake.oauth_provider(
        CLIENT_ID, SECRET, clock=clock.monotonic, sleep=clock.sleep, observer=events.append
    )
    fake.fail_next(status=502)
    await provider.token()
    assert [(type(e).__name__, e.endpoint) for e in events] == [
        ("CallAttempt", "/oauth/token"),
        ("CallRetry", "/oauth/token"),
        ("CallAttempt", "/oauth/token"),
    ]


async def test_a_closed_provider_opens_new_connections_when_used_again(
    fake: FakePagerDuty, provider: AsyncOAuthTokenProvider, clock: FakeClock
) -> None:
    async with provider:
        await provider.token()
    clock.advance(100)
    await provider.token()
    await provider.aclose()
    assert token_requests(fake) == 2


def test_the_provider_shows_its_client_and_scopes_but_never_its_secret() -> None:
    provider = AsyncOAuthTokenProvider(CLIENT_ID, SECRET, subdomain="acme", scopes=["users.read"])
    assert repr(provider) == (
        "AsyncOAuthTokenProvider(client_id='tpd-app', scope='as_account-us.acme users.read', "
        "token_url='https://identity.pagerduty.com/oauth/token')"
    )
    assert provider.scopes == ("as_account-us.acme", "users.read")
    assert SECRET not in repr(vars(provider))


@pytest.mark.parametrize(
    ("token_url", "problem"),
    [
        ("http://identity.example.com/oauth/token", "uses plain http"),
        ("ftp://127.0.0.1/oauth/token", "must be an https:// URL"),
        ("https://identity.pagerduty.com/oauth/token?x=1", "must not have a query"),
    ],
)
def test_a_token_url_must_be_https_except_on_loopback(token_url: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        OAuthTokenProvider(CLIENT_ID, SECRET, subdomain="acme", token_url=token_url)
    OAuthTokenProvider(CLIENT_ID, SECRET, subdomain="acme", token_url="http://127.0.0.1:9/t")


def test_threads_of_the_sync_provider_share_one_fetch(fake: FakePagerDuty) -> None:
    fake.faults.delay = 0.05
    provider = fake.sync_oauth_provider(CLIENT_ID, SECRET)
    barrier = threading.Barrier(6)
    tokens: list[object] = []

    def ask() -> None:
        barrier.wait()
        tokens.append(provider.token())

    threads = [threading.Thread(target=ask) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    provider.close()
    assert len(tokens) == 6
    assert len(set(tokens)) == 1  # type: ignore[arg-type]
    assert token_requests(fake) == 1


def test_the_sync_provider_renews_like_the_async_one(fake: FakePagerDuty, clock: FakeClock) -> None:
    with fake.sync_oauth_provider(CLIENT_ID, SECRET, clock=clock.monotonic) as provider:
        first = provider.token()
        clock.advance(80)
        assert provider.token() != first
        assert provider.renew(first) is provider.current
    assert token_requests(fake) == 2


def test_the_sync_provider_has_the_async_ones_methods_and_parameters() -> None:
    renamed = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}

    def api(cls: type) -> dict[str, list[str]]:
        return {
            renamed.get(name, name): list(inspect.signature(member).parameters)
            for name, member in vars(cls).items()
            if callable(member)
            and (not name.startswith("_") or name in {*renamed, *renamed.values(), "__init__"})
        }

    assert api(AsyncOAuthTokenProvider) == api(OAuthTokenProvider)
