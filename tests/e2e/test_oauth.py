"""Scoped OAuth end to end: `tpd run` with an app's client ID and secret instead of an API key,
against the fake PagerDuty's token endpoint (tokens short-lived enough to be renewed several
times during the run), and the start-up errors of the OAuth mode."""

from __future__ import annotations

import asyncio
import re

from teleport_access import RequestState
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    API_KEY,
    PLUGIN_USER,
    REQUESTER_OSS,
    REVIEWER_1,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
    plugin_data_has,
    put_on_call,
)

CLIENT_ID = "tpd-e2e-app"
SECRET = "oauth-secret-9Fq2LwX7"


def oauth_keys(pagerduty: PagerDutyWorld, *, secret: str = SECRET, scopes: str = "") -> str:
    """The [pagerduty] lines of Scoped OAuth against the fake (its token endpoint is on the same
    loopback server, so plain http is allowed)."""
    subdomain = pagerduty.fake.account_scope.rsplit(".", 1)[1]
    lines = (
        f'oauth_client_id = "{CLIENT_ID}"\n'
        f'oauth_client_secret = "{secret}"\n'
        f'account_subdomain = "{subdomain}"\n'
        f'oauth_token_url = "{pagerduty.url}/oauth/token"\n'
    )
    return lines + (f"oauth_scopes = {scopes}\n" if scopes else "")


async def test_the_whole_flow_runs_on_short_lived_oauth_tokens(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.add_oauth_client(CLIENT_ID, SECRET)
    # Renewed at 80% of 1 s: each request below, a second after the previous one, needs a new
    # token (and a call that met an expired one would be answered 401).
    pagerduty.fake.token_lifetime = 1.0
    put_on_call(pagerduty, REQUESTER_OSS)
    tpd = await start_tpd(api_key="", pagerduty_extra=oauth_keys(pagerduty))
    issued = await tpd.wait_for_log("PagerDuty OAuth token issued for as_account-us.")
    assert "incidents.write" in issued["msg"]

    requests = []
    for index in range(4):
        request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason=f"oauth {index}")
        requests.append(request)
        await fake_auth.wait_for_plugin_data(
            request.id, "pagerduty", plugin_data_has("incident_id"), timeout=TIMEOUT
        )
        await asyncio.sleep(1.0)  # the token in hand is past 80% of its life by the next one
    for request in requests:
        await fake_auth.wait_for_review(request.id, PLUGIN_USER, timeout=TIMEOUT)
        incident = await pagerduty.wait_for_incident(request.id)
        await pagerduty.wait_for_status(incident.id, "resolved")
        assert len(pagerduty.incidents_for(request.id)) == 1

    token_requests = pagerduty.fake.requests_to("POST", "/oauth/token")
    assert len(token_requests) >= 3, "the tokens were renewed several times"
    refused = [r for r in pagerduty.fake.requests if r.status == 401]
    assert refused == [], "no call met an expired token"
    assert tpd.find_logs("Failed") == []
    # Neither the secret nor any token appears anywhere in tpd's debug output.
    tokens = {
        r.headers["authorization"].removeprefix("Bearer ")
        for r in pagerduty.fake.requests
        if r.headers.get("authorization", "").startswith("Bearer ")
    }
    assert len(tokens) >= 3
    output = tpd.output
    assert SECRET not in output
    for token in tokens:
        assert token not in output
    assert API_KEY not in output


async def test_review_notes_and_denials_also_work_with_oauth(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.add_oauth_client(CLIENT_ID, SECRET)
    await start_tpd(api_key="", pagerduty_extra=oauth_keys(pagerduty))
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"])
    incident = await pagerduty.wait_for_incident(request.id)
    fake_auth.submit_review(request.id, REVIEWER_1, RequestState.DENIED, reason="no")
    await pagerduty.wait_for_note(incident.id, f"{REVIEWER_1} reviewed the request")
    await pagerduty.wait_for_status(incident.id, "resolved")


async def test_a_missing_scope_stops_the_start_naming_the_scope(
    start_tpd: StartTpd, pagerduty: PagerDutyWorld
) -> None:
    scopes = ("abilities.read", "incidents.read", "incidents.write", "services.read", "users.read")
    pagerduty.fake.add_oauth_client(CLIENT_ID, SECRET, scopes=scopes)
    tpd = await start_tpd(api_key="", pagerduty_extra=oauth_keys(pagerduty), wait_ready=False)
    assert await tpd.wait_exit() == 1
    assert "lacks the scope(s) oncalls.read that tpd needs" in tpd.output
    assert "Plugin is ready" not in tpd.output
    assert pagerduty.fake.requests_to("GET", "/abilities") == [], "before anything else"


async def test_a_wrong_client_secret_stops_the_start_with_the_oauth_error(
    start_tpd: StartTpd, pagerduty: PagerDutyWorld
) -> None:
    pagerduty.fake.add_oauth_client(CLIENT_ID, SECRET)
    tpd = await start_tpd(
        api_key="", pagerduty_extra=oauth_keys(pagerduty, secret="wrong-secret"), wait_ready=False
    )
    assert await tpd.wait_exit() == 1
    assert "PagerDuty did not issue an OAuth token" in tpd.output
    assert "invalid_client" in tpd.output
    assert "wrong-secret" not in tpd.output


async def test_both_credentials_or_neither_is_a_start_up_error_naming_the_keys(
    start_tpd: StartTpd, pagerduty: PagerDutyWorld
) -> None:
    both = await start_tpd(pagerduty_extra=oauth_keys(pagerduty), wait_ready=False)
    assert await both.wait_exit() == 1
    assert re.search(r"set either `api_key` or the OAuth keys .* not both", both.output)
    neither = await start_tpd(api_key="", wait_ready=False)
    assert await neither.wait_exit() == 1
    assert "[pagerduty] api_key: missing required value" in neither.output
    assert "oauth_client_id" in neither.output
