"""The daemon's lookup caches: expiry, negative answers, failures, single-flight."""

from __future__ import annotations

import asyncio

import pytest

from pagerduty_client.testing import FakePagerDuty
from teleport_pd_cli.daemon._lookups import Lookups, TTLCache


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    """Counts calls; answers `value`, or raises `error`; can be held until released."""

    def __init__(self, value: str | None = "answer") -> None:
        self.value = value
        self.calls = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> str | None:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.value


async def test_an_answer_is_reused_until_the_ttl_passes() -> None:
    clock = Clock()
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=clock)
    load = Loader()

    assert await cache.get("k", load) == "answer"
    clock.now += 299
    assert await cache.get("k", load) == "answer"
    assert load.calls == 1
    clock.now += 1
    assert await cache.get("k", load) == "answer"
    assert load.calls == 2
    assert (cache.stats.hits, cache.stats.misses) == (1, 2)


async def test_a_not_found_answer_is_remembered_for_a_shorter_time() -> None:
    clock = Clock()
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=clock)
    load = Loader(value=None)

    assert await cache.get("k", load) is None
    clock.now += 29
    assert await cache.get("k", load) is None
    assert load.calls == 1
    clock.now += 1  # negative answers live min(ttl, 30 s)
    await cache.get("k", load)
    assert load.calls == 2


async def test_a_failure_is_not_cached() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=Clock())
    load = Loader()
    load.error = RuntimeError("PagerDuty is down")

    with pytest.raises(RuntimeError):
        await cache.get("k", load)
    load.error = None
    assert await cache.get("k", load) == "answer"
    assert load.calls == 2
    assert cache.stats.failures == 1


async def test_concurrent_lookups_of_one_key_share_a_single_call() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=Clock())
    load = Loader()
    load.gate = asyncio.Event()

    waiters = [asyncio.ensure_future(cache.get("k", load)) for _ in range(20)]
    await asyncio.sleep(0)
    load.gate.set()

    assert await asyncio.gather(*waiters) == ["answer"] * 20
    assert load.calls == 1
    assert cache.stats.shared == 19


async def test_a_failure_reaches_every_caller_sharing_the_call() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=Clock())
    load = Loader()
    load.gate = asyncio.Event()
    load.error = RuntimeError("boom")

    waiters = [asyncio.ensure_future(cache.get("k", load)) for _ in range(3)]
    await asyncio.sleep(0)
    load.gate.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)

    assert all(isinstance(result, RuntimeError) for result in results)
    assert load.calls == 1


async def test_a_cancelled_caller_does_not_cancel_the_lookup_of_the_others() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=Clock())
    load = Loader()
    load.gate = asyncio.Event()
    first = asyncio.ensure_future(cache.get("k", load))
    second = asyncio.ensure_future(cache.get("k", load))
    await asyncio.sleep(0)

    first.cancel()
    await asyncio.sleep(0)
    load.gate.set()

    assert await second == "answer"
    assert first.cancelled()
    assert load.calls == 1
    assert cache.peek("k") == (True, "answer")


async def test_the_oldest_entries_go_first_beyond_max_entries() -> None:
    cache: TTLCache[str, str] = TTLCache(ttl=300, clock=Clock(), max_entries=2)
    for key in ("a", "b", "c"):
        await cache.get(key, Loader(key))

    assert len(cache) == 2
    assert cache.peek("a") == (False, None)
    assert cache.peek("c") == (True, "c")


async def test_a_burst_of_service_lookups_makes_one_pagerduty_call() -> None:
    fake = FakePagerDuty(strict=True)
    policy = fake.add_escalation_policy("Ops")
    fake.add_service("Payments", policy)
    async with fake.client() as pagerduty:
        lookups = Lookups(pagerduty, auth=None, ttl=300)  # type: ignore[arg-type]
        found = await asyncio.gather(
            *(lookups.service(name) for name in ["Payments", "payments", "PAYMENTS"] * 5)
        )

    assert {service.name for service in found if service is not None} == {"Payments"}
    assert len(fake.requests_to("GET", "/services")) == 1


async def test_an_unknown_user_is_looked_up_once_within_the_negative_ttl() -> None:
    fake = FakePagerDuty(strict=True)
    clock = Clock()
    async with fake.client() as pagerduty:
        lookups = Lookups(pagerduty, auth=None, ttl=300, clock=clock)  # type: ignore[arg-type]
        assert await lookups.user("ghost@example.com") is None
        assert await lookups.user("ghost@example.com") is None
        clock.now += 31
        assert await lookups.user("ghost@example.com") is None

    assert len(fake.requests_to("GET", "/users")) == 2
