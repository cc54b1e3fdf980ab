"""Re-attempts of failed requests: the delay schedule and the per-request timers."""

from __future__ import annotations

import asyncio

import pytest

from teleport_pd_cli.daemon._retries import RetryScheduler, retry_delay


@pytest.mark.parametrize(
    ("attempt", "random_value", "expected"),
    [
        (1, 0.0, 1.0),  # 2 s, shortened by up to half
        (1, 0.999999, 2.0),
        (2, 0.0, 2.0),
        (3, 0.5, 6.0),  # 8 s: 4 + 2
        (9, 0.0, 150.0),  # capped at 300 s
        (500, 0.0, 150.0),
    ],
)
def test_the_delay_doubles_per_attempt_up_to_the_cap(
    attempt: int, random_value: float, expected: float
) -> None:
    delay = retry_delay(attempt, base=2.0, cap=300.0, random_value=random_value)
    assert delay == pytest.approx(expected, abs=1e-4)


def test_attempts_count_from_one() -> None:
    with pytest.raises(ValueError):
        retry_delay(0, base=2.0, cap=300.0, random_value=0.0)


class Fired:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self.event = asyncio.Event()

    def __call__(self, request_id: str) -> None:
        self.ids.append(request_id)
        self.event.set()


async def test_a_failure_fires_after_its_delay_and_counts_attempts() -> None:
    fired = Fired()
    scheduler = RetryScheduler(fired, base=0.01, cap=1.0, random=lambda: 0.0)

    assert scheduler.failed("r1") == (1, pytest.approx(0.005))
    assert scheduler.failed("r1")[0] == 2
    await asyncio.wait_for(fired.event.wait(), 2.0)

    assert fired.ids == ["r1"]
    assert scheduler.attempts("r1") == 2
    assert scheduler.scheduled == frozenset()


async def test_a_success_resets_the_count_and_cancels_the_failure_timer() -> None:
    fired = Fired()
    scheduler = RetryScheduler(fired, base=0.05, random=lambda: 0.0)
    scheduler.failed("r1")

    scheduler.succeeded("r1")
    await asyncio.sleep(0.1)

    assert fired.ids == []
    assert scheduler.attempts("r1") == 0


async def test_a_recheck_survives_a_success() -> None:
    fired = Fired()
    scheduler = RetryScheduler(fired)
    scheduler.recheck("r1", 0.02)

    scheduler.succeeded("r1")
    await asyncio.wait_for(fired.event.wait(), 2.0)

    assert fired.ids == ["r1"]


async def test_the_earlier_of_two_timers_wins() -> None:
    fired = Fired()
    scheduler = RetryScheduler(fired)
    scheduler.recheck("r1", 10.0)
    scheduler.recheck("r1", 0.01)
    scheduler.recheck("r1", 5.0)

    await asyncio.wait_for(fired.event.wait(), 2.0)
    await asyncio.sleep(0.05)

    assert fired.ids == ["r1"]
    assert scheduler.scheduled == frozenset()


async def test_nothing_fires_after_close() -> None:
    fired = Fired()
    scheduler = RetryScheduler(fired, base=0.01, random=lambda: 0.0)
    scheduler.failed("r1")
    scheduler.recheck("r2", 0.01)

    scheduler.close()
    scheduler.failed("r3")
    await asyncio.sleep(0.05)

    assert fired.ids == []


async def test_a_failing_callback_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    def broken(request_id: str) -> None:
        raise RuntimeError("bug")

    scheduler = RetryScheduler(broken)
    scheduler.recheck("r1", 0.0)
    await asyncio.sleep(0.02)

    assert "Re-attempting request r1 failed" in caplog.text
