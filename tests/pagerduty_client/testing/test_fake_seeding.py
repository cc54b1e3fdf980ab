"""Seeding and inspection helpers, awaitable checks, and the virtual clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from pagerduty_client import AsyncPagerDutyClient, Reference, User
from pagerduty_client.testing import FakeClock, FakePagerDuty
from tests.pagerduty_client.conftest import World


def test_seeding_returns_the_objects_as_the_api_would(fake: FakePagerDuty) -> None:
    user = fake.add_user("Dana", "dana@example.com", role="admin", job_title="SRE")
    assert isinstance(user, User)
    assert (user.role, user.job_title, user.html_url) == (
        "admin", "SRE", f"https://tpd-fake.pagerduty.com/users/{user.id}",
    )  # fmt: skip
    assert user.id.startswith("P")
    assert len(user.id) == 7
    schedule = fake.add_schedule("Primary", id="PSCHED1")
    assert schedule == Reference(
        id="PSCHED1", type="schedule_reference", summary="Primary",
        self_url="https://api.pagerduty.com/schedules/PSCHED1",
        html_url="https://tpd-fake.pagerduty.com/schedules/PSCHED1",
    )  # fmt: skip


def test_policy_targets_may_be_users_schedules_or_their_ids(fake: FakePagerDuty) -> None:
    user = fake.add_user("Dana", "dana@example.com")
    schedule = fake.add_schedule("Primary")
    policy = fake.add_escalation_policy("P", rules=[[user, schedule.id], [user.id]])
    assert [[t.type for t in r.targets] for r in policy.escalation_rules] == [
        ["user_reference", "schedule_reference"], ["user_reference"],
    ]  # fmt: skip


def test_unknown_references_are_refused_when_seeding(fake: FakePagerDuty) -> None:
    with pytest.raises(KeyError, match="PNOPE"):
        fake.add_escalation_policy("P", rules=[["PNOPE"]])
    with pytest.raises(KeyError, match="escalation policy"):
        fake.add_service("S", "PNOPE")
    with pytest.raises(KeyError, match="service"):
        fake.add_incident("PNOPE", "t")


def test_on_call_entries_need_aware_times_and_a_level_from_one(
    fake: FakePagerDuty, world: World
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        fake.add_on_call(world.bob, world.ops, start=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="start at 1"):
        fake.add_on_call(world.bob, world.ops, level=0)


def test_inspection_lists_users_services_incidents_and_notes(
    fake: FakePagerDuty, world: World
) -> None:
    incident = fake.add_incident(world.payments, "seeded", details={"k": "v"})
    assert {u.email for u in fake.users} >= {"alice@example.com", "bob@example.com"}
    assert [s.name for s in fake.services] == ["Payments", "Billing"]
    assert [i.title for i in fake.incidents] == ["seeded"]
    assert fake.incident(incident.id) == incident
    assert fake.incident_details(incident.id) == {"k": "v"}
    assert fake.notes(incident.id) == []
    with pytest.raises(KeyError):
        fake.incident("PNOPE")
    assert "incidents=1" in repr(fake)


async def test_waiting_for_an_incident_that_never_comes_times_out(fake: FakePagerDuty) -> None:
    with pytest.raises(TimeoutError, match=r"no new incident within 0\.05s"):
        await fake.next_incident(timeout=0.05)
    with pytest.raises(TimeoutError):
        fake.next_note_blocking(timeout=0.01)


async def test_a_waiter_is_woken_when_the_incident_arrives(
    fake: FakePagerDuty, client: AsyncPagerDutyClient, world: World
) -> None:
    waiter = asyncio.create_task(fake.next_incident(timeout=5))
    await asyncio.sleep(0)
    created = await client.create_incident(world.payments.id, "t", "d", "k")
    assert await waiter == created


def test_the_fake_clock_moves_only_when_told(clock: FakeClock) -> None:
    start = clock.now()
    assert clock.monotonic() == 0.0
    clock.advance(90)
    assert clock.now() - start == timedelta(seconds=90)
    clock.sleep_blocking(10)
    assert (clock.monotonic(), clock.sleeps) == (100.0, [10])
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1)


async def test_concurrent_sleepers_overlap_in_virtual_time() -> None:
    clock = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    await asyncio.gather(sleeper("b", 6), sleeper("a", 2), sleeper("c", 6))
    assert woke == [("a", 2.0), ("b", 6.0), ("c", 6.0)]
    assert clock.now() == datetime(2030, 1, 1, 0, 0, 6, tzinfo=UTC)


def test_a_fake_clock_needs_an_aware_start() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        FakeClock(datetime(2024, 1, 1))
