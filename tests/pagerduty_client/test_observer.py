"""The clients' `observer` hook: one `CallAttempt` per HTTP attempt, one `CallRetry` per retry."""

from __future__ import annotations

import logging

import httpx
import pytest

from pagerduty_client import (
    CallAttempt,
    CallRetry,
    NotFound,
    RetryPolicy,
    ServerError,
    TransportError,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL

Event = CallAttempt | CallRetry


async def test_each_attempt_is_reported_with_its_endpoint_template_and_status(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    seen: list[Event] = []
    policy = fake.add_escalation_policy("Ops", rules=[])
    service = fake.add_service("Payments", policy)
    async with fake.client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep, observer=seen.append
    ) as pd:
        await pd.get_service(service.id)
        with pytest.raises(NotFound):
            await pd.get_service("PNOPE42")
    assert [(e.method, e.endpoint, e.status) for e in seen if isinstance(e, CallAttempt)] == [
        ("GET", "/services/{id}", 200),
        ("GET", "/services/{id}", 404),
    ]
    assert all(isinstance(e, CallAttempt) and e.elapsed >= 0 for e in seen)


async def test_a_retried_failure_reports_the_attempt_then_the_retry_then_the_next_attempt(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    seen: list[Event] = []
    fake.fail_next(1, status=503)
    async with fake.client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep, observer=seen.append
    ) as pd:
        await pd.abilities()
    assert [type(e).__name__ for e in seen] == ["CallAttempt", "CallRetry", "CallAttempt"]
    first, retry, second = seen
    assert isinstance(first, CallAttempt)
    assert first.status == 503
    assert isinstance(retry, CallRetry)
    assert (retry.method, retry.endpoint) == ("GET", "/abilities")
    assert retry.delay >= 0
    assert isinstance(second, CallAttempt)
    assert second.status == 200


async def test_an_attempt_without_an_answer_is_reported_with_status_none(
    clock: FakeClock,
) -> None:
    seen: list[Event] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    async with FakePagerDuty().client(
        transport=httpx.MockTransport(refuse),
        retry=RetryPolicy(max_attempts=1),
        clock=clock.monotonic,
        sleep=clock.sleep,
        observer=seen.append,
    ) as pd:
        with pytest.raises(TransportError):
            await pd.abilities()
    [only] = seen
    assert isinstance(only, CallAttempt)
    assert (only.method, only.endpoint, only.status) == ("GET", "/abilities", None)


async def test_an_observer_that_raises_is_logged_and_does_not_break_the_call(
    fake: FakePagerDuty, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: Event) -> None:
        raise RuntimeError("metrics backend down")

    async with fake.client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep, observer=broken
    ) as pd:
        with caplog.at_level(logging.ERROR, logger="pagerduty_client"):
            assert isinstance(await pd.abilities(), list)
    assert "observer failed" in caplog.text


def test_the_sync_client_reports_attempts_and_retries_too(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    seen: list[Event] = []
    fake.fail_next(2, status=500)
    with (
        fake.sync_client(
            user_email=BOT_EMAIL,
            clock=clock.monotonic,
            sleep=clock.sleep_blocking,
            observer=seen.append,
            retry=RetryPolicy(max_attempts=2),
        ) as pd,
        pytest.raises(ServerError),
    ):
        pd.abilities()
    assert [type(e).__name__ for e in seen] == ["CallAttempt", "CallRetry", "CallAttempt"]
