"""On-call listings across pages, and the typed answer of `check_on_call`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from pagerduty_client import AsyncPagerDutyClient, NotOnCallReason, OnCallMatch
from pagerduty_client.testing import FakeClock, FakePagerDuty

from .conftest import World


async def test_on_call_entries_are_collected_across_several_pages(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    now = clock.now()
    for n in range(249):  # + Alice's permanent tier-1 entry = 250
        schedule = fake.add_schedule(f"Rotation {n}")
        fake.add_on_call(
            world.alice,
            world.ops,
            level=2,
            schedule=schedule,
            start=now - timedelta(minutes=n + 1),
            end=now + timedelta(hours=1),
        )
    entries = await client.on_call(world.alice.id, [world.ops.id])
    assert len(entries) == 250
    assert len({(e.schedule.id if e.schedule else None) for e in entries}) == 250
    requests = fake.requests_to("GET", "/oncalls")
    assert [r.param("offset") for r in requests] == ["0", "100", "200"]
    assert requests[0].params("user_ids[]") == [world.alice.id]
    assert requests[0].params("escalation_policy_ids[]") == [world.ops.id]


async def test_on_call_entries_carry_level_schedule_and_shift(
    client: AsyncPagerDutyClient, world: World, clock: FakeClock
) -> None:
    [entry] = await client.on_call(world.bob.id, [world.ops.id])
    assert (entry.escalation_level, entry.schedule and entry.schedule.id) == (2, world.schedule.id)
    assert entry.start == clock.now() - timedelta(hours=1)
    assert entry.end == clock.now() + timedelta(hours=7)


async def test_since_and_until_select_the_shifts_overlapping_the_window(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    later = clock.now() + timedelta(days=2)
    fake.add_on_call(
        world.bob,
        world.ops,
        level=2,
        schedule=world.schedule,
        start=later,
        end=later + timedelta(hours=8),
    )
    entries = await client.on_call(
        world.bob.id, [world.ops.id], since=later, until=later + timedelta(hours=1)
    )
    assert [e.start for e in entries] == [later]
    request = fake.requests_to("GET", "/oncalls")[-1]
    assert datetime.fromisoformat(request.param("since") or "") == later


async def test_on_call_refuses_naive_datetimes(client: AsyncPagerDutyClient, world: World) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await client.on_call(world.bob.id, [world.ops.id], since=datetime(2024, 1, 1))


async def test_a_user_on_call_is_approved_with_the_matching_service_policy_and_level(
    client: AsyncPagerDutyClient, world: World
) -> None:
    check = await client.check_on_call("alice@example.com", ["payments"])
    assert check.on_call
    assert check.reason is None
    assert check.user == world.alice
    assert [m.service.id for m in check.matches] == [world.payments.id]
    [match] = check.matches
    assert (match.escalation_policy.id, match.escalation_level, match.schedule) == (
        world.ops.id, 1, None,
    )  # fmt: skip
    assert (match.start, match.end) == (None, None)  # permanent: a direct rule target


async def test_a_schedule_shift_is_reported_with_its_schedule_and_times(
    client: AsyncPagerDutyClient, world: World
) -> None:
    check = await client.check_on_call("bob@example.com", ["Payments", "Billing"])
    assert [m.service.name for m in check.matches] == ["Payments", "Billing"]
    assert isinstance(check.matches[0], OnCallMatch)
    assert check.matches[0].schedule is not None
    assert check.matches[0].schedule.id == world.schedule.id
    assert check.matched_services == (check.services[0], check.services[1])


async def test_an_unknown_email_is_user_not_found_and_no_service_is_looked_up(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    check = await client.check_on_call("nobody@example.com", ["Payments"])
    assert (check.on_call, check.reason, check.user) == (
        False, NotOnCallReason.USER_NOT_FOUND, None,
    )  # fmt: skip
    assert fake.requests_to("GET", "/services") == []


async def test_no_known_service_is_services_not_found_naming_the_missing(
    client: AsyncPagerDutyClient, world: World
) -> None:
    check = await client.check_on_call("alice@example.com", ["Nope", "Neither"])
    assert (check.on_call, check.reason) == (False, NotOnCallReason.SERVICES_NOT_FOUND)
    assert check.missing_services == ("Nope", "Neither")


async def test_a_missing_service_does_not_hide_an_on_call_match_on_another(
    client: AsyncPagerDutyClient, world: World
) -> None:
    check = await client.check_on_call("alice@example.com", ["Nope", "Billing"])
    assert check.on_call
    assert check.missing_services == ("Nope",)


async def test_a_user_off_call_is_not_on_call(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.add_user("Carol", "carol@example.com")
    check = await client.check_on_call("carol@example.com", ["Payments"])
    assert (check.on_call, check.reason, check.matches) == (
        False, NotOnCallReason.NOT_ON_CALL, (),
    )  # fmt: skip


async def test_a_finished_shift_does_not_count(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World, clock: FakeClock
) -> None:
    carol = fake.add_user("Carol", "carol@example.com")
    fake.add_on_call(
        carol,
        world.ops,
        level=2,
        schedule=world.schedule,
        start=clock.now() - timedelta(hours=9),
        end=clock.now() - timedelta(hours=1),
    )
    check = await client.check_on_call("carol@example.com", ["Payments"])
    assert check.reason is NotOnCallReason.NOT_ON_CALL


async def test_tiers_beyond_max_escalation_level_are_ignored(
    client: AsyncPagerDutyClient, world: World
) -> None:
    check = await client.check_on_call("bob@example.com", ["Payments"], max_escalation_level=1)
    assert (check.on_call, check.reason) == (False, NotOnCallReason.NOT_ON_CALL)


async def test_service_names_are_looked_up_once_each_case_insensitively(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    await client.check_on_call("alice@example.com", ["Payments", "payments", " PAYMENTS "])
    assert len(fake.requests_to("GET", "/services")) == 1


async def test_services_sharing_a_policy_query_it_once(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    await client.check_on_call("alice@example.com", ["Payments", "Billing"])
    [request] = fake.requests_to("GET", "/oncalls")
    assert request.params("escalation_policy_ids[]") == [world.ops.id]


async def test_a_bare_string_of_service_names_is_refused(client: AsyncPagerDutyClient) -> None:
    with pytest.raises(TypeError, match="sequence of strings"):
        await client.check_on_call("alice@example.com", "Payments")


def test_a_check_answer_must_be_consistent() -> None:
    from pagerduty_client import OnCallCheck

    with pytest.raises(ValueError, match="on_call"):
        OnCallCheck(email="a@x.io", on_call=True, user=None)
    assert (
        OnCallCheck(
            email="a@x.io", on_call=False, user=None, reason=NotOnCallReason.USER_NOT_FOUND
        ).matched_services
        == ()
    )
