"""Shared fixtures: a strict fake PagerDuty on a manual clock, and clients wired to it in-process.

The fake is strict: a request that departs from PagerDuty's OpenAPI document is refused (400),
so our client's drift fails the test that caused it. Every test that uses `fake` also checks, at
teardown, that no request the client sent and no answer the fake gave departed from the
document (when the document is present).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import attrs
import pytest

from pagerduty_client import (
    AsyncPagerDutyClient,
    EscalationPolicy,
    PagerDutyClient,
    Reference,
    Service,
    User,
)
from pagerduty_client.testing import FakeClock, FakePagerDuty

BOT_EMAIL = "access-bot@example.com"
API_KEY = "u+sEcReT-KeY-1234567890"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty(api_key=API_KEY, strict=True, clock=clock.monotonic, now=clock.now)
    fake.add_user("Access Bot", BOT_EMAIL)
    yield fake
    fake.assert_no_violations()


@pytest.fixture
async def client(fake: FakePagerDuty, clock: FakeClock) -> AsyncIterator[AsyncPagerDutyClient]:
    async with fake.client(user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep) as pd:
        yield pd


@pytest.fixture
def sync_client(fake: FakePagerDuty, clock: FakeClock) -> Iterator[PagerDutyClient]:
    with fake.sync_client(
        user_email=BOT_EMAIL, clock=clock.monotonic, sleep=clock.sleep_blocking
    ) as pd:
        yield pd


@attrs.frozen
class World:
    """A small account: Alice on call directly at tier 1 of Ops, Bob on the tier-2 schedule."""

    alice: User
    bob: User
    schedule: Reference
    ops: EscalationPolicy
    payments: Service
    billing: Service


@pytest.fixture
def world(fake: FakePagerDuty, clock: FakeClock) -> World:
    alice = fake.add_user("Alice Example", "alice@example.com")
    bob = fake.add_user("Bob Example", "bob@example.com")
    schedule = fake.add_schedule("Secondary rotation")
    ops = fake.add_escalation_policy("Ops", rules=[[alice], [schedule]])
    now = clock.now()
    fake.add_on_call(
        bob,
        ops,
        level=2,
        schedule=schedule,
        start=now - timedelta(hours=1),
        end=now + timedelta(hours=7),
    )
    payments = fake.add_service("Payments", ops)
    billing = fake.add_service("Billing", ops)
    return World(
        alice=alice, bob=bob, schedule=schedule, ops=ops, payments=payments, billing=billing
    )
