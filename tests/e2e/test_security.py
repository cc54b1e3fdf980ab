"""What `tpd run` must never do: approve someone who is not exactly the on-call PagerDuty user,
or print a secret, even at debug level."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx

from teleport_access import RequestState, User
from teleport_access.testing import FakeAuthServer
from tests.e2e.world import (
    API_KEY,
    PLUGIN_USER,
    REQUESTER_OSS,
    TIMEOUT,
    PagerDutyWorld,
    StartTpd,
    TpdProcess,
)


async def test_a_near_miss_email_on_call_is_not_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    # PagerDuty's `query` is a substring search: both come back for the requester's email.
    for email in ("m" + REQUESTER_OSS, REQUESTER_OSS + ".attacker.example"):
        impostor = pagerduty.fake.add_user("Impostor", email)
        pagerduty.fake.add_on_call(impostor, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await tpd.wait_for_log("Skipping the approval: email is not found", request_id=request.id)
    after = fake_auth.get_request(request.id)
    assert after.state is RequestState.PENDING
    assert after.reviews == ()


async def test_a_unicode_look_alike_email_on_call_is_not_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.add_user(User(name="kate@example.com", roles=("oss-requester",)))
    # KELVIN SIGN, which full Unicode lower-casing turns into "k".
    impostor = pagerduty.fake.add_user("Not Kate", "\u212aate@example.com")
    pagerduty.fake.add_on_call(impostor, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request("kate@example.com", ["editor"], reason="because of")

    # pagerduty_client's lookup folds ASCII case only, so the look-alike is no match at all (the
    # policy's own ASCII-only comparison would refuse it too).
    record = await tpd.wait_for_log("Skipping the approval", request_id=request.id)
    assert "email is not found" in record["msg"]
    after = fake_auth.get_request(request.id)
    assert after.state is RequestState.PENDING
    assert after.reviews == ()


async def test_a_requester_whose_name_is_not_an_email_is_paged_but_never_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    fake_auth.add_user(User(name="alice", roles=("oss-requester",)))
    user = pagerduty.fake.add_user("Alice", "alice@example.com")
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request("alice", ["editor"], reason="because of")

    record = await tpd.wait_for_log(
        "Skipping the approval: 'alice' does not look like a valid email", request_id=request.id
    )
    assert record["level"] == "WARNING"
    incident = await pagerduty.wait_for_incident(request.id)
    assert incident.title == "Access request from alice"
    assert fake_auth.get_request(request.id).reviews == ()


async def test_same_email_in_another_case_is_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS.upper())
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    approved = await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    assert [review.author for review in approved.reviews] == [PLUGIN_USER]


async def test_no_secret_reaches_the_output_at_debug_level(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    identity_path: Path,
    page_when_approved: bool,
) -> None:
    tpd = await start_tpd(args=("-d",), log_format="text", severity="info")
    await tpd.wait_for_text("DEBUG logging enabled")
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    if page_when_approved:
        incident = await pagerduty.wait_for_incident(request.id)
        await pagerduty.wait_for_status(incident.id, "resolved")
    assert await tpd.stop() == 0
    if not page_when_approved:
        assert pagerduty.incidents_for(request.id) == []
        assert fake_auth.plugin_data(request.id, "pagerduty") is None
        assert "Not paging: the request is approved" in tpd.output

    output = tpd.output
    assert "PagerDuty GET /services" in output  # debug lines were written
    assert API_KEY not in output
    assert "Token token=" not in output or "Token token=[REDACTED]" in output
    assert "PRIVATE KEY" not in output
    identity = identity_path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small file
    key_body = re.search(r"PRIVATE KEY-----\n(.+?)\n", identity)
    assert key_body is not None
    assert key_body.group(1) not in output


async def _not_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, request_id: str, why: str
) -> None:
    """The plugin decided against approving `request_id` for the reason `why`, and did not."""
    record = await tpd.wait_for_log("Skipping the approval", request_id=request_id)
    assert why in record["msg"], record["msg"]
    after = fake_auth.get_request(request_id)
    assert after is not None
    assert after.state is RequestState.PENDING
    assert [review.author for review in after.reviews] == []


async def test_on_call_above_max_escalation_level_is_not_approved(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tpd = await start_tpd(extra="[pagerduty.auto_approval]\nmax_escalation_level = 1\n")
    second_tier = pagerduty.fake.add_user("Second Tier", REQUESTER_OSS)
    pagerduty.fake.add_on_call(second_tier, pagerduty.policies["escalation_policy-1"], level=2)
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await _not_approved(tpd, fake_auth, request.id, "only at escalation level(s) 2")


async def test_a_role_outside_approve_roles_is_not_approved(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    tpd = await start_tpd(extra='[pagerduty.auto_approval]\napprove_roles = ["viewer*"]\n')
    user = pagerduty.fake.add_user("On Call", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await _not_approved(tpd, fake_auth, request.id, "not allowed by approve_roles")


async def test_on_call_only_for_a_service_outside_the_annotation_is_not_approved(
    tpd: TpdProcess, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    user = pagerduty.fake.add_user("On Call Elsewhere", REQUESTER_OSS)
    # "Service 3" exists in PagerDuty, but the role annotates only "Service 1" and "Service 2".
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-3"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    await _not_approved(tpd, fake_auth, request.id, "user is not on call")


async def test_a_request_resolved_before_the_plugin_saw_it_is_never_approved(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    user = pagerduty.fake.add_user("On Call", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    denied = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="while tpd was down")
    fake_auth.deny(denied.id, reason="no")

    tpd = await start_tpd()
    await tpd.wait_for_log("Caught up")
    # Also a request denied the moment it is created, while tpd watches.
    live = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="denied at once")
    fake_auth.deny(live.id, reason="no")
    # Its end: the incident resolved, or nothing to resolve (tpd saw only the denied state).
    async with asyncio.timeout(TIMEOUT):
        while not (  # noqa: ASYNC110 - output is polled, as in wait_for_log
            tpd.find_logs("Successfully resolved the incident", request_id=live.id)
            or tpd.find_logs("Skipping the resolution", request_id=live.id)
        ):
            await asyncio.sleep(0.05)

    for request_id in (denied.id, live.id):
        after = fake_auth.get_request(request_id)
        assert after is not None
        assert after.state is RequestState.DENIED
        assert [review.author for review in after.reviews] == []
    assert not tpd.find_logs("Successfully submitted a request approval")


async def test_no_secret_reaches_json_logs_or_metrics(
    start_tpd: StartTpd,
    fake_auth: FakeAuthServer,
    pagerduty: PagerDutyWorld,
    identity_path: Path,
) -> None:
    tpd = await start_tpd(extra='[metrics]\nlisten = "127.0.0.1:0"\n')
    serving = await tpd.wait_for_log("Serving metrics and health checks on")
    url = serving["msg"].rsplit(" ", 1)[1]
    # A failing PagerDuty call as well, whose error text is logged.
    pagerduty.fake.fail_next(status=401)
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    async with httpx.AsyncClient() as client:
        pages = [(await client.get(f"{url}{path}")).text for path in ("/metrics", "/readyz")]
    assert "tpd_" in pages[0]
    assert await tpd.stop() == 0

    identity = identity_path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small file
    key_body = re.search(r"PRIVATE KEY-----\n(.+?)\n", identity)
    assert key_body is not None
    for text in (tpd.output, *pages):
        assert API_KEY not in text
        assert "PRIVATE KEY" not in text
        assert key_body.group(1) not in text
