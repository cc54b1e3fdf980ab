"""The generic async iterator over classic (offset) listings, and the 10,000 cap."""

from __future__ import annotations

import pytest

from pagerduty_client import AsyncPagerDutyClient, PaginationLimitError
from pagerduty_client.testing import FakePagerDuty


async def test_iterate_yields_every_item_across_pages(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    for n in range(249):
        fake.add_user(f"User {n:03d}", f"user{n}@example.com")
    emails = [user["email"] async for user in client.iterate("/users")]
    assert len(emails) == 250  # + the bot
    assert len(set(emails)) == 250
    assert [r.param("offset") for r in fake.requests] == ["0", "100", "200"]


async def test_iterate_passes_filters_with_bracketed_list_names(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    policy = fake.add_escalation_policy("Ops")
    fake.add_service("Payments", policy)
    fake.add_service("Billing", policy)
    names = [s["name"] async for s in client.iterate("/services", {"query": "pay"})]
    assert names == ["Payments"]
    incidents = [
        i
        async for i in client.iterate(
            "/incidents", {"statuses": ["triggered"], "date_range": "all"}
        )
    ]
    assert incidents == []
    assert fake.requests[-1].params("statuses[]") == ["triggered"]


async def test_iterate_is_lazy(client: AsyncPagerDutyClient, fake: FakePagerDuty) -> None:
    for n in range(150):
        fake.add_user(f"User {n:03d}", f"user{n}@example.com")
    async for _ in client.iterate("/users"):
        break
    assert len(fake.requests) == 1


async def test_a_listing_beyond_10000_results_raises_instead_of_truncating(
    client: AsyncPagerDutyClient, fake: FakePagerDuty
) -> None:
    for n in range(10_050):
        fake.add_user(f"User {n:05d}", f"user{n}@example.com")
    items: list[object] = []

    async def read_all() -> None:
        async for user in client.iterate("/users", {"offset": 9_900}):
            items.append(user)

    with pytest.raises(PaginationLimitError, match="narrow the query"):
        await read_all()
    assert len(items) == 100
    assert [(r.param("offset"), r.param("limit")) for r in fake.requests] == [("9900", "100")]
