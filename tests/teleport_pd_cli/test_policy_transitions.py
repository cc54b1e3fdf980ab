"""teleport_pd_cli.policy: the compare-and-swap transitions over plugin data.

Besides one test per rule, a small in-memory compare-and-swap store runs several interleaved
"replicas" to show that claims hand out every note, and the resolution, exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import attrs
from hypothesis import given
from hypothesis import strategies as st

from teleport_access._models import AccessRequest, RequestState
from teleport_pd_cli.policy import (
    claim_request,
    claim_resolution,
    claim_review_notes,
    record_incident,
    release_resolution,
    release_review_notes,
)
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag, decode, encode, expected

REQUEST = AccessRequest(
    id="req-1",
    user="u@example.com",
    roles=("editor", "auditor"),
    state=RequestState.PENDING,
    request_reason="because",
    created=datetime(2021, 6, 1, 13, 27, 17, 123456, tzinfo=UTC),
)
WITH_INCIDENT = PagerDutyData(user="u@example.com", incident_id="P1", service_id="S1")


def test_claim_request_creates_the_record_from_the_request() -> None:
    assert claim_request(None, REQUEST) == PagerDutyData(
        user="u@example.com",
        roles=("editor", "auditor"),
        created=datetime(2021, 6, 1, 13, 27, 17, tzinfo=UTC),
        request_reason="because",
    )


def test_claim_request_writes_nothing_when_a_record_exists() -> None:
    assert claim_request(PagerDutyData(user="x"), REQUEST) is None


def test_record_incident_stores_the_ids_keeping_the_request_data() -> None:
    claimed = claim_request(None, REQUEST)
    assert claimed is not None
    recorded = record_incident(claimed, service_id="S1", incident_id="P1")
    assert recorded == attrs.evolve(claimed, service_id="S1", incident_id="P1")


def test_record_incident_rebuilds_missing_data_from_the_request() -> None:
    recorded = record_incident(None, service_id="S1", incident_id="P1", request=REQUEST)
    assert recorded is not None
    assert (recorded.user, recorded.incident_id) == ("u@example.com", "P1")


def test_the_first_recorded_incident_wins() -> None:
    assert record_incident(WITH_INCIDENT, service_id="S2", incident_id="P2") is None


def test_review_notes_are_claimed_from_the_stored_count_to_the_total() -> None:
    claimed = claim_review_notes(attrs.evolve(WITH_INCIDENT, reviews_count=1), 3)
    assert claimed is not None
    new, indexes = claimed
    assert new.reviews_count == 3
    assert indexes == range(1, 3)


def test_no_notes_are_claimed_without_an_incident_or_when_up_to_date() -> None:
    assert claim_review_notes(None, 2) is None
    assert claim_review_notes(PagerDutyData(user="u"), 2) is None
    assert claim_review_notes(attrs.evolve(WITH_INCIDENT, reviews_count=2), 2) is None
    assert claim_review_notes(attrs.evolve(WITH_INCIDENT, reviews_count=3), 2) is None


def test_unposted_notes_are_released_back_to_the_first_unposted_review() -> None:
    current = attrs.evolve(WITH_INCIDENT, reviews_count=3)
    released = release_review_notes(current, range(1, 3), 2)
    assert released is not None
    assert released.reviews_count == 2


def test_notes_are_not_released_after_someone_claimed_more() -> None:
    current = attrs.evolve(WITH_INCIDENT, reviews_count=4)
    assert release_review_notes(current, range(1, 3), 1) is None


def test_a_release_outside_the_claim_is_ignored() -> None:
    current = attrs.evolve(WITH_INCIDENT, reviews_count=3)
    assert release_review_notes(current, range(1, 3), 3) is None
    assert release_review_notes(current, range(1, 3), 0) is None


def test_the_resolution_is_claimed_once_and_needs_an_incident() -> None:
    claimed = claim_resolution(WITH_INCIDENT, ResolutionTag.APPROVED, "okay")
    assert claimed == attrs.evolve(
        WITH_INCIDENT, resolution=ResolutionTag.APPROVED, resolve_reason="okay"
    )
    assert claim_resolution(claimed, ResolutionTag.EXPIRED, "") is None
    assert claim_resolution(PagerDutyData(user="u"), ResolutionTag.APPROVED, "") is None
    assert claim_resolution(None, ResolutionTag.APPROVED, "") is None


def test_a_failed_resolution_is_released_only_if_it_is_still_ours() -> None:
    claimed = claim_resolution(WITH_INCIDENT, ResolutionTag.DENIED, "no")
    assert release_resolution(claimed, ResolutionTag.DENIED, "no") == WITH_INCIDENT
    assert release_resolution(claimed, ResolutionTag.APPROVED, "no") is None
    assert release_resolution(WITH_INCIDENT, ResolutionTag.DENIED, "no") is None


# -- replicas against one store -----------------------------------------------------------------


class Store:
    """Teleport's plugin-data compare-and-swap, reduced to one record."""

    def __init__(self) -> None:
        self.stored: dict[str, str] = {}

    def read(self) -> PagerDutyData | None:
        return decode(self.stored)

    def swap(self, expect: dict[str, str], new: dict[str, str]) -> bool:
        current = self.stored or expected(None)
        if current != expect:
            return False
        self.stored = new
        return True


