"""The processor carries out the policy's steps against the fake Auth Service (mutual TLS) and the
fake PagerDuty (in-process transport, virtual time for the client's retries)."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import attrs
import httpx
import pytest

from pagerduty_client import AsyncPagerDutyClient, EscalationPolicy
from pagerduty_client.testing import FakeClock, FakePagerDuty
from teleport_access import (
    AccessRequestDelete,
    AccessRequestPut,
    AccessReview,
    AuthClient,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer
from teleport_pd_cli.config import AutoApprovalSettings
from teleport_pd_cli.daemon._lookups import Lookups
from teleport_pd_cli.daemon._processor import Processor
from teleport_pd_cli.daemon.events import ApprovalOutcome, DaemonEvent, Observer
from teleport_pd_cli.policy import PolicySettings, incident_key, resolution_note, review_note
from teleport_pd_cli.policy.plugindata import (
    PLUGIN_NAME,
    PagerDutyData,
    ResolutionTag,
    decode,
    encode,
)
from tests.e2e.world import (
    BOT_EMAIL,
    NOTIFY_SERVICE,
    PLUGIN_USER,
    REQUESTER_1,
    REQUESTER_OSS,
    REVIEWER_1,
    REVIEWER_2,
    seed_pagerduty,
    seed_teleport,
)

REPAIR_AFTER = 35.0


class Refusing(httpx.AsyncBaseTransport):
    """The fake's transport, except that chosen requests get a 403 (which the client does not
    retry): `refuse("POST", r"/notes$", skip=1)` refuses every note POST after the first one."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self._inner = inner
        self._rule: tuple[str, re.Pattern[str], int] | None = None

    def refuse(self, method: str, path: str, *, skip: int = 0) -> None:
        self._rule = (method, re.compile(path), skip)

    def allow(self) -> None:
        self._rule = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        rule = self._rule
        if rule is not None and request.method == rule[0] and rule[1].search(request.url.path):
            if rule[2] > 0:
                self._rule = (rule[0], rule[1], rule[2] - 1)
            else:
                return httpx.Response(
                    403, json={"error": {"message": "Access Denied", "code": 2010}}
                )
        return await self._inner.handle_async_request(request)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@attrs.define
class World:
    auth: FakeAuthServer
    pd: FakePagerDuty
    client: AuthClient
    pagerduty: AsyncPagerDutyClient
    processor: Processor
    clock: Clock
    events: list[DaemonEvent]
    transport: Refusing
    policies: dict[str, EscalationPolicy]

    def put(self, request_id: str) -> AccessRequestPut:
        request = self.auth.get_request(request_id)
        assert request is not None
        return AccessRequestPut(request=request)

    def data(self, request_id: str) -> PagerDutyData | None:
        return decode(self.auth.plugin_data(request_id, PLUGIN_NAME))

    def set_data(self, request_id: str, data: PagerDutyData) -> None:
        self.auth.set_plugin_data(request_id, PLUGIN_NAME, encode(data))

    def posts(self, operation: str) -> int:
        return len(self.pd.requests_to("POST", operation))


@pytest.fixture
async def world() -> AsyncIterator[World]:
    pd = FakePagerDuty(strict=True)
    _, policies = seed_pagerduty(pd)
    fake_clock = FakeClock()
    clock = Clock()
    transport = Refusing(pd.async_transport())
    events: list[DaemonEvent] = []
    observer = Observer()
    observer.subscribe(events.append)
    async with FakeAuthServer() as auth:
        seed_teleport(auth)
        identity = auth.issue_identity(PLUGIN_USER, roles=["access-plugin", "auto-approval-plugin"])
        async with (
            AuthClient(auth.address, identity, call_timeout=5.0) as client,
            pd.client(
                user_email=BOT_EMAIL,
                clock=fake_clock.monotonic,
                sleep=fake_clock.sleep,
                transport=transport,
            ) as pagerduty,
        ):
            processor = Processor(
                auth=client,
                pagerduty=pagerduty,
                lookups=Lookups(pagerduty, client, ttl=300, clock=clock),
                settings=PolicySettings(),
                plugin_user=PLUGIN_USER,
                plugin_roles=identity.roles,
                observer=observer,
                cas_timeout=5.0,
                repair_after=REPAIR_AFTER,
                clock=clock,
            )
            yield World(auth, pd, client, pagerduty, processor, clock, events, transport, policies)


