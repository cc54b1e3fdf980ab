"""Review permissions (`review_requests.where`) and filtered thresholds in the fake Auth Service,
modelled on Teleport's TestReviewThresholds scenario (lib/services/access_request_test.go)."""

from __future__ import annotations

import pytest

from teleport_access._client import AuthClient
from teleport_access._exceptions import AccessDenied
from teleport_access._models import (
    AccessReviewThreshold,
    RequestConditions,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer

PROLETARIAT = AccessReviewThreshold(
    name="proletariat", filter='contains(reviewer.roles,"proletariat")', approve=2, deny=2
)
GOOD_REASONS = AccessReviewThreshold(
    name="good reasons",
    filter='regexp.match(request.reason, "*good*") && regexp.match(review.reason, "*good*")',
    approve=1,
)


def reviewer_role(name: str, roles: tuple[str, ...], where: str) -> Role:
    return Role(
        name=name,
        allow=RoleConditions(review_requests=ReviewConditions(roles=roles, where=where)),
    )


@pytest.fixture
def cluster(fake_auth: FakeAuthServer) -> FakeAuthServer:
    fake_auth.add_role(
        Role(
            name="populist",
            allow=RoleConditions(
                request=RequestConditions(
                    roles=("dictator",),
                    annotations={"mechanism": ("uprising", "consensus")},
                    thresholds=(PROLETARIAT, GOOD_REASONS),
                )
            ),
        )
    )
    fake_auth.add_role(
        reviewer_role(
            "proletariat",
            ("dictator",),
            'contains(request.system_annotations["mechanism"],"uprising")',
        )
    )
    fake_auth.add_role(
        reviewer_role(
            "intelligentsia",
            ("dictator", "never"),
            'contains(request.system_annotations["mechanism"],"consensus") '
            '&& regexp.match(request.reason, "*good*")',
        )
    )
    fake_auth.add_role(
        reviewer_role(
            "military",
            ("dictator",),
            'contains(request.system_annotations["mechanism"],"coup") '
            '|| contains(request.system_annotations["mechanism"],"treachery")',
        )
    )
    fake_auth.add_user(User(name="alice", roles=("populist",)))
    for name, role in [("p1", "proletariat"), ("p2", "proletariat"), ("i1", "intelligentsia")]:
        fake_auth.add_user(User(name=name, roles=(role,)))
    fake_auth.add_user(User(name="m1", roles=("military",)))
    return fake_auth


def test_the_request_carries_the_requesters_annotations_and_thresholds(
    cluster: FakeAuthServer,
) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="some very good reason")
    assert request.system_annotations == {"mechanism": ("uprising", "consensus")}
    assert request.thresholds == (PROLETARIAT, GOOD_REASONS)


def test_a_reviewer_whose_where_does_not_match_may_not_review(cluster: FakeAuthServer) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="some very good reason")
    with pytest.raises(AccessDenied, match='user "m1" cannot submit reviews'):
        cluster.submit_review(request.id, "m1", RequestState.APPROVED)


def test_two_approvals_from_the_filtered_group_approve(cluster: FakeAuthServer) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="plain")
    first = cluster.submit_review(request.id, "p1", RequestState.APPROVED, reason="ok")
    assert first.state is RequestState.PENDING
    assert first.reviews[0].threshold_indexes == (0,)  # counts toward "proletariat" only
    second = cluster.submit_review(request.id, "p2", RequestState.APPROVED, reason="ok")
    assert second.state is RequestState.APPROVED


def test_two_denials_from_the_filtered_group_deny(cluster: FakeAuthServer) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="plain")
    cluster.submit_review(request.id, "p1", RequestState.DENIED)
    assert cluster.submit_review(request.id, "p2", RequestState.DENIED).state is (
        RequestState.DENIED
    )


def test_one_approval_with_good_reasons_on_both_sides_approves(cluster: FakeAuthServer) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="some very good reason")
    after = cluster.submit_review(request.id, "i1", RequestState.APPROVED, reason="good call")
    assert after.state is RequestState.APPROVED


def test_without_a_request_reason_the_intelligentsia_may_not_review(
    cluster: FakeAuthServer,
) -> None:
    request = cluster.create_request("alice", ["dictator"])
    with pytest.raises(AccessDenied):
        cluster.submit_review(request.id, "i1", RequestState.APPROVED, reason="good")


async def test_review_permissions_apply_to_reviews_over_grpc(cluster: FakeAuthServer) -> None:
    request = cluster.create_request("alice", ["dictator"], reason="plain")
    async with AuthClient(cluster.address, cluster.issue_identity("m1")) as military:
        with pytest.raises(AccessDenied, match="cannot submit reviews"):
            await military.submit_review(request.id, proposed_state=RequestState.APPROVED)
    async with AuthClient(cluster.address, cluster.issue_identity("p1")) as proletarian:
        after = await proletarian.submit_review(request.id, proposed_state=RequestState.APPROVED)
    assert after.state is RequestState.PENDING
