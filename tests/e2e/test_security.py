"""What `tpd run` must never do: approve someone who is not exactly the on-call PagerDuty user,
or print a secret, even at debug level."""

from __future__ import annotations

import re
from pathlib import Path

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
) -> None:
    tpd = await start_tpd(args=("-d",), log_format="text", severity="info")
    await tpd.wait_for_text("DEBUG logging enabled")
    user = pagerduty.fake.add_user("Test User", REQUESTER_OSS)
    pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])
    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")
    await fake_auth.wait_for_state(request.id, RequestState.APPROVED, timeout=TIMEOUT)
    incident = await pagerduty.wait_for_incident(request.id)
    await pagerduty.wait_for_status(incident.id, "resolved")
    assert await tpd.stop() == 0

    output = tpd.output
    assert "PagerDuty GET /services" in output  # debug lines were written
    assert API_KEY not in output
    assert "Token token=" not in output or "Token token=[REDACTED]" in output
    assert "PRIVATE KEY" not in output
    identity = identity_path.read_text(encoding="utf-8")  # noqa: ASYNC240 - a small file
    key_body = re.search(r"PRIVATE KEY-----\n(.+?)\n", identity)
    assert key_body is not None
    assert key_body.group(1) not in output
