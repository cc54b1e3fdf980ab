"""The retry decision, pure: (attempt, status, headers, elapsed, ...) -> wait this long, or give up.

What is retried (PagerDuty's error docs, and what its own client libraries get wrong):

- 429 Too Many Requests: wait until the rate-limit window resets. PagerDuty documents the
  `ratelimit-reset` header (seconds until the window resets); `Retry-After` is not documented but
  honoured if it ever appears (seconds, or an HTTP date measured against the answer's `Date`);
  with neither, capped exponential backoff. A 429 was not processed, so it is safe to repeat even a
  POST.
- 408, 500, 502, 503, 504 and transport failures: capped exponential backoff with full jitter
  (`uniform(0, min(cap, initial * multiplier ** (attempt - 1)))`), so clients that failed together
  do not return together. A 5xx or a lost answer may hide a request that *was* processed; the
  caller says whether repeating it is safe (`safe_to_repeat`), see `pagerduty_client._plans`.
- Any other status (400, 401, 402, 403, 404, 409, ...) is never retried: the same request would
  fail the same way.

Every decision respects two bounds: `max_attempts` (attempts in total, the first included) and
`max_elapsed` (seconds from the first attempt to the start of the last; a wait that would cross it
is not started, so a caller never sleeps only to give up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

import attrs

__all__ = ["RETRYABLE_STATUSES", "RetryDecision", "RetryPolicy", "decide", "rate_limit_wait"]

#: Statuses worth repeating unchanged.
RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


def _positive(_: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"RetryPolicy.{attribute.name} must be positive, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How hard the client tries before raising. The defaults suit a daemon that must not give up
    on a short PagerDuty hiccup but must not hang either.

    - `max_attempts` (6): attempts in total, the first one included. 1 disables retries.
    - `max_elapsed` (120 s): no retry starts later than this after the first attempt.
    - `backoff_initial` (0.5 s), `backoff_multiplier` (2), `backoff_max` (30 s): the exponential
      backoff ceiling for attempt n is `min(backoff_max, backoff_initial * multiplier**(n-1))`;
      the actual wait is uniformly random below it (full jitter).
    - `max_rate_limit_wait` (65 s): the longest single wait a 429's headers may ask for; PagerDuty's
      windows are one minute, so anything longer is treated as nonsense and capped.
    """

    max_attempts: int = attrs.field(default=6)
    max_elapsed: float = attrs.field(default=120.0, validator=_positive)
    backoff_initial: float = attrs.field(default=0.5, validator=_positive)
    backoff_multiplier: float = attrs.field(default=2.0)
    backoff_max: float = attrs.field(default=30.0, validator=_positive)
    max_rate_limit_wait: float = attrs.field(default=65.0, validator=_positive)

    @max_attempts.validator
    def _check_attempts(self, _: attrs.Attribute[int], value: int) -> None:
        if value < 1:
            raise ValueError(f"RetryPolicy.max_attempts must be at least 1, got {value!r}")

    @backoff_multiplier.validator
    def _check_multiplier(self, _: attrs.Attribute[float], value: float) -> None:
        if value < 1:
            raise ValueError(f"RetryPolicy.backoff_multiplier must be at least 1, got {value!r}")

    def backoff_ceiling(self, attempt: int) -> float:
        """The largest backoff wait after failed attempt number `attempt` (1-based)."""
        exponent = min(attempt - 1, 64)  # keeps the power finite; the cap applies long before
        return min(self.backoff_max, self.backoff_initial * self.backoff_multiplier**exponent)


@attrs.frozen
class RetryDecision:
    """`retry` with `delay` seconds to wait first, or give up; `reason` explains it for logs."""

    retry: bool
    delay: float
    reason: str


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value.strip() if value is not None else None


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def rate_limit_wait(headers: Mapping[str, str]) -> tuple[float, str] | None:
    """How long a 429's headers ask us to wait, and which header said so; None if they don't.

    `ratelimit-reset` first (PagerDuty's documented header), then `Retry-After` as seconds, then
    `Retry-After` as an HTTP date relative to the answer's own `Date` header (never our clock, so
    the answer is pure and immune to clock skew).
    """
    reset = _seconds(_header(headers, "ratelimit-reset"))
    if reset is not None:
        return reset, "ratelimit-reset"
    retry_after = _header(headers, "retry-after")
    seconds = _seconds(retry_after)
    if seconds is not None:
        return seconds, "retry-after"
    date = _header(headers, "date")
    if retry_after and date:
        try:
            at, sent = parsedate_to_datetime(retry_after), parsedate_to_datetime(date)
            delta = (at - sent).total_seconds()
        except (TypeError, ValueError):
            return None
        return max(0.0, delta), "retry-after date"
    return None


def decide(
    policy: RetryPolicy,
    *,
    attempt: int,
    elapsed: float,
    status: int | None,
    headers: Mapping[str, str],
    safe_to_repeat: bool,
    random_value: float,
) -> RetryDecision:
    """Decide what to do after failed attempt number `attempt` (1-based).

    `status` is the HTTP status, or None for a transport failure. `safe_to_repeat` says whether
    sending the same request again cannot do harm (idempotent, or certainly not processed, or the
    caller checked that it was not). `random_value` in [0, 1) drives the jitter.
    """
    if status is not None and status not in RETRYABLE_STATUSES:
        return RetryDecision(False, 0.0, f"HTTP {status} is not retryable")
    if not safe_to_repeat:
        return RetryDecision(False, 0.0, "the request may have been processed; not repeating it")
    if attempt >= policy.max_attempts:
        return RetryDecision(False, 0.0, f"gave up after {attempt} attempts")

    delay: float
    if status == 429 and (asked := rate_limit_wait(headers)) is not None:
        seconds, source = asked
        delay = min(seconds, policy.max_rate_limit_wait)
        reason = f"rate limited; waiting {delay:g}s as {source} asks"
    else:
        delay = random_value * policy.backoff_ceiling(attempt)
        what = "rate limited" if status == 429 else f"HTTP {status}" if status else "no answer"
        reason = f"{what}; backing off {delay:.3f}s"
    if elapsed + delay > policy.max_elapsed:
        reason = f"gave up: waiting {delay:g}s would pass max_elapsed={policy.max_elapsed:g}s"
        return RetryDecision(False, 0.0, reason)
    return RetryDecision(True, delay, reason)
