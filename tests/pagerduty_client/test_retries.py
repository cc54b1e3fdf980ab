"""Retries against a misbehaving fake: 429 storms, random 500s, lost answers, timeouts.

Time is a `FakeClock` shared by the client and the fake, so waits are asserted exactly and no
test sleeps for real (except the two timeout tests, which wait a few tens of milliseconds).
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from pagerduty_client import (
    AsyncPagerDutyClient,
    NotFound,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
    TransportTimeout,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL, World


def pd(fake: FakePagerDuty, clock: FakeClock, **kwargs: object) -> AsyncPagerDutyClient:
    options: dict[str, object] = {
        "user_email": BOT_EMAIL,
        "clock": clock.monotonic,
        "sleep": clock.sleep,
        **kwargs,
    }
    return fake.client(**options)


async def test_rate_limited_calls_wait_exactly_as_long_as_ratelimit_reset_says(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 2, 10.0
    async with pd(fake, clock) as client:
        for _ in range(6):
            assert await client.abilities()
    refused = [r for r in fake.requests if r.status == 429]
    resets = [float(r.response_headers["ratelimit-reset"]) for r in refused]
    assert resets == [10.0, 10.0]
    assert clock.sleeps == resets
    assert refused[0].response_headers["ratelimit-remaining"] == "0"


async def test_a_429_storm_ends_with_every_call_succeeding(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 5, 30.0
    async with pd(fake, clock, retry=RetryPolicy(max_attempts=20, max_elapsed=3600)) as client:
        checks = await asyncio.gather(
            *(client.check_on_call("alice@example.com", ["Payments"]) for _ in range(12))
        )
    assert all(check.on_call for check in checks)
    refused = [r for r in fake.requests if r.status == 429]
    assert refused, "the storm should have drawn 429s"
    resets = {float(r.response_headers["ratelimit-reset"]) for r in refused}
    retry_waits = [s for s in clock.sleeps if s > 0]
    # Every wait is one the server asked for (ratelimit-reset), or what was left of one when a
    # concurrent caller's 429 had already put the whole client on hold.
    assert all(wait <= max(resets) for wait in retry_waits)
    assert any(wait in resets for wait in retry_waits)


async def test_a_429_holds_every_concurrent_caller_until_the_window_resets(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 1, 60.0
    async with pd(fake, clock) as client:
        await asyncio.gather(*(client.abilities() for _ in range(3)))
    # Without the shared hold each caller would keep drawing its own 429s.
    assert len([r for r in fake.requests if r.status == 429]) <= 3


async def test_pacing_keeps_a_burst_under_the_rate_limit(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 10, 60.0
    async with pd(fake, clock, requests_per_minute=10) as client:
        await asyncio.gather(*(client.abilities() for _ in range(30)))
    assert [r.status for r in fake.requests] == [200] * 30
    assert clock.monotonic() >= 29 * 6.0  # spaced 6 s apart


async def test_random_server_errors_create_no_duplicate_incident_and_every_note_once(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    fake.faults.error_rate = 0.15  # refused before processing
    fake.faults.error_after_processing_rate = 0.18  # processed, but the answer is a 500
    async with pd(fake, clock, retry=RetryPolicy(max_attempts=12, max_elapsed=3600)) as client:
        for n in range(10):
            incident = await client.create_incident(
                world.payments.id, f"Access request {n}", "details", f"request/{n}"
            )
            for review in range(3):
                await client.add_note(incident.id, f"request {n}: review {review}")
            await client.resolve_incident(incident.id)
    failed = [r for r in fake.requests if r.status != 200 and r.status != 201]
    assert 0.2 < len(failed) / len(fake.requests) < 0.45, "about 30% should have failed"
    incidents = fake.incidents
    assert sorted(i.incident_key or "" for i in incidents) == sorted(
        f"request/{n}" for n in range(10)
    )
    for incident in incidents:
        assert incident.status == "resolved"
        number = (incident.incident_key or "").split("/")[1]
        assert [note.content for note in fake.notes(incident.id)] == [
            f"request {number}: review {r}" for r in range(3)
        ]


async def test_server_errors_back_off_with_full_jitter(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.fail_next(3, status=503)
    async with pd(fake, clock, random=lambda: 0.5) as client:
        assert await client.abilities()
    assert clock.sleeps == [0.25, 0.5, 1.0]  # 0.5 x ceiling 0.5, 1, 2


async def test_a_request_timeout_408_is_retried(fake: FakePagerDuty, clock: FakeClock) -> None:
    fake.fail_next(status=408)
    async with pd(fake, clock) as client:
        assert await client.abilities()
    assert [r.status for r in fake.requests] == [408, 200]


async def test_retries_stop_after_max_attempts_with_the_last_error(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.fail_next(10, status=502)
    async with pd(fake, clock, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(ServerError) as caught:
            await client.abilities()
    assert (caught.value.status, caught.value.attempts) == (502, 3)
    assert len(fake.requests) == 3


async def test_a_wait_beyond_max_elapsed_raises_rate_limited_at_once(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 1, 60.0
    async with pd(fake, clock, retry=RetryPolicy(max_elapsed=30)) as client:
        await client.abilities()
        with pytest.raises(RateLimited) as caught:
            await client.abilities()
    assert (caught.value.reset, caught.value.limit, caught.value.code) == (60.0, 1, 2020)
    assert clock.sleeps == []


async def test_a_client_error_is_never_retried(fake: FakePagerDuty, clock: FakeClock) -> None:
    async with pd(fake, clock) as client:
        with pytest.raises(NotFound):
            await client.get_user("PNOSUCH")
    assert len(fake.requests) == 1
    assert clock.sleeps == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_a_refused_connection_is_retried_and_reported_as_never_processed(
    clock: FakeClock,
) -> None:
    client = AsyncPagerDutyClient(
        "k", base_url=f"http://127.0.0.1:{closed_port()}", user_email=BOT_EMAIL,
        clock=clock.monotonic, sleep=clock.sleep, retry=RetryPolicy(max_attempts=3),
    )  # fmt: skip
    async with client:
        with pytest.raises(TransportError) as caught:
            await client.create_incident("PS1", "t", "d", None)  # safe: never sent
    assert (caught.value.attempts, caught.value.maybe_processed) == (3, False)
    assert len(clock.sleeps) == 2


async def test_a_slow_answer_times_out_and_is_retried(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.delay = 0.05
    async with pd(fake, clock, timeout=0.02, retry=RetryPolicy(max_attempts=2)) as client:
        with pytest.raises(TransportTimeout) as caught:
            await client.abilities()
    assert caught.value.attempts == 2
    assert len(fake.requests) == 2


async def test_a_timed_out_create_is_found_by_its_key_not_posted_again(
    fake: FakePagerDuty, clock: FakeClock, world: World
) -> None:
    fake.faults.delay = 0.05
    async with pd(fake, clock, timeout=0.02) as client:
        task = asyncio.create_task(client.create_incident(world.payments.id, "T", "D", "k"))
        await fake.next_incident(timeout=5)  # the POST was processed, its answer is late
        fake.faults.delay = 0.0
        incident = await task
    assert [i.id for i in fake.incidents] == [incident.id]
    assert len(fake.requests_to("POST", "/incidents")) == 1
