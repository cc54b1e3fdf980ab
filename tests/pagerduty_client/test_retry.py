"""The pure retry decision: what is retried, how long each wait is, and where retrying stops."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagerduty_client import RetryPolicy
from pagerduty_client._retry import decide, rate_limit_wait

POLICY = RetryPolicy()


def after(
    status: int | None,
    *,
    headers: dict[str, str] | None = None,
    attempt: int = 1,
    elapsed: float = 0.0,
    safe: bool = True,
    rand: float = 0.5,
    policy: RetryPolicy = POLICY,
) -> tuple[bool, float]:
    decision = decide(
        policy,
        attempt=attempt,
        elapsed=elapsed,
        status=status,
        headers=headers or {},
        safe_to_repeat=safe,
        random_value=rand,
    )
    return decision.retry, decision.delay


def test_a_429_waits_exactly_as_long_as_ratelimit_reset_says() -> None:
    assert after(429, headers={"ratelimit-reset": "37"}) == (True, 37.0)


def test_ratelimit_reset_is_preferred_over_retry_after() -> None:
    assert after(429, headers={"ratelimit-reset": "5", "retry-after": "50"}) == (True, 5.0)


def test_retry_after_in_seconds_is_used_when_ratelimit_reset_is_absent() -> None:
    assert after(429, headers={"Retry-After": "12"}) == (True, 12.0)


def test_retry_after_as_an_http_date_is_measured_against_the_answers_date_header() -> None:
    headers = {
        "retry-after": "Wed, 21 Oct 2015 07:28:30 GMT",
        "date": "Wed, 21 Oct 2015 07:28:00 GMT",
    }
    assert rate_limit_wait(headers) == (30.0, "retry-after date")


def test_a_429_without_rate_limit_headers_backs_off_exponentially() -> None:
    assert after(429, attempt=3, rand=1.0) == (True, 2.0)  # 0.5 * 2**2


def test_a_429_wait_is_capped_by_max_rate_limit_wait() -> None:
    policy = RetryPolicy(max_rate_limit_wait=10.0)
    assert after(429, headers={"ratelimit-reset": "3600"}, policy=policy) == (True, 10.0)


def test_an_unparseable_ratelimit_reset_falls_back_to_backoff() -> None:
    assert after(429, headers={"ratelimit-reset": "soon"}, rand=0.0) == (True, 0.0)


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_timeouts_and_server_errors_are_retried_with_full_jitter(status: int) -> None:
    assert after(status, attempt=2, rand=0.25) == (True, 0.25)  # 0.25 * (0.5 * 2)


def test_a_transport_failure_is_retried() -> None:
    assert after(None, rand=1.0) == (True, 0.5)


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 409, 413, 422, 501])
def test_other_statuses_are_never_retried(status: int) -> None:
    assert after(status)[0] is False


def test_the_backoff_ceiling_doubles_up_to_backoff_max() -> None:
    policy = RetryPolicy(backoff_initial=1.0, backoff_max=5.0)
    assert [policy.backoff_ceiling(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_retries_stop_after_max_attempts() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert after(500, attempt=2, policy=policy)[0] is True
    assert after(500, attempt=3, policy=policy)[0] is False


def test_a_wait_that_would_pass_max_elapsed_is_not_started() -> None:
    policy = RetryPolicy(max_elapsed=30.0)
    assert after(429, headers={"ratelimit-reset": "20"}, elapsed=9.0, policy=policy)[0] is True
    assert after(429, headers={"ratelimit-reset": "20"}, elapsed=11.0, policy=policy)[0] is False


def test_an_ambiguous_failure_of_a_request_unsafe_to_repeat_is_not_retried() -> None:
    assert after(500, safe=False) == (False, 0.0)


def test_a_single_attempt_policy_never_retries() -> None:
    assert after(503, policy=RetryPolicy(max_attempts=1))[0] is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_elapsed": 0},
        {"backoff_initial": -1},
        {"backoff_multiplier": 0.5},
        {"backoff_max": 0},
        {"max_rate_limit_wait": 0},
    ],
)
def test_nonsensical_retry_policies_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@given(
    attempt=st.integers(min_value=1, max_value=200),
    rand=st.floats(min_value=0.0, max_value=0.999999),
    status=st.sampled_from([None, 408, 429, 500, 502, 503, 504]),
)
def test_a_backoff_delay_is_never_negative_nor_above_its_ceiling(
    attempt: int, rand: float, status: int | None
) -> None:
    policy = RetryPolicy(max_attempts=1000, max_elapsed=1e9)
    retry, delay = after(status, attempt=attempt, rand=rand, policy=policy)
    assert retry
    assert 0.0 <= delay <= policy.backoff_ceiling(attempt) <= policy.backoff_max