def modify(store: Store, change: Callable[[PagerDutyData | None], PagerDutyData | None]) -> bool:
    """The daemon's loop: read, decide, swap; retry on a lost race."""
    while True:
        current = store.read()
        new = change(current)
        if new is None:
            return False
        if store.swap(expected(current), encode(new)):
            return True


def claim_notes(store: Store, total: int) -> range:
    """One replica handling an event that shows `total` reviews: the notes it must post."""
    won: list[range] = []

    def change(current: PagerDutyData | None) -> PagerDutyData | None:
        won.clear()  # a lost race re-runs this against fresher data
        claimed = claim_review_notes(current, total)
        if claimed is None:
            return None
        won.append(claimed[1])
        return claimed[0]

    return won[0] if modify(store, change) else range(0)


@given(
    reviews=st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=8),
    staleness=st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=30),
)
def test_interleaved_replicas_claim_every_review_note_exactly_once(
    reviews: list[int], staleness: list[int]
) -> None:
    store = Store()
    store.stored = encode(WITH_INCIDENT)
    posted: list[int] = []
    # Reviews arrive in rounds; replicas handle events in any order and may see an older event
    # (a smaller total), which must neither lose nor repeat a note.
    totals: list[int] = []
    for arrived in reviews:
        totals.append((totals[-1] if totals else 0) + arrived)
        for stale in staleness:
            posted.extend(claim_notes(store, totals[max(0, len(totals) - 1 - stale)]))
    posted.extend(claim_notes(store, totals[-1]))  # the newest event reaches some replica
    assert posted == list(range(totals[-1]))


def test_two_replicas_resolving_at_once_resolve_once() -> None:
    store = Store()
    store.stored = encode(WITH_INCIDENT)
    first = store.read()
    second = store.read()
    approve = claim_resolution(first, ResolutionTag.APPROVED, "ok")
    expire = claim_resolution(second, ResolutionTag.EXPIRED, "")
    assert approve is not None
    assert expire is not None
    won_first = store.swap(expected(first), encode(approve))
    won_second = store.swap(expected(second), encode(expire))
    assert (won_first, won_second) == (True, False)
    # The loser retries against fresh data and finds nothing to do.
    assert not modify(store, lambda current: claim_resolution(current, ResolutionTag.EXPIRED, ""))
    data = store.read()
    assert data is not None
    assert data.resolution is ResolutionTag.APPROVED


def test_an_absent_record_is_created_once_by_racing_replicas() -> None:
    store = Store()
    assert modify(store, lambda current: claim_request(current, REQUEST))
    assert not modify(store, lambda current: claim_request(current, REQUEST))
    data = store.read()
    assert data is not None
    assert data.user == "u@example.com"
