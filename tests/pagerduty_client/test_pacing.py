"""Client-side pacing: a burst goes out, then requests are spaced; a 429's reset holds everyone."""

from __future__ import annotations

import pytest

from pagerduty_client._pacing import Pacer


def waits(pacer: Pacer, now: float, count: int) -> list[float]:
    return [round(pacer.reserve(now), 6) for _ in range(count)]


def test_without_a_rate_nothing_waits() -> None:
    assert waits(Pacer(None), 0.0, 5) == [0.0] * 5


def test_requests_beyond_the_burst_are_spaced_at_the_configured_rate() -> None:
    pacer = Pacer(120.0, burst=2)  # one every 0.5 s after two at once
    assert waits(pacer, 0.0, 5) == [0.0, 0.0, 0.5, 1.0, 1.5]


def test_the_default_burst_is_one_seconds_worth_of_requests() -> None:
    assert Pacer(960.0).burst == 16
    assert Pacer(30.0).burst == 1


def test_capacity_comes_back_as_time_passes() -> None:
    pacer = Pacer(60.0, burst=1)
    assert pacer.reserve(0.0) == 0.0
    assert pacer.reserve(0.5) == 0.5
    assert pacer.reserve(10.0) == 0.0


def test_a_hold_delays_every_request_until_the_window_resets() -> None:
    pacer = Pacer(None)
    pacer.hold(until=30.0)
    assert waits(pacer, 10.0, 3) == [20.0, 20.0, 20.0]
    assert pacer.reserve(31.0) == 0.0


def test_a_hold_and_pacing_combine() -> None:
    pacer = Pacer(60.0, burst=1)
    pacer.hold(until=5.0)
    assert waits(pacer, 0.0, 2) == [5.0, 6.0]


@pytest.mark.parametrize(("rate", "burst"), [(0.0, None), (-1.0, None), (60.0, 0)])
def test_invalid_pacing_settings_are_refused(rate: float, burst: int | None) -> None:
    with pytest.raises(ValueError, match="must be"):
        Pacer(rate, burst=burst)
