"""The policy's recovery decisions: newest state, which incident, note recognition, delayed
repairs, the sweep filter, bounded memory."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from teleport_access import AccessRequest, AccessReview, RequestState
from teleport_pd_cli.policy import (
    DelayedRepairs,
    MissingNotes,
    PagerDutyData,
    Remembered,
    RepairWait,
    RequestStates,
    ResolutionTag,
    choose_incident,
    missing_notes,
    needs_sweep,
    note_key,
    note_repairs,
    resolution_note,
    review_note,
    same_note,
)


@attrs.frozen
class Incident:
    id: str
    is_resolved: bool
    created_at: datetime | None


def at(hour: int) -> datetime:
    return datetime(2026, 12, 1, hour, tzinfo=UTC)


def test_request_states_keep_the_newest_version() -> None:
    states = RequestStates()
    pending = AccessRequest(id="r", state=RequestState.PENDING)
    reviewed = attrs.evolve(pending, reviews=(AccessReview(author="a"),))
    approved = attrs.evolve(reviewed, state=RequestState.APPROVED)

    assert states.observe_put(reviewed) is reviewed
    assert states.observe_put(pending) is reviewed  # fewer reviews: older
    assert states.observe_put(approved) is approved
    assert states.observe_put(reviewed) is approved  # pending after resolved: older
    assert states.observe_delete("r") is approved
    assert states.observe_put(approved) is None
    assert states.knows("r")
    assert states.is_deleted("r")


def test_request_states_forget_the_oldest_deleted_ids_past_the_limit() -> None:
    states = RequestStates(max_deleted=2)
    for request_id in ("a", "b", "c"):
        states.observe_delete(request_id)
    assert not states.knows("a")
    assert states.is_deleted("b")
    assert states.is_deleted("c")


def test_the_open_incident_is_chosen_over_newer_resolved_ones() -> None:
    found = [
        Incident("resolved-new", True, at(3)),
        Incident("open", False, at(1)),
        Incident("resolved-old", True, at(0)),
    ]
    chosen = choose_incident(found)
    assert chosen is not None
    assert chosen.id == "open"


def test_without_an_open_incident_the_newest_is_chosen() -> None:
    found = [Incident("old", True, at(1)), Incident("new", True, at(2)), Incident("x", True, None)]
    chosen = choose_incident(found)
    assert chosen is not None
    assert chosen.id == "new"
    assert choose_incident([]) is None


def test_a_review_note_is_recognised_by_its_author_whatever_time_it_shows() -> None:
    ours = review_note(
        AccessReview(author="alice@example.com", proposed_state=RequestState.APPROVED, reason="ok")
    )
    theirs = ours.replace("UTC", "CET").replace("01 Jan 01 00:00", "01 Jan 01 01:00")
    assert same_note(theirs, ours)
    assert note_key(ours) == "alice@example.com reviewed the request at "


def test_another_reviewer_s_note_is_a_different_note() -> None:
    alice = review_note(AccessReview(author="alice", proposed_state=RequestState.APPROVED))
    bob = review_note(AccessReview(author="bob", proposed_state=RequestState.APPROVED))
    assert not same_note(alice, bob)


def test_other_notes_are_compared_whole_without_trailing_whitespace() -> None:
    note = resolution_note(ResolutionTag.APPROVED, "")
    assert note.endswith("\n")
    assert same_note(note.rstrip(), note)
    assert not same_note(resolution_note(ResolutionTag.DENIED, ""), note)


def test_missing_notes_count_repeats_and_keep_the_wanted_order() -> None:
    assert missing_notes(["a", "b", "a", "c"], ["a", "c "]) == ["b", "a"]
    assert missing_notes([], ["a"]) == []


def test_a_delayed_repair_is_due_only_after_the_delay_since_its_first_sighting() -> None:
    repairs: DelayedRepairs[str, str] = DelayedRepairs(35.0)
    first = repairs.sight("r", "claim", now=100.0)
    assert first.new
    assert first.remaining == 35.0
    later = repairs.sight("r", "claim", now=120.0)
    assert not later.new
    assert later.remaining == 15.0
    assert not later.due
    assert repairs.sight("r", "claim", now=135.0).due


def test_a_different_claim_restarts_the_clock() -> None:
    repairs: DelayedRepairs[str, str] = DelayedRepairs(10.0)
    repairs.sight("r", "approved", now=0.0)
    again = repairs.sight("r", "denied", now=9.0)
    assert again.new
    assert repairs.get("r") == "denied"
    assert repairs.wait("r", now=18.0) == RepairWait(1.0, new=False)
    wait = repairs.wait("r", now=19.0)
    assert wait is not None
    assert wait.due
    repairs.done("r")
    assert "r" not in repairs
    assert repairs.wait("r", now=20.0) is None


def test_more_missing_notes_restart_the_note_repair_and_fewer_do_not() -> None:
    repairs = note_repairs(10.0)
    assert repairs.sight("r", MissingNotes("i", ("a",)), now=0.0).new
    assert not repairs.sight("r", MissingNotes("i", ("a",)), now=5.0).new
    assert repairs.sight("r", MissingNotes("i", ("a", "b")), now=6.0).new
    assert not repairs.sight("r", MissingNotes("i", ("a",)), now=7.0).new
    assert repairs.get("r") == MissingNotes("i", ("a", "b"))


def test_the_sweep_looks_only_at_unseen_records_that_may_need_work() -> None:
    with_incident = PagerDutyData(incident_id="i")
    resolved_without = PagerDutyData(resolution=ResolutionTag.EXPIRED)
    resolved_with = PagerDutyData(incident_id="i", resolution=ResolutionTag.APPROVED)
    assert needs_sweep(with_incident, seen=False)
    assert needs_sweep(resolved_with, seen=False)
    assert not needs_sweep(resolved_without, seen=False)
    assert not needs_sweep(with_incident, seen=True)
    assert not needs_sweep(None, seen=False)


def test_remembered_keeps_the_most_recent_members() -> None:
    seen: Remembered[str] = Remembered(2)
    for member in ("a", "b", "a", "c"):
        seen.add(member)
    assert "a" in seen
    assert "c" in seen
    assert "b" not in seen
    assert len(seen) == 2
