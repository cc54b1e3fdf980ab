"""The high-availability deployment: two `tpd run` processes with the same config against the
same cluster. They share nothing but Teleport's plugin data (compare-and-swap) and PagerDuty's
incident_key, and yet every request gets exactly one incident, one note per review, one
resolution note and one approval when its requester is on call, also while reviews arrive
together and when one replica is `kill -9`ed mid-burst and never comes back.

The random seed is printed at the start (pytest shows it on failure); `TPD_FAULT_SEED=<seed>`
replays the test's random choices.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import random

import pytest

from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    ON_CALL_REQUESTER,
    PLUGIN_USER,
    REQUESTER_AUTO,
    REQUESTER_OSS,
    Burst,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
    put_on_call,
)

#: A short handler timeout: what a killed replica claimed and left unfinished is finished by
#: the other after 3 + 5 s.
TUNING = '[tpd]\nhandler_timeout = "3s"\n'
#: Log messages of the writes a replica makes.
WRITES = (
    "Successfully created PagerDuty incident",
    "Posted ",
    "Successfully resolved the incident",
    "Successfully submitted a request approval",
)


def writes(process: TpdProcess) -> collections.Counter[str]:
    return collections.Counter(message for message in WRITES for _ in process.find_logs(message))


def compare_failures(auth: FakeAuthServer) -> int:
    """Plugin-data writes refused because another writer changed the record first."""
    return sum(
        1 for call in auth.calls_to("UpdatePluginData") if call.code == "FAILED_PRECONDITION"
    )


@pytest.mark.paging_modes
async def test_two_replicas_handle_a_burst_with_concurrent_reviews_exactly_once(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    first, second = await asyncio.gather(start_tpd(extra=TUNING), start_tpd(extra=TUNING))
    burst = Burst(fake_auth, pagerduty, seed=seed, page_when_approved=page_when_approved)

    await burst.run(30, over=3.0)
    await burst.assert_ends_exactly()
    # Both replicas saw every request and raced for it: both made writes, and the plugin data's
    # compare-and-swap turned some of them away.
    assert writes(first), writes(second)
    assert writes(second), writes(first)
    assert compare_failures(fake_auth) > 0
    assert first.returncode is None
    assert second.returncode is None


@pytest.mark.slow
@pytest.mark.paging_modes
async def test_a_replica_killed_mid_burst_leaves_the_other_to_finish_everything_once(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    # PagerDuty answers a little slowly (after doing the work), so the kill lands in the middle
    # of PagerDuty calls as well as between them.
    pagerduty.fake.faults.delay = 0.3
    doomed, survivor = await asyncio.gather(start_tpd(extra=TUNING), start_tpd(extra=TUNING))
    burst = Burst(fake_auth, pagerduty, seed=seed, page_when_approved=page_when_approved)
    driving = asyncio.create_task(burst.run(40, over=5.0))
    try:
        await asyncio.sleep(random.Random(seed + 1).uniform(1.0, 4.0))
        await doomed.kill()
        await driving
    finally:
        driving.cancel()
        with contextlib.suppress(BaseException):
            await driving

    await burst.assert_ends_exactly()
    assert writes(doomed), "the killed replica had done nothing yet"
    assert survivor.returncode is None


@pytest.mark.paging_modes
async def test_two_replicas_started_together_catch_up_on_existing_requests_once(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    seed: int,
    page_when_approved: bool,
) -> None:
    put_on_call(pagerduty)
    rng = random.Random(seed)
    waiting = [
        fake_auth.create_request(
            rng.choice((REQUESTER_OSS, ON_CALL_REQUESTER, REQUESTER_AUTO)),
            ["editor"],
            reason=f"before any replica ran {index}",
        )
        for index in range(15)
    ]
    # Approved by the plugin's review alone: paged only with page_when_approved = true.
    approved_alone = {r.id for r in waiting if r.user == REQUESTER_AUTO}
    paged = [r for r in waiting if page_when_approved or r.id not in approved_alone]

    first, second = await asyncio.gather(start_tpd(extra=TUNING), start_tpd(extra=TUNING))
    await asyncio.gather(first.wait_for_log("Caught up"), second.wait_for_log("Caught up"))
    for request in waiting:
        if request.user in (ON_CALL_REQUESTER, REQUESTER_AUTO):
            await fake_auth.wait_for_review(request.id, PLUGIN_USER, timeout=30.0)
    for request in paged:
        await pagerduty.wait_for_incident(request.id)
    await Burst(fake_auth, pagerduty, seed=seed).quiesce()
    by_key = collections.Counter(incident.incident_key for incident in pagerduty.fake.incidents)
    assert all(count == 1 for count in by_key.values()), by_key
    assert sorted(by_key) == sorted(f"teleport-access-request/{r.id}" for r in paged)
    for request in waiting:
        after = fake_auth.get_request(request.id)
        assert after is not None
        approvals = [review for review in after.reviews if review.author == PLUGIN_USER]
        on_call = request.user in (ON_CALL_REQUESTER, REQUESTER_AUTO)
        assert len(approvals) == (1 if on_call else 0)
        assert after.state is (
            RequestState.APPROVED if request.id in approved_alone else RequestState.PENDING
        )
