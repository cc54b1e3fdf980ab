"""A 429 drawn while other calls wait for their pacing slots holds those calls too.

Without this, every call that had reserved a slot inside the exhausted window went out at its
slot and drew a 429 of its own (found by benchmarks/e2e_ratelimit.py: 15 wasted 429s in the first
window of a paced burst).
"""

from __future__ import annotations

import asyncio

from pagerduty_client._pacing import Pacer
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import BOT_EMAIL


def test_held_says_how_long_the_current_hold_lasts() -> None:
    pacer = Pacer(60.0)
    assert pacer.held(0.0) == 0.0
    pacer.hold(until=30.0)
    assert pacer.held(10.0) == 20.0
    assert pacer.held(31.0) == 0.0


async def test_callers_waiting_for_a_slot_honour_a_hold_set_while_they_waited(
    fake: FakePagerDuty, clock: FakeClock
) -> None:
    fake.faults.rate_limit, fake.faults.rate_limit_window = 5, 60.0
    async with fake.client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep, requests_per_minute=60
    ) as client:
        # One call a second: the sixth (t = 5 s) draws the window's 429 while four more wait.
        await asyncio.gather(*(client.abilities() for _ in range(10)))
    statuses = [r.status for r in fake.requests]
    assert statuses.count(429) == 1
    assert statuses.count(200) == 10


def test_the_sync_client_honours_a_hold_set_while_it_waited(fake: FakePagerDuty) -> None:
    holds: list[float] = []
    clock = FakeClock()

    def sleep(seconds: float) -> None:
        holds.append(seconds)
        if len(holds) == 1:  # another thread's 429 lands while this call waits for its slot
            client._core.pacer.hold(clock.monotonic() + 30.0)
        clock.advance(seconds)

    with fake.sync_client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=sleep, requests_per_minute=60
    ) as client:
        client.abilities()  # the burst's slot: no wait
        client.abilities()  # waits 1 s for its slot, then the rest of the hold
    assert holds == [1.0, 29.0]
    assert [r.status for r in fake.requests] == [200, 200]
