"""DecorrelatedJitter: exact delay sequences with a scripted random source."""

from __future__ import annotations

import doctest
import random

import pytest

from teleport_access import _backoff
from teleport_access._backoff import Backoff, DecorrelatedJitter


class ScriptedRandom(random.Random):
    """Returns a fixed fraction of each requested range, and records the ranges asked for."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction
        self.ranges: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.ranges.append((a, b))
        return a + (b - a) * self.fraction


def delays(backoff: DecorrelatedJitter, count: int) -> list[float]:
    return [round(backoff.next_delay(), 6) for _ in range(count)]


def test_upper_bound_delays_triple_from_base_until_the_cap() -> None:
    backoff = DecorrelatedJitter(0.02, 5.0, rng=ScriptedRandom(1.0))
    assert delays(backoff, 8) == [0.06, 0.18, 0.54, 1.62, 4.86, 5.0, 5.0, 5.0]


def test_each_delay_is_drawn_between_base_and_previous_delay_times_multiplier() -> None:
    rng = ScriptedRandom(0.5)
    backoff = DecorrelatedJitter(0.02, 5.0, rng=rng)
    first, second = backoff.next_delay(), backoff.next_delay()
    assert rng.ranges[0] == pytest.approx((0.02, 0.06))
    assert first == pytest.approx(0.04)
    assert rng.ranges[1] == pytest.approx((0.02, 0.12))
    assert second == pytest.approx(0.07)


def test_lower_bound_delays_stay_at_base() -> None:
    backoff = DecorrelatedJitter(0.02, 5.0, rng=ScriptedRandom(0.0))
    assert delays(backoff, 4) == [0.02, 0.02, 0.02, 0.02]


def test_custom_multiplier_scales_the_range() -> None:
    backoff = DecorrelatedJitter(1.0, 100.0, multiplier=2.0, rng=ScriptedRandom(1.0))
    assert delays(backoff, 4) == [2.0, 4.0, 8.0, 16.0]


def test_reset_starts_the_schedule_again_from_base() -> None:
    backoff = DecorrelatedJitter(0.02, 5.0, rng=ScriptedRandom(1.0))
    delays(backoff, 5)
    backoff.reset()
    assert delays(backoff, 2) == [0.06, 0.18]


def test_attempts_counts_delays_since_the_last_reset() -> None:
    backoff = DecorrelatedJitter(0.02, 5.0, rng=ScriptedRandom(1.0))
    delays(backoff, 3)
    assert backoff.attempts == 3
    backoff.reset()
    assert backoff.attempts == 0


def test_random_delays_always_lie_between_base_and_cap() -> None:
    backoff = DecorrelatedJitter(0.02, 5.0, rng=random.Random(7))
    for _ in range(2000):
        assert 0.02 <= backoff.next_delay() <= 5.0


def test_same_seed_gives_the_same_sequence() -> None:
    one = DecorrelatedJitter(0.02, 5.0, rng=random.Random(42))
    two = DecorrelatedJitter(0.02, 5.0, rng=random.Random(42))
    assert delays(one, 10) == delays(two, 10)


def test_unseeded_instances_do_not_share_a_sequence() -> None:
    one = DecorrelatedJitter(0.02, 5.0)
    two = DecorrelatedJitter(0.02, 5.0)
    assert delays(one, 10) != delays(two, 10)


@pytest.mark.parametrize(
    ("base", "cap", "multiplier", "message"),
    [
        (0.0, 5.0, 3.0, "base must be positive"),
        (-1.0, 5.0, 3.0, "base must be positive"),
        (2.0, 1.0, 3.0, "must be at least its base"),
        (0.02, 5.0, 0.5, "multiplier must be at least 1"),
    ],
)
def test_invalid_parameters_are_rejected_with_a_message_naming_them(
    base: float, cap: float, multiplier: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        DecorrelatedJitter(base, cap, multiplier=multiplier)


def test_decorrelated_jitter_satisfies_the_backoff_protocol() -> None:
    backoff: Backoff = DecorrelatedJitter(0.02, 5.0)
    assert backoff.next_delay() > 0


def test_module_docstring_examples_hold() -> None:
    result = doctest.testmod(_backoff, extraglobs={"random": random})
    assert result.failed == 0
    assert result.attempted > 0
