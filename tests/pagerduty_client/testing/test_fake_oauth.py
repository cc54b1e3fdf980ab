"""The fake's Scoped OAuth: the token endpoint (RFC 6749), token expiry, scope enforcement."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from pagerduty_client.testing import FakeClock, FakePagerDuty
from tests.pagerduty_client.testing.conftest import HEADERS

ACCOUNT = "as_account-eu.acme"


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[FakePagerDuty]:
    fake = FakePagerDuty(strict=True, clock=clock.monotonic, now=clock.now, subdomain="acme",
                         region="eu", token_lifetime=600)  # fmt: skip
    fake.add_oauth_client("app", "secret", scopes=["users.read", "incidents.read"])
    fake.add_oauth_client("any", "secret")
    yield fake
    fake.assert_no_violations()


@pytest.fixture
def http(fake: FakePagerDuty) -> Iterator[httpx.Client]:
    with httpx.Client(base_url="https://api.pagerduty.com", transport=fake.sync_transport()) as c:
        yield c


def ask(http: httpx.Client, **form: str) -> httpx.Response:
    fields = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "secret"}
    fields.update(form)
    return http.post("/oauth/token", data={k: v for k, v in fields.items() if v != "-"})


def bearer(token: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


def test_a_token_grants_the_requested_scopes_the_app_has(http: httpx.Client) -> None:
    response = ask(http, scope=f"{ACCOUNT} users.read incidents.write")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 600
    assert body["scope"] == f"{ACCOUNT} users.read"  # incidents.write is not the app's


def test_an_app_registered_without_scopes_gets_every_scope_it_asks_for(
    http: httpx.Client,
) -> None:
    response = ask(http, client_id="any", scope=f"{ACCOUNT} incidents.write schedules.read")
    assert response.json()["scope"] == f"{ACCOUNT} incidents.write schedules.read"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"client_secret": "wrong", "scope": ACCOUNT}, 401, "invalid_client"),
        ({"client_id": "nobody", "scope": ACCOUNT}, 401, "invalid_client"),
        ({"client_secret": "-", "scope": ACCOUNT}, 401, "invalid_client"),
        ({"grant_type": "password", "scope": ACCOUNT}, 400, "unsupported_grant_type"),
        ({"grant_type": "-", "scope": ACCOUNT}, 400, "invalid_request"),
        ({"scope": "users.read"}, 400, "invalid_scope"),
        ({"scope": "as_account-us.acme users.read"}, 400, "invalid_scope"),
        ({"scope": f"{ACCOUNT} users.rread"}, 400, "invalid_scope"),
    ],
)
def test_refusals_follow_rfc_6749(
    http: httpx.Client, form: dict[str, str], status: int, error: str
) -> None:
    response = ask(http, **form)
    assert response.status_code == status
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_a_body_that_is_not_form_encoded_is_an_invalid_request(http: httpx.Client) -> None:
    response = http.post("/oauth/token", json={"grant_type": "client_credentials"})
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_the_recorded_token_request_hides_the_secret(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    ask(http, scope=ACCOUNT)
    (recorded,) = fake.requests_to("POST", "/oauth/token")
    assert recorded.body["client_secret"] == "<redacted>"
    assert "secret" not in repr(recorded).replace("client_secret", "")


def test_a_token_is_accepted_for_its_scopes_and_refused_403_for_others(
    http: httpx.Client,
) -> None:
    token = ask(http, scope=f"{ACCOUNT} users.read").json()["access_token"]
    assert http.get("/users", headers=bearer(token)).status_code == 200
    refused = http.get("/incidents", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json() == {
        "error": {
            "message": "Access Denied",
            "code": 2010,
            "errors": ["The access token does not grant the scope incidents.read, which this "
                       "requires"],
        }
    }  # fmt: skip


def test_an_expired_or_unknown_token_gets_401(
    http: httpx.Client, fake: FakePagerDuty, clock: FakeClock
) -> None:
    token = ask(http, scope=f"{ACCOUNT} users.read").json()["access_token"]
    clock.advance(599)
    assert http.get("/users", headers=bearer(token)).status_code == 200
    clock.advance(1)
    assert http.get("/users", headers=bearer(token)).status_code == 401
    assert fake.token_scopes(token) is None
    assert http.get("/users", headers=bearer("made-up")).status_code == 401


def test_the_token_lifetime_can_be_changed_for_later_tokens(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.token_lifetime = 2.5
    assert ask(http, scope=ACCOUNT).json()["expires_in"] == 2.5
    with pytest.raises(ValueError, match="token_lifetime must be a positive number"):
        fake.token_lifetime = 0


def test_tokens_given_to_the_constructor_have_every_scope_and_never_expire(
    clock: FakeClock,
) -> None:
    fake = FakePagerDuty(oauth_tokens=["static"], clock=clock.monotonic, now=clock.now)
    with httpx.Client(base_url="https://api.pagerduty.com", transport=fake.sync_transport()) as c:
        clock.advance(10**9)
        assert c.post("/incidents", headers=bearer("static"), json={}).status_code == 400
        assert c.get("/oncalls", headers=bearer("static")).status_code == 200


def test_faults_apply_to_the_token_endpoint_but_its_rate_limit_does_not(
    http: httpx.Client, fake: FakePagerDuty
) -> None:
    fake.faults.rate_limit = 1
    fake.fail_next(status=503)
    assert ask(http, scope=ACCOUNT).status_code == 503
    assert ask(http, scope=ACCOUNT).status_code == 200
    assert ask(http, scope=ACCOUNT).status_code == 200


def test_an_app_needs_known_scopes(fake: FakePagerDuty) -> None:
    with pytest.raises(ValueError, match=r"unknown PagerDuty OAuth scopes: users\.rread"):
        fake.add_oauth_client("typo", "secret", scopes=["users.rread"])
    assert fake.account_scope == ACCOUNT
