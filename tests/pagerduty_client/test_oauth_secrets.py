"""Neither the client secret nor any access token shows: not in a log record at DEBUG (ours,
httpx's, the fake's), a repr, an exception, a traceback or an observer event."""

from __future__ import annotations

import logging
import traceback

import httpx
import pytest

from pagerduty_client import (
    CallAttempt,
    CallRetry,
    Forbidden,
    InvalidClient,
    PagerDutyError,
    RetryPolicy,
    Unauthorized,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL, World

SECRET = "Sup3r-s3cret-Cl1ent-Value"


def everything_about(error: BaseException) -> str:
    return f"{error!s} {error!r} {error.__dict__!r} " + "".join(traceback.format_exception(error))


async def test_no_secret_or_token_shows_anywhere_in_a_whole_oauth_session(
    clock: FakeClock, world: World, fake: FakePagerDuty, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: ours, httpx, httpcore, the fake's
    fake.token_lifetime = 30
    fake.add_oauth_client("app", SECRET, scopes=["users.read", "services.read", "oncalls.read",
                                                   "incidents.read"])  # fmt: skip
    events: list[CallAttempt | CallRetry] = []
    shown: list[str] = []
    retry = RetryPolicy(max_attempts=10)
    auth = fake.oauth_provider("app", SECRET, clock=clock.monotonic, sleep=clock.sleep,
                               observer=events.append, retry=retry)  # fmt: skip
    client = fake.client(auth=auth, user_email=BOT_EMAIL, clock=clock.monotonic,
                         sleep=clock.sleep, observer=events.append, retry=retry)  # fmt: skip
    async with client as pd:
        fake.faults.error_rate = 0.3
        for _ in range(5):
            await pd.check_on_call("alice@example.com", ["Payments"])
            clock.advance(20)
        fake.reset_faults()
        fake.revoke_tokens()
        await pd.find_user_by_email("bob@example.com")  # renews the revoked token
        with pytest.raises(Forbidden) as forbidden:
            await pd.create_incident(world.payments.id, "t", "d", "k")
        shown.append(everything_about(forbidden.value))
        shown += [repr(pd), repr(auth), repr(auth.current), str(auth.current)]
    wrong = fake.oauth_provider("app", SECRET + "x", clock=clock.monotonic)
    with pytest.raises(InvalidClient) as refused:
        await wrong.token()
    shown.append(everything_about(refused.value))
    elsewhere = FakePagerDuty(clock=clock.monotonic, now=clock.now)
    async with elsewhere.client(auth=auth, clock=clock.monotonic, sleep=clock.sleep) as pd:
        with pytest.raises(Unauthorized) as unauthorized:
            await pd.abilities()
    shown.append(everything_about(unauthorized.value))

    tokens = {
        r.headers["authorization"].removeprefix("Bearer ")
        for r in [*fake.requests, *elsewhere.requests]
        if r.headers.get("authorization", "").startswith("Bearer ")
    }
    assert len(tokens) >= 4  # renewed by age and after the revocation
    logged = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in caplog.records)
    shown += [logged, repr(events), repr(fake.requests), repr(elsewhere.requests)]
    for text in shown:
        assert SECRET not in text
        for token in tokens:
            assert token not in text


async def test_a_transport_failure_that_quotes_a_token_is_scrubbed_and_not_chained(
    clock: FakeClock, fake: FakePagerDuty
) -> None:
    fake.add_oauth_client("app", SECRET)
    auth = fake.oauth_provider("app", SECRET, clock=clock.monotonic)
    token = await auth.token()

    class Leaky(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError(f"proxy said: {request.headers['authorization']}")

    async with fake.client(auth=auth, transport=Leaky(), retry=RetryPolicy(max_attempts=1),
                           clock=clock.monotonic, sleep=clock.sleep) as pd:  # fmt: skip
        with pytest.raises(PagerDutyError) as caught:
            await pd.abilities()
    text = everything_about(caught.value)
    assert "proxy said: Bearer <redacted>" in text
    assert token.value not in text
    assert caught.value.__cause__ is None
