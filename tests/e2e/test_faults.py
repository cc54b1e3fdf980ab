"""Fault tolerance of `tpd run` under a burst of requests that are reviewed and resolved while
PagerDuty or the Auth Service fail at random, and while the process itself is `kill -9`ed:
every request ends with exactly one incident, resolved, every review note and the resolution
note exactly once, the right plugin data, and exactly one approval for on-call requesters.

Randomness (which faults, when, which requests, when a process dies) comes from one seed, printed
at the start of each test (pytest shows it on failure); `TPD_FAULT_SEED=<seed>` replays it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from pagerduty_client.testing import FakePagerDuty
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    BURST_KINDS,
    Burst,
    PagerDutyWorld,
    StartTpd,
    put_on_call,
)

#: The per-attempt timeout of tpd's PagerDuty client (AsyncPagerDutyClient's default).
CLIENT_TIMEOUT = 10.0


async def run_through_chaos(
    burst: Burst,
    chaos: Callable[[asyncio.Event], Coroutine[Any, Any, None]],
    *,
    count: int,
    over: float,
) -> None:
    """Drive `count` requests over `over` seconds while `chaos(enough)` injects faults; then set
    `enough` and keep requests coming until the chaos has ended (a fault queued while nothing
    calls would be cleared unused by the next turn). The chaos is cancelled if the burst fails."""
    enough = asyncio.Event()
    task = asyncio.create_task(chaos(enough))
    try:
        await burst.run(count, over=over)
        enough.set()
        await burst.run_while(task)
        await task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


# -- PagerDuty ------------------------------------------------------------------------------------

PAGERDUTY_TROUBLES = (
    "5xx before processing",
    "429 before processing",
    "rate limit",
    "500 after processing",
    "disconnect after processing",
    "answer slower than the client timeout",
    "calm",
)


#: How a request PagerDuty received shows that a trouble bit: its answer's status (None: the
#: connection dropped); a slow answer bites the first request that arrives during its turn.
BITES: dict[str, Callable[[int | None], bool]] = {
    "5xx before processing": lambda status: status in (500, 502, 503),
    "429 before processing": lambda status: status == 429,
    "rate limit": lambda status: status == 429,
    "500 after processing": lambda status: status == 500,
    "disconnect after processing": lambda status: status is None,
    "answer slower than the client timeout": lambda status: True,
}


async def pagerduty_chaos(
    fake: FakePagerDuty,
    rng: random.Random,
    used: list[str],
    *,
    enough: asyncio.Event,
    turns: int = 16,
) -> None:
    """`turns` troubles one after another, each for the next few requests PagerDuty receives (at
    most 2 s), then none (sooner once `enough` is set and each kind came). The first round shows
    each kind once (the slow answers twice), in random order, each lasting until it bit (tpd may
    be busy retrying; see BITES), then they come at random. Each trouble is certain for the
    first request of its turn and random (20 to 50 %) for the rest. A slow answer is slept after
    PagerDuty did the work, longer than tpd's client waits: an ambiguous timeout."""
    first = [*PAGERDUTY_TROUBLES, "answer slower than the client timeout"]
    rng.shuffle(first)
    slow_left = 3
    for _ in range(turns):
        if not first and enough.is_set():
            break
        first_round = bool(first)
        trouble = first.pop() if first else rng.choice(PAGERDUTY_TROUBLES)
        if trouble == "answer slower than the client timeout":
            if slow_left == 0:
                trouble = "calm"
            slow_left -= 1
        used.append(trouble)
        fake.reset_faults()  # (a new Faults object)
        faults = fake.faults
        rate = rng.uniform(0.2, 0.5)
        turn = rng.randint(4, 12)
        if trouble == "5xx before processing":
            faults.error_status = rng.choice((500, 502, 503))
            fake.fail_next(status=faults.error_status)
            faults.error_rate = rate
        elif trouble == "429 before processing":
            faults.error_status = 429
            fake.fail_next(status=429)
            faults.error_rate = rate
        elif trouble == "rate limit":
            faults.rate_limit = rng.randint(2, 6)
            faults.rate_limit_window = 1.0
        elif trouble == "500 after processing":
            fake.fail_next(status=500, after_processing=True)
            faults.after_processing = "status"
            faults.error_after_processing_rate = rate
        elif trouble == "disconnect after processing":
            fake.fail_next(after_processing=True, disconnect=True)
            faults.after_processing = "disconnect"
            faults.error_after_processing_rate = rate
        elif trouble == "answer slower than the client timeout":
            faults.delay = CLIENT_TIMEOUT + 0.5
            turn = rng.randint(1, 3)
        bites = BITES.get(trouble) if first_round else None
        await wait_for_requests(fake, turn, bites=bites, limit=2.0)
    fake.reset_faults()


