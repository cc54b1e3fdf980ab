"""A raw httpx client on the fake, to test PagerDuty behaviour without our client in between."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pagerduty_client.testing import FakePagerDuty
from tests.pagerduty_client.conftest import API_KEY, BOT_EMAIL

HEADERS = {
    "Accept": "application/vnd.pagerduty+json;version=2",
    "Content-Type": "application/json",
    "Authorization": f"Token token={API_KEY}",
}
WRITE_HEADERS = {**HEADERS, "From": BOT_EMAIL}


@pytest.fixture
def raw(fake: FakePagerDuty) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url="https://api.pagerduty.com", headers=HEADERS, transport=fake.sync_transport()
    ) as client:
        yield client
