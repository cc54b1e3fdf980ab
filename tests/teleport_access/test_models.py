"""Domain-model behaviour: which version of an access request is older."""

from __future__ import annotations

import pytest

from teleport_access._models import AccessRequest, AccessReview, RequestState

APPROVAL = AccessReview(author="bob", proposed_state=RequestState.APPROVED)
DENIAL = AccessReview(author="carol", proposed_state=RequestState.DENIED)


def version(state: RequestState, *reviews: AccessReview) -> AccessRequest:
    return AccessRequest(id="r1", user="alice", state=state, reviews=reviews)


PENDING = RequestState.PENDING
APPROVED = RequestState.APPROVED
DENIED = RequestState.DENIED
PROMOTED = RequestState.PROMOTED


def test_fewer_reviews_is_older_whatever_the_states() -> None:
    assert version(PENDING).is_older_than(version(PENDING, APPROVAL))
    assert version(DENIED).is_older_than(version(PENDING, APPROVAL))


def test_more_reviews_is_newer_whatever_the_states() -> None:
    # Reviews are only ever appended, so this is the stronger evidence.
    assert not version(PENDING, APPROVAL).is_older_than(version(APPROVED))
    assert not version(PENDING, APPROVAL, DENIAL).is_older_than(version(DENIED, APPROVAL))


@pytest.mark.parametrize("resolved", [APPROVED, DENIED, PROMOTED])
def test_pending_is_older_than_resolved_with_as_many_reviews(resolved: RequestState) -> None:
    assert version(PENDING, APPROVAL).is_older_than(version(resolved, APPROVAL))
    assert not version(resolved, APPROVAL).is_older_than(version(PENDING, APPROVAL))


@pytest.mark.parametrize("other", [APPROVED, PROMOTED])
def test_a_denial_is_final_so_other_resolutions_are_older_than_it(other: RequestState) -> None:
    assert version(other).is_older_than(version(DENIED))
    # An approved request may later be denied (SetAccessRequestState), so not the reverse.
    assert not version(DENIED).is_older_than(version(other))


@pytest.mark.parametrize("state", [PENDING, APPROVED, DENIED, PROMOTED])
def test_the_same_progress_is_not_older(state: RequestState) -> None:
    assert not version(state, APPROVAL).is_older_than(version(state, APPROVAL))


def test_approved_and_promoted_are_not_ordered() -> None:
    assert not version(APPROVED).is_older_than(version(PROMOTED))
    assert not version(PROMOTED).is_older_than(version(APPROVED))


def test_comparing_versions_of_different_requests_is_an_error() -> None:
    other = AccessRequest(id="r2", state=PENDING)
    with pytest.raises(ValueError, match="'r1', 'r2'"):
        version(PENDING).is_older_than(other)