async def test_a_pending_request_gets_one_incident_recorded_in_go_format(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"], reason="because of")

    outcome = await world.processor.handle(world.put(request.id))

    assert outcome.ok
    (incident,) = world.pd.incidents
    assert incident.incident_key == incident_key(request.id)
    data = world.data(request.id)
    assert data is not None
    assert data.incident_id == incident.id
    assert data.service_id == next(s.id for s in world.pd.services if s.name == NOTIFY_SERVICE)
    assert (data.user, data.roles, data.request_reason) == (
        REQUESTER_OSS,
        ("editor",),
        "because of",
    )
    # A record this run created cannot have an incident yet: no lookup before the POST.
    assert world.pd.requests_to("GET", "/incidents") == []


async def test_handling_the_same_event_again_changes_nothing(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    await world.processor.handle(world.put(request.id))
    before = world.auth.plugin_data(request.id, PLUGIN_NAME)

    assert (await world.processor.handle(world.put(request.id))).ok

    assert len(world.pd.incidents) == 1
    assert world.auth.plugin_data(request.id, PLUGIN_NAME) == before
    assert world.posts("/incidents") == 1


async def test_a_failed_creation_is_retried_and_creates_exactly_one_incident(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    world.transport.refuse("POST", r"^/incidents$")

    failed = await world.processor.handle(world.put(request.id))
    world.transport.allow()

    assert not failed.ok
    assert "to create the PagerDuty incident" in failed.errors[0]
    assert "Failed to create the PagerDuty incident" in caplog.text
    claimed = world.data(request.id)
    assert claimed is not None
    assert not claimed.incident_id  # claimed, never paged
    assert (await world.processor.handle(world.put(request.id))).ok
    (incident,) = world.pd.incidents
    assert world.data(request.id) == attrs.evolve(
        claimed, incident_id=incident.id, service_id=incident.service.id
    )


async def test_an_incident_paged_by_a_run_that_died_is_found_by_key_not_created_again(
    world: World,
) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    service = next(s for s in world.pd.services if s.name == NOTIFY_SERVICE)
    existing = world.pd.add_incident(service, "earlier", incident_key=incident_key(request.id))
    world.set_data(request.id, PagerDutyData(user=REQUESTER_OSS, roles=("editor",)))

    assert (await world.processor.handle(world.put(request.id))).ok

    assert world.posts("/incidents") == 0
    data = world.data(request.id)
    assert data is not None
    assert data.incident_id == existing.id
    assert any(getattr(e, "adopted", False) for e in world.events)


async def test_a_missing_service_is_a_warning_not_a_failure(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    request = world.auth.create_request(
        "someone@example.com",
        ["editor"],
        system_annotations={"pagerduty_notify_service": ["No Such Service"]},
    )

    with caplog.at_level(logging.WARNING):
        outcome = await world.processor.handle(world.put(request.id))

    assert outcome.ok
    assert "PagerDuty has no service named 'No Such Service'" in caplog.text
    assert world.pd.incidents == []
    assert world.data(request.id) is None


async def test_unposted_review_notes_are_handed_back_and_posted_once_later(world: World) -> None:
    request = world.auth.create_request(REQUESTER_1, ["editor"])
    await world.processor.handle(world.put(request.id))
    (incident,) = world.pd.incidents
    world.auth.submit_review(request.id, REVIEWER_1, RequestState.APPROVED, reason="one")
    world.auth.submit_review(request.id, REVIEWER_2, RequestState.DENIED, reason="two")
    world.transport.refuse("POST", r"/notes$", skip=1)

    failed = await world.processor.handle(world.put(request.id))
    world.transport.allow()

    assert not failed.ok
    assert "to post the review notes" in failed.errors[0]
    notes = [note.content for note in world.pd.notes(incident.id)]
    assert len(notes) == 1
    assert f"{REVIEWER_1} reviewed the request" in notes[0]
    data = world.data(request.id)
    assert data is not None
    assert data.reviews_count == 1  # the second note was handed back

    assert (await world.processor.handle(world.put(request.id))).ok
    notes = [note.content for note in world.pd.notes(incident.id)]
    assert len(notes) == 2
    assert f"{REVIEWER_2} reviewed the request" in notes[1]
    data = world.data(request.id)
    assert data is not None
    assert data.reviews_count == 2


async def _paged_and_reviewed(world: World) -> tuple[str, str, AccessReview]:
    """A request with its incident and a review whose note is not posted yet."""
    request = world.auth.create_request(REQUESTER_1, ["editor"])
    await world.processor.handle(world.put(request.id))
    (incident,) = world.pd.incidents
    reviewed = world.auth.submit_review(request.id, REVIEWER_1, RequestState.APPROVED, reason="a")
    return request.id, incident.id, reviewed.reviews[0]


async def _note_claimed_by_a_dead_run_then_approved(world: World) -> tuple[str, str, AccessReview]:
    """`_paged_and_reviewed`, the note claimed (reviews_count 1) by a run that died before
    posting it, and the request approved."""
    request_id, incident_id, review = await _paged_and_reviewed(world)
    data = world.data(request_id)
    assert data is not None
    world.set_data(request_id, attrs.evolve(data, reviews_count=1))
    world.auth.approve(request_id, reason="okay")
    return request_id, incident_id, review


async def test_a_note_posted_despite_a_failed_answer_is_neither_handed_back_nor_repeated(
    world: World,
) -> None:
    request_id, incident_id, _ = await _paged_and_reviewed(world)
    # PagerDuty adds the note, then the answer is a 500: the client cannot know it landed.
    world.pd.fail_next(status=500, after_processing=True)

    assert (await world.processor.handle(world.put(request_id))).ok
    assert (await world.processor.handle(world.put(request_id))).ok

    assert len(world.pd.notes(incident_id)) == 1
    data = world.data(request_id)
    assert data is not None
    assert data.reviews_count == 1


async def test_a_note_that_may_have_landed_stays_claimed_while_pagerduty_keeps_failing(
    world: World,
) -> None:
    request_id, incident_id, _ = await _paged_and_reviewed(world)
    # The note lands, and then every answer (the client's retries and look-ups, and the
    # processor's own look at the notes) is a 500 until the client gives up.
    world.pd.fail_next(times=50, status=500, after_processing=True)

    failed = await world.processor.handle(world.put(request_id))
    world.pd.reset_faults()

    assert not failed.ok
    data = world.data(request_id)
    assert data is not None
    assert data.reviews_count == 1  # not handed back: that could post it twice
    assert len(world.pd.notes(incident_id)) == 1
    assert failed.recheck_after == REPAIR_AFTER
    world.clock.now += REPAIR_AFTER
    assert (await world.processor.handle(world.put(request_id))).ok
    assert len(world.pd.notes(incident_id)) == 1


async def test_a_note_claimed_by_a_run_that_died_is_posted_by_the_resolver_after_the_delay(
    world: World,
) -> None:
    request_id, incident_id, review = await _note_claimed_by_a_dead_run_then_approved(world)

    first = await world.processor.handle(world.put(request_id))
    assert first.ok
    assert first.recheck_after == REPAIR_AFTER
    assert world.pd.incident(incident_id).status == "resolved"
    assert [n.content for n in world.pd.notes(incident_id)] == [
        resolution_note(ResolutionTag.APPROVED, "okay")
    ]

    world.clock.now += REPAIR_AFTER
    assert (await world.processor.handle(world.put(request_id))).ok
    assert (await world.processor.handle(world.put(request_id))).ok

    notes = [n.content for n in world.pd.notes(incident_id)]
    assert notes[1:] == [review_note(review)]


async def test_a_claimed_note_its_poster_delivers_late_is_not_posted_again(world: World) -> None:
    request_id, incident_id, review = await _note_claimed_by_a_dead_run_then_approved(world)
    await world.processor.handle(world.put(request_id))

    # The slow claimer gets there within the delay.
    await world.pagerduty.add_note(incident_id, review_note(review))
    world.clock.now += REPAIR_AFTER
    assert (await world.processor.handle(world.put(request_id))).ok

    assert len(world.pd.notes(incident_id)) == 2


async def test_a_review_note_written_with_another_time_zone_counts_as_posted(
    world: World,
) -> None:
    request_id, incident_id, review = await _note_claimed_by_a_dead_run_then_approved(world)
    # The Go plugin, running in another zone, posted it with the same moment written otherwise.
    ours = review_note(review)
    assert " UTC.\n" in ours
    await world.pagerduty.add_note(incident_id, ours.replace(" UTC.\n", " CET.\n"))

    await world.processor.handle(world.put(request_id))
    world.clock.now += REPAIR_AFTER
    assert (await world.processor.handle(world.put(request_id))).ok

    assert len(world.pd.notes(incident_id)) == 2  # that note and the resolution note


async def test_a_failed_resolve_releases_the_claim_and_the_retry_posts_no_second_note(
    world: World,
) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    await world.processor.handle(world.put(request.id))
    (incident,) = world.pd.incidents
    world.auth.approve(request.id, reason="okay")
    world.transport.refuse("PUT", r"^/incidents/")

    failed = await world.processor.handle(world.put(request.id))
    world.transport.allow()

    assert not failed.ok
    data = world.data(request.id)
    assert data is not None
    assert data.resolution is ResolutionTag.UNRESOLVED  # released, so it is retried
    assert [n.content for n in world.pd.notes(incident.id)] == [
        "Access request has been approved\nReason: okay"
    ]

    assert (await world.processor.handle(world.put(request.id))).ok
    assert world.pd.incident(incident.id).status == "resolved"
    assert len(world.pd.notes(incident.id)) == 1
    data = world.data(request.id)
    assert data is not None
    assert (data.resolution, data.resolve_reason) == (ResolutionTag.APPROVED, "okay")


async def _interrupted_resolution(world: World) -> tuple[str, str]:
    """A request approved, its resolution claimed, and the plugin gone before resolving."""
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    await world.processor.handle(world.put(request.id))
    (incident,) = world.pd.incidents
    world.auth.approve(request.id, reason="okay")
    data = world.data(request.id)
    assert data is not None
    world.set_data(
        request.id,
        attrs.evolve(data, resolution=ResolutionTag.APPROVED, resolve_reason="okay"),
    )
    return request.id, incident.id


async def test_an_interrupted_resolution_is_finished_only_after_the_repair_delay(
    world: World,
) -> None:
    request_id, incident_id = await _interrupted_resolution(world)

    first = await world.processor.handle(world.put(request_id))
    assert first.ok
    assert first.recheck_after == REPAIR_AFTER
    assert world.pd.notes(incident_id) == []
    world.clock.now += 10
    early = await world.processor.handle(world.put(request_id))
    assert early.recheck_after == pytest.approx(REPAIR_AFTER - 10)
    assert world.pd.incident(incident_id).status == "triggered"

    world.clock.now += REPAIR_AFTER
    assert (await world.processor.handle(world.put(request_id))).ok

    assert world.pd.incident(incident_id).status == "resolved"
    assert [n.content for n in world.pd.notes(incident_id)] == [
        resolution_note(ResolutionTag.APPROVED, "okay")
    ]


async def test_a_repair_does_not_repeat_a_note_that_is_already_there(world: World) -> None:
    request_id, incident_id = await _interrupted_resolution(world)
    await world.pagerduty.add_note(incident_id, resolution_note(ResolutionTag.APPROVED, "okay"))

    await world.processor.handle(world.put(request_id))
    world.clock.now += REPAIR_AFTER
    await world.processor.handle(world.put(request_id))

    assert world.pd.incident(incident_id).status == "resolved"
    assert len(world.pd.notes(incident_id)) == 1


async def test_a_resolution_finished_by_its_claimer_meanwhile_is_left_alone(world: World) -> None:
    request_id, incident_id = await _interrupted_resolution(world)
    await world.processor.handle(world.put(request_id))
    # The replica that claimed it finishes.
    await world.pagerduty.add_note(incident_id, resolution_note(ResolutionTag.APPROVED, "okay"))
    await world.pagerduty.resolve_incident(incident_id)

    world.clock.now += REPAIR_AFTER
    outcome = await world.processor.handle(world.put(request_id))

    assert outcome.ok
    assert outcome.recheck_after is None
    assert len(world.pd.notes(incident_id)) == 1


async def test_a_resolved_incident_is_checked_once_per_process(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    await world.processor.handle(world.put(request.id))
    world.auth.approve(request.id, reason="okay")
    await world.processor.handle(world.put(request.id))
    fresh = Processor(
        auth=world.client,
        pagerduty=world.pagerduty,
        lookups=Lookups(world.pagerduty, world.client, ttl=300),
        settings=PolicySettings(),
        plugin_user=PLUGIN_USER,
    )
    world.pd.clear_requests()

    for _ in range(3):
        assert (await fresh.handle(world.put(request.id))).ok

    assert len(world.pd.requests_to("GET", "/incidents/{id}")) == 1
    assert world.pd.requests_to("POST", "/incidents/{id}/notes") == []


async def test_a_stale_pending_update_after_the_resolution_opens_nothing(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    stale = world.put(request.id)
    world.auth.approve(request.id, reason="okay")
    await world.processor.handle(world.put(request.id))  # never paged: nothing to resolve

    assert (await world.processor.handle(stale)).ok

    assert world.pd.incidents == []


async def test_an_update_after_the_delete_is_ignored(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    stale = world.put(request.id)
    world.auth.delete_request(request.id)
    await world.processor.handle(AccessRequestDelete(request_id=request.id))

    assert (await world.processor.handle(stale)).ok

    assert world.pd.incidents == []
    assert world.processor.states.is_deleted(request.id)


async def test_a_deleted_request_resolves_its_incident_as_expired(world: World) -> None:
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    await world.processor.handle(world.put(request.id))
    (incident,) = world.pd.incidents
    world.auth.delete_request(request.id)

    assert (await world.processor.handle(AccessRequestDelete(request_id=request.id))).ok

    assert world.pd.incident(incident.id).status == "resolved"
    assert [n.content for n in world.pd.notes(incident.id)] == ["Access request has been expired\n"]
    data = world.data(request.id)
    assert data is not None
    assert data.resolution is ResolutionTag.EXPIRED


async def test_an_on_call_requester_is_approved_by_the_plugin_user(world: World) -> None:
    user = world.pd.add_user("Test User", REQUESTER_OSS)
    world.pd.add_on_call(user, world.policies["escalation_policy-1"])
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])

    assert (await world.processor.handle(world.put(request.id))).ok

    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is RequestState.APPROVED
    assert [review.author for review in after.reviews] == [PLUGIN_USER]
    assert ApprovalOutcome(request_id=request.id, result="approved") in world.events


async def test_an_approval_teleport_will_refuse_is_explained_and_not_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    # The plugin's role may review only "viewer", not the requested "editor".
    world.auth.add_role(
        Role(
            name="auto-approval-plugin",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("viewer",))),
        )
    )
    world.auth.add_user(User(name=PLUGIN_USER, roles=("access-plugin", "auto-approval-plugin")))
    user = world.pd.add_user("Test User", REQUESTER_OSS)
    world.pd.add_on_call(user, world.policies["escalation_policy-1"])
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])

    with caplog.at_level(logging.WARNING):
        outcome = await world.processor.handle(world.put(request.id))

    assert outcome.ok  # a permission problem is not retried
    assert "Teleport will likely refuse the approval" in caplog.text
    assert 'requested role "editor"' in caplog.text
    assert "Teleport refused the approval of an on-call requester" in caplog.text
    assert ApprovalOutcome(request_id=request.id, result="refused") in world.events
    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.reviews == ()


# -- page_when_approved = false ---------------------------------------------------------------


def approve_first(world: World) -> None:
    """`[pagerduty.auto_approval] page_when_approved = false` for the world's processor."""
    world.processor.settings = attrs.evolve(
        world.processor.settings,
        auto_approval=AutoApprovalSettings(page_when_approved=False),
    )


async def test_an_approved_on_call_request_is_not_paged_when_told_so(world: World) -> None:
    approve_first(world)
    user = world.pd.add_user("Test User", REQUESTER_OSS)
    world.pd.add_on_call(user, world.policies["escalation_policy-1"])
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])

    assert (await world.processor.handle(world.put(request.id))).ok
    assert (await world.processor.handle(world.put(request.id))).ok  # the APPROVED event

    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is RequestState.APPROVED
    assert world.pd.incidents == []
    assert world.data(request.id) is None


