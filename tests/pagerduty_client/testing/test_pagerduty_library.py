"""PagerDuty's own Python library (`pagerduty` on PyPI, the `test` extra) against the fake, over
HTTPS, as a user of the fake would drive it: with an API key and with a Scoped OAuth token.

The library refuses a base URL that is not https://, sends no Content-Type on GETs and pages the
notes listing with limit/offset: what PagerDuty accepts, the (default, lenient) fake accepts.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import pytest

from pagerduty_client.testing import FakePagerDuty
from tests.pagerduty_client.conftest import API_KEY, BOT_EMAIL, World

pagerduty = pytest.importorskip("pagerduty")

# The library warns that the notes listing has no `more` (it is not paginated, in PagerDuty as
# in the fake), yet pages it with limit/offset all the same, as a user's code would.
pytestmark = pytest.mark.filterwarnings("ignore:Response from endpoint GET /incidents/")

CLIENT_ID = "library-app"
SECRET = "library-app-secret"
SCOPES = ["users.read", "services.read", "oncalls.read", "incidents.read", "incidents.write"]


@pytest.fixture
def fake(fake: FakePagerDuty) -> Iterator[FakePagerDuty]:
    fake.strict = False  # as a user of the fake would have it
    fake.add_oauth_client(CLIENT_ID, SECRET, scopes=SCOPES)
    with fake.serve_in_thread(tls=True):
        yield fake


@pytest.fixture
def tls(fake: FakePagerDuty) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(fake.ca_file))


def drive(client: Any, world: World) -> None:
    """What an access-request bot does, written as the library's documentation shows."""
    services = list(client.iter_all("services"))
    assert {s["name"] for s in services} == {"Payments", "Billing"}
    user = client.find("users", "alice@example.com", attribute="email")
    assert user["id"] == world.alice.id
    oncalls = client.list_all("oncalls", params={"user_ids[]": [user["id"]]})
    assert [o["escalation_level"] for o in oncalls] == [1]  # a direct target of Ops's tier 1
    incident = client.rpost(
        "incidents",
        json={
            "incident": {
                "type": "incident",
                "title": "Access request from alice",
                "service": {"id": world.payments.id, "type": "service_reference"},
                "incident_key": "library-1",
            }
        },
    )
    client.rpost(f"incidents/{incident['id']}/notes", json={"note": {"content": "approved"}})
    notes = list(client.iter_all(f"incidents/{incident['id']}/notes"))
    assert [n["content"] for n in notes] == ["approved"]
    resolved = client.rput(
        f"incidents/{incident['id']}",
        json={"incident": {"type": "incident_reference", "status": "resolved"}},
    )
    assert resolved["status"] == "resolved"


def assert_answered_without_4xx(fake: FakePagerDuty) -> None:
    refused = [(r.method, r.path, r.status) for r in fake.requests if (r.status or 0) >= 400]
    assert refused == []
    fake.assert_no_violations()


def test_the_library_works_against_the_fake_with_an_api_key(
    fake: FakePagerDuty, world: World, tls: ssl.SSLContext
) -> None:
    assert fake.url is not None
    with pagerduty.RestApiV2Client(
        API_KEY, default_from=BOT_EMAIL, base_url=fake.url, verify=tls
    ) as client:
        drive(client, world)
    assert_answered_without_4xx(fake)
    assert {r.headers["authorization"] for r in fake.requests} == {f"Token token={API_KEY}"}


def test_the_library_works_against_the_fake_with_an_oauth_token(
    fake: FakePagerDuty, world: World, tls: ssl.SSLContext
) -> None:
    assert fake.url is not None
    with pagerduty.OAuthTokenClient(SECRET, CLIENT_ID, base_url=fake.url, verify=tls) as oauth:
        grant = oauth.get_scoped_app_token(" ".join([fake.account_scope, *SCOPES]))
    assert set(grant["scope"].split()) == {fake.account_scope, *SCOPES}
    with pagerduty.RestApiV2Client(
        grant["access_token"], auth_type="bearer", default_from=BOT_EMAIL, base_url=fake.url,
        verify=tls,
    ) as client:  # fmt: skip
        drive(client, world)
    assert_answered_without_4xx(fake)
    assert fake.requests[0].operation == "/oauth/token"
