"""Exact lookups on top of PagerDuty's fuzzy `query`, and single-object reads."""

from __future__ import annotations

import pytest

from pagerduty_client import AsyncPagerDutyClient, NotFound
from pagerduty_client.testing import FakePagerDuty

from .conftest import World


async def test_a_user_is_found_by_email_case_insensitively(
    client: AsyncPagerDutyClient, world: World
) -> None:
    assert await client.find_user_by_email("ALICE@Example.COM") == world.alice


async def test_a_fuzzy_near_miss_is_never_taken_for_the_user(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    fake.add_user("Mallory", "malice@example.com")
    fake.add_user("Alice Clone", "alice@example.com.evil.io")
    assert await client.find_user_by_email("alice@example.com") is None
    # The fake did return both near misses to the query; the client refused them.
    assert fake.requests[-1].param("query") == "alice@example.com"


async def test_a_unicode_look_alike_email_is_not_the_user(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    # U+212A KELVIN SIGN lower-cases to "k" in Unicode, but it is not the letter K.
    fake.add_user("Kelvin Kate", "\u212ate@example.com")
    fake.add_user("Dotless", "kat\u0131e@example.com")
    assert await client.find_user_by_email("kate@example.com") is None
    assert await client.find_user_by_email("KATE@example.com") is None


async def test_the_exact_user_is_found_on_a_later_page(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    for n in range(230):
        fake.add_user(f"Near Miss {n:03d}", f"x{n}alice@example.com")
    zed = fake.add_user("Zed Alice", "alice@example.com")  # sorts after every near miss
    assert await client.find_user_by_email("alice@example.com") == zed
    offsets = [r.param("offset") for r in fake.requests_to("GET", "/users")]
    assert offsets == ["0", "100", "200"]


async def test_the_user_search_stops_reading_pages_once_it_has_a_match(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    fake.add_user("Aaron", "alice@example.com")
    for n in range(150):
        fake.add_user(f"Near Miss {n:03d}", f"x{n}alice@example.com")
    assert await client.find_user_by_email("alice@example.com") is not None
    assert len(fake.requests_to("GET", "/users")) == 1


async def test_a_service_is_found_by_exact_name_case_insensitively(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.add_service("Payments Staging", world.ops)
    found = await client.find_service_by_name("payments")
    assert found is not None
    assert found.id == world.payments.id


async def test_a_service_near_miss_is_not_a_match(
    client: AsyncPagerDutyClient, fake: FakePagerDuty, world: World
) -> None:
    fake.add_service("Payments Staging", world.ops)
    assert await client.find_service_by_name("Payments Stag") is None


async def test_a_service_is_read_with_its_escalation_policy(
    client: AsyncPagerDutyClient, world: World
) -> None:
    service = await client.get_service(world.payments.id)
    assert (service.name, service.escalation_policy.id) == ("Payments", world.ops.id)
    assert service.escalation_policy.type == "escalation_policy_reference"


async def test_an_escalation_policy_is_read_with_its_rules_and_targets(
    client: AsyncPagerDutyClient, world: World
) -> None:
    policy = await client.get_escalation_policy(world.ops.id)
    assert [[(t.type, t.id) for t in rule.targets] for rule in policy.escalation_rules] == [
        [("user_reference", world.alice.id)],
        [("schedule_reference", world.schedule.id)],
    ]
    assert {s.id for s in policy.services} == {world.payments.id, world.billing.id}


async def test_a_user_is_read_by_id(client: AsyncPagerDutyClient, world: World) -> None:
    assert await client.get_user(world.bob.id) == world.bob


async def test_reading_a_missing_object_raises_not_found_with_pagerdutys_code(
    client: AsyncPagerDutyClient,
) -> None:
    with pytest.raises(NotFound) as caught:
        await client.get_service("PNOPE00")
    assert (caught.value.status, caught.value.code, caught.value.attempts) == (404, 2100, 1)


async def test_abilities_list_the_accounts_abilities(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    fake.set_abilities(["teams", "urgencies"])
    assert await client.abilities() == ["teams", "urgencies"]
    assert await client.has_ability("teams") is True
    assert await client.has_ability("sso") is False


@pytest.mark.parametrize("blank", ["", "   "])
async def test_a_blank_lookup_is_refused(client: AsyncPagerDutyClient, blank: str) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        await client.find_user_by_email(blank)
    with pytest.raises(ValueError, match="non-empty"):
        await client.find_service_by_name(blank)