async def test_a_request_that_is_not_approved_is_paged_after_the_decision(world: World) -> None:
    approve_first(world)
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])  # not on call

    assert (await world.processor.handle(world.put(request.id))).ok

    (incident,) = world.pd.incidents
    oncalls = world.pd.requests_to("GET", "/users")
    assert oncalls, "the approval was decided first"
    assert world.pd.requests.index(oncalls[0]) < world.pd.requests.index(
        world.pd.requests_to("POST", "/incidents")[0]
    )
    data = world.data(request.id)
    assert data is not None
    assert data.incident_id == incident.id


async def test_an_undecided_approval_holds_the_page_until_a_re_attempt_decides(
    world: World,
) -> None:
    approve_first(world)
    user = world.pd.add_user("Test User", REQUESTER_OSS)
    world.pd.add_on_call(user, world.policies["escalation_policy-1"])
    request = world.auth.create_request(REQUESTER_OSS, ["editor"])
    world.transport.refuse("GET", r"/oncalls$")

    failed = await world.processor.handle(world.put(request.id))
    assert not failed.ok
    assert world.pd.incidents == []

    world.transport.allow()
    assert (await world.processor.handle(world.put(request.id))).ok
    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is RequestState.APPROVED
    assert world.pd.incidents == []


async def test_a_request_the_approval_leaves_pending_is_still_paged(world: World) -> None:
    approve_first(world)
    user = world.pd.add_user("Test User", REQUESTER_1)  # two approvals needed
    world.pd.add_on_call(user, world.policies["escalation_policy-1"])
    request = world.auth.create_request(REQUESTER_1, ["editor"])

    assert (await world.processor.handle(world.put(request.id))).ok

    after = world.auth.get_request(request.id)
    assert after is not None
    assert after.state is RequestState.PENDING
    assert [review.author for review in after.reviews] == [PLUGIN_USER]
    assert len(world.pd.incidents) == 1
