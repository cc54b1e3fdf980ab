"""Failure injection: rate limits, random and queued failures, lost answers, delays."""

from __future__ import annotations

import time

import httpx
import pytest

from pagerduty_client.testing import FakeClock, FakePagerDuty
from tests.pagerduty_client.conftest import World
from tests.pagerduty_client.testing.conftest import HEADERS, WRITE_HEADERS

URL = "https://api.pagerduty.com"


def test_beyond_the_rate_limit_the_answer_is_429_with_pagerdutys_headers_and_body(
    raw: httpx.Client, fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 2, 60.0
    assert [raw.get("/abilities").status_code for _ in range(2)] == [200, 200]
    clock.advance(15.5)
    refused = raw.get("/abilities")
    assert refused.status_code == 429
    assert refused.json() == {"error": {"message": "Rate Limit Exceeded", "code": 2020}}
    assert (
        refused.headers["ratelimit-limit"],
        refused.headers["ratelimit-remaining"],
        refused.headers["ratelimit-reset"],
    ) == ("2", "0", "45")


def test_rate_limit_headers_come_with_successful_answers_too(
    raw: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.faults.rate_limit = 5
    response = raw.get("/abilities")
    assert (response.headers["ratelimit-limit"], response.headers["ratelimit-remaining"]) == (
        "5",
        "4",
    )


def test_the_rate_limit_window_resets_on_the_fakes_clock(
    raw: httpx.Client, fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 1, 10.0
    assert raw.get("/abilities").status_code == 200
    assert raw.get("/abilities").status_code == 429
    clock.advance(10.0)
    assert raw.get("/abilities").status_code == 200


def test_random_errors_follow_the_seed(clock: FakeClock) -> None:
    def statuses(seed: int) -> list[int]:
        fake = FakePagerDuty(api_key="k", seed=seed, clock=clock.monotonic, now=clock.now)
        fake.faults.error_rate = 0.5
        headers = {**HEADERS, "Authorization": "Token token=k"}
        transport = fake.sync_transport()
        with httpx.Client(base_url=URL, transport=transport, headers=headers) as client:
            return [client.get("/abilities").status_code for _ in range(40)]

    assert statuses(7) == statuses(7)
    assert statuses(7) != statuses(8)
    assert 10 < statuses(7).count(500) < 30


def test_an_injected_500_has_pagerdutys_error_shape(raw: httpx.Client, fake: FakePagerDuty) -> None:
    fake.fail_next(status=500)
    response = raw.get("/abilities")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == 2000


def test_a_failure_after_processing_still_makes_the_change(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(status=500, after_processing=True)
    response = raw.post(
        "/incidents",
        json={"incident": {"type": "incident", "title": "t",
                           "service": {"id": world.payments.id, "type": "service_reference"}}},
        headers=WRITE_HEADERS,
    )  # fmt: skip
    assert response.status_code == 500
    assert len(fake.incidents) == 1


def test_a_dropped_connection_after_processing_still_makes_the_change(
    raw: httpx.Client, fake: FakePagerDuty, world: World
) -> None:
    incident = fake.add_incident(world.payments, "t")
    fake.faults.error_after_processing_rate = 1.0
    fake.faults.after_processing = "disconnect"
    with pytest.raises(httpx.RemoteProtocolError):
        raw.post(f"/incidents/{incident.id}/notes", json={"note": {"content": "n"}},
                 headers=WRITE_HEADERS)  # fmt: skip
    assert [n.content for n in fake.notes(incident.id)] == ["n"]
    assert fake.requests[-1].status is None


def test_queued_failures_are_used_up_in_order(raw: httpx.Client, fake: FakePagerDuty) -> None:
    fake.fail_next(2, status=503)
    assert [raw.get("/abilities").status_code for _ in range(3)] == [503, 503, 200]


def test_a_disconnect_can_only_happen_after_processing(fake: FakePagerDuty) -> None:
    with pytest.raises(ValueError, match="after processing"):
        fake.fail_next(disconnect=True)


def test_a_delay_longer_than_the_read_timeout_is_a_read_timeout(
    fake: FakePagerDuty,
) -> None:
    fake.faults.delay = 0.05
    transport = fake.sync_transport()
    client = httpx.Client(base_url=URL, transport=transport, headers=HEADERS, timeout=0.01)
    with client, pytest.raises(httpx.ReadTimeout):
        client.get("/abilities")
    assert fake.requests[0].status == 200  # processed; the answer came too late


async def test_the_async_transport_also_turns_a_late_answer_into_a_read_timeout(
    fake: FakePagerDuty,
) -> None:
    fake.faults.delay = 0.05
    transport = fake.async_transport()
    client = httpx.AsyncClient(base_url=URL, transport=transport, headers=HEADERS, timeout=0.01)
    async with client:
        with pytest.raises(httpx.ReadTimeout):
            await client.get("/abilities")
    assert fake.requests[0].status == 200


def test_a_delay_within_the_read_timeout_answers_once_it_has_passed(fake: FakePagerDuty) -> None:
    fake.faults.delay = 0.05
    transport = fake.sync_transport()
    client = httpx.Client(base_url=URL, transport=transport, headers=HEADERS, timeout=5.0)
    started = time.monotonic()
    with client:
        assert client.get("/abilities").status_code == 200
    assert time.monotonic() - started >= 0.05


def test_reset_faults_restores_normal_service(raw: httpx.Client, fake: FakePagerDuty) -> None:
    fake.faults.rate_limit = 0
    fake.faults.error_rate = 1.0
    fake.fail_next(3)
    fake.reset_faults()
    assert raw.get("/abilities").status_code == 200