async def wait_for_requests(
    fake: FakePagerDuty,
    count: int,
    *,
    bites: Callable[[int | None], bool] | None = None,
    limit: float,
) -> None:
    """Until PagerDuty received `count` more requests, or `limit` seconds passed; and with
    `bites`, also until the status of one of them satisfied it (at most 30 s)."""
    start = len(fake.requests)
    loop = asyncio.get_running_loop()
    begun = loop.time()

    def bitten() -> bool:
        return bites is None or any(bites(r.status) for r in fake.requests[start:])

    while loop.time() < begun + 30.0:
        counted = len(fake.requests) >= start + count or loop.time() >= begun + limit
        if counted and bitten():
            return
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.paging_modes
async def test_pagerduty_failing_at_random_during_a_burst_pages_notes_and_resolves_exactly_once(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    # Room for one attempt that times out plus its retries within one handling.
    tpd = await start_tpd(extra='[tpd]\nhandler_timeout = "25s"\n')
    burst = Burst(
        fake_auth, pagerduty, seed=seed, timeout=150.0, page_when_approved=page_when_approved
    )
    used: list[str] = []
    await run_through_chaos(
        burst,
        lambda enough: pagerduty_chaos(
            pagerduty.fake, random.Random(seed + 1), used, enough=enough
        ),
        count=30,
        over=3.0,
    )

    await burst.assert_ends_exactly(timeout=150.0)
    # The faults did happen, each kind of them.
    statuses = collections.Counter(r.status for r in pagerduty.fake.requests)
    assert statuses[429] > 0, (seed, statuses, used)
    assert sum(statuses[code] for code in (500, 502, 503)) > 0, (seed, statuses, used)
    assert statuses[None] > 0, (seed, statuses, used)  # the connection dropped
    assert "ReadTimeout" in tpd.output, (seed, used)
    assert tpd.returncode is None


# -- the Auth Service -----------------------------------------------------------------------------

TELEPORT_TROUBLES = (
    "drop the watch stream",
    "refuse WatchEvents",
    "refuse ListAccessRequests",
    "refuse GetPluginData",
    "refuse UpdatePluginData",
    "refuse SubmitAccessReview",
    "calm",
)


async def teleport_chaos(
    auth: FakeAuthServer,
    rng: random.Random,
    used: list[str],
    *,
    enough: asyncio.Event,
    turns: int = 16,
) -> None:
    """`turns` troubles one after another, then none (sooner once `enough` is set and each kind
    came); the first round shows each kind once, in random order. A trouble is the watch stream
    dropped, or the next 1 to 4 calls of a method answered UNAVAILABLE (the turn lasts until
    they were, at most 3 s, and in the first round at least until one was: a call such as
    SubmitAccessReview only comes with an on-call request); a refused WatchEvents or
    ListAccessRequests comes with a dropped stream, so the reconnect (and its catch-up listing)
    meets it."""
    first = list(TELEPORT_TROUBLES)
    rng.shuffle(first)
    for _ in range(turns):
        if not first and enough.is_set():
            break
        first_round = bool(first)
        trouble = first.pop() if first else rng.choice(TELEPORT_TROUBLES)
        used.append(trouble)
        if trouble in ("drop the watch stream", "calm"):
            if trouble != "calm":
                auth.drop_watch_streams()
            await asyncio.sleep(rng.uniform(0.1, 0.5))
            continue
        method = trouble.split()[1]
        times = rng.randint(1, 4)
        auth.fail_next(method, times=times)
        if method in ("WatchEvents", "ListAccessRequests"):
            auth.drop_watch_streams()
        await wait_for_refusals(auth, method, times, limit=3.0, bite=first_round)
    auth.clear_faults()


def refusals(auth: FakeAuthServer, method: str) -> int:
    return sum(1 for call in auth.calls_to(method) if call.code == "UNAVAILABLE")


async def wait_for_refusals(
    auth: FakeAuthServer, method: str, count: int, *, limit: float, bite: bool = False
) -> None:
    """Until `count` more calls of `method` were refused, or `limit` seconds passed; with
    `bite`, also until at least one was (at most 30 s)."""
    before = refusals(auth, method)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    while loop.time() < begun + 30.0:
        refused = refusals(auth, method) - before
        if (refused >= count or loop.time() >= begun + limit) and (refused or not bite):
            return
        await asyncio.sleep(0.02)


@pytest.mark.slow
@pytest.mark.paging_modes
async def test_the_auth_service_dropping_and_refusing_calls_during_a_burst_loses_nothing(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    tpd = await start_tpd()
    # More on-call requests than usual: they are the ones SubmitAccessReview is called for.
    burst = Burst(
        fake_auth,
        pagerduty,
        seed=seed,
        kinds=(*BURST_KINDS, "on-call"),
        timeout=150.0,
        page_when_approved=page_when_approved,
    )
    used: list[str] = []
    await run_through_chaos(
        burst,
        lambda enough: teleport_chaos(fake_auth, random.Random(seed + 1), used, enough=enough),
        count=30,
        over=8.0,
    )

    await burst.assert_ends_exactly(timeout=150.0)
    refused = collections.Counter(
        call.method for call in fake_auth.calls if call.code == "UNAVAILABLE"
    )
    for method in (
        "WatchEvents",
        "ListAccessRequests",
        "GetPluginData",
        "UpdatePluginData",
        "SubmitAccessReview",
    ):
        assert refused[method] > 0, (seed, method, refused, used)
    reconnects = tpd.find_logs("Watcher connected (connection")
    assert len(reconnects) >= 3, (seed, len(reconnects), used)
    assert tpd.returncode is None


# -- kill -9 --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.paging_modes
async def test_kill_9_at_random_moments_during_a_burst_duplicates_and_loses_nothing(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    # A short handler timeout: a resolution or note claimed by a killed process is finished
    # by its successor after 3 + 5 s.
    tuning = '[tpd]\nhandler_timeout = "3s"\n'
    # PagerDuty answers a little slowly (after doing the work), so kills land in the middle of
    # PagerDuty calls as well as between them.
    pagerduty.fake.faults.delay = 0.3
    rng = random.Random(seed + 1)
    tpd = await start_tpd(extra=tuning)
    burst = Burst(
        fake_auth, pagerduty, seed=seed, timeout=150.0, page_when_approved=page_when_approved
    )
    driving = asyncio.create_task(burst.run(40, over=6.0))
    kills = 0
    try:
        for _ in range(5):
            await asyncio.sleep(rng.uniform(0.3, 2.0))
            await tpd.kill()
            kills += 1
            await asyncio.sleep(rng.uniform(0.0, 0.5))
            tpd = await start_tpd(extra=tuning)
        await driving
    finally:
        driving.cancel()
        with contextlib.suppress(BaseException):
            await driving

    await burst.assert_ends_exactly(timeout=120.0)
    assert kills == 5
    assert tpd.returncode is None
