"""AuthClient against the fake Auth Service over real mutual TLS on 127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from teleport_access._client import AuthClient
from teleport_access._credentials import Identity
from teleport_access._exceptions import (
    AccessDenied,
    AlreadyResolved,
    AlreadyReviewed,
    BadParameter,
    CompareFailed,
    NotFound,
    NotImplementedByServer,
)
from teleport_access._models import (
    AccessRequestFilter,
    AccessReviewThreshold,
    ClaimMapping,
    RequestConditions,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer

from .conftest import PLUGIN_USER

# --- ping, roles, users -------------------------------------------------------------------------


async def test_ping_returns_cluster_name_version_and_features(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    info = await auth_client.ping()
    assert info.cluster_name == "teleport.example.com"
    assert info.server_version == fake_auth.server_version
    assert info.proxy_public_addr == "teleport.example.com:443"
    assert info.advanced_access_workflows is True


async def test_ping_reports_the_callers_address_as_seen_by_the_server(
    auth_client: AuthClient,
) -> None:
    info = await auth_client.ping()
    assert info.remote_addr.startswith("127.0.0.1:")


async def test_get_role_returns_the_seeded_role(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    role = Role(
        name="reviewer",
        allow=RoleConditions(
            review_requests=ReviewConditions(
                roles=("admin",),
                where='contains(request.system_annotations["team"], "sre")',
                claims_to_roles=(ClaimMapping(claim="groups", value="sre", roles=("admin",)),),
            )
        ),
    )
    fake_auth.add_role(role)
    assert await auth_client.get_role("reviewer") == role


async def test_get_role_raises_not_found_for_an_unknown_role(auth_client: AuthClient) -> None:
    with pytest.raises(NotFound, match="role nope is not found") as caught:
        await auth_client.get_role("nope")
    assert caught.value.method == "GetRole"
    assert caught.value.code == "NOT_FOUND"


async def test_get_user_returns_roles_and_traits(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    user = User(name="alice@example.com", roles=("dev",), traits={"team": ("sre", "db")})
    fake_auth.add_user(user)
    assert await auth_client.get_user("alice@example.com") == user


async def test_issued_identities_have_a_user_with_the_certificate_roles(
    auth_client: AuthClient,
) -> None:
    user = await auth_client.get_user(PLUGIN_USER)
    assert user.roles == (PLUGIN_USER,)


# --- listing ------------------------------------------------------------------------------------


async def test_list_follows_next_key_across_several_pages(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    created = {fake_auth.create_request(f"user{i}", ["admin"]).id for i in range(7)}
    listed = await auth_client.list_access_requests(page_size=3)
    assert {r.id for r in listed} == created
    assert len(listed) == 7
    pages = fake_auth.calls_to("ListAccessRequests")
    assert len(pages) == 3
    assert [c.request.StartKey == "" for c in pages] == [True, False, False]  # type: ignore[attr-defined]


async def test_list_applies_the_user_and_state_filter(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    alice = fake_auth.create_request("alice", ["admin"])
    fake_auth.create_request("bob", ["admin"])
    approved = fake_auth.create_request("alice", ["dba"])
    fake_auth.approve(approved.id)
    pending_of_alice = await auth_client.list_access_requests(
        AccessRequestFilter(user="alice", state=RequestState.PENDING)
    )
    assert [r.id for r in pending_of_alice] == [alice.id]


async def test_list_falls_back_to_get_access_requests_v2_on_older_servers(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.set_unimplemented("ListAccessRequests")
    created = {fake_auth.create_request(f"user{i}", ["admin"]).id for i in range(3)}
    assert {r.id for r in await auth_client.list_access_requests()} == created
    assert {r.id for r in await auth_client.list_access_requests()} == created
    # The fallback is remembered: the second listing goes straight to the stream.
    assert len(fake_auth.calls_to("ListAccessRequests")) == 1
    assert len(fake_auth.calls_to("GetAccessRequestsV2")) == 2


async def test_get_access_request_returns_the_request(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    created = fake_auth.create_request("alice", ["admin"], reason="incident 42")
    got = await auth_client.get_access_request(created.id)
    assert got == created
    assert got.request_reason == "incident 42"
    assert got.state is RequestState.PENDING


async def test_get_access_request_raises_not_found_for_an_unknown_id(
    auth_client: AuthClient,
) -> None:
    with pytest.raises(NotFound, match="no access request matching"):
        await auth_client.get_access_request("00000000-0000-0000-0000-000000000000")


# --- creating and deleting ----------------------------------------------------------------------


async def test_create_access_request_returns_the_server_side_view(
    auth_client: AuthClient,
) -> None:
    created = await auth_client.create_access_request(PLUGIN_USER, ["admin"], reason="why")
    assert created.user == PLUGIN_USER
    assert created.state is RequestState.PENDING
    assert created.thresholds == (AccessReviewThreshold(name="default", approve=1, deny=1),)
    assert created.created is not None
    assert created.resource_expires is not None
    assert (await auth_client.get_access_request(created.id)).request_reason == "why"


async def test_creating_a_request_for_another_user_needs_an_admin(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    with pytest.raises(AccessDenied):
        await auth_client.create_access_request("alice", ["admin"])
    admin = fake_auth.issue_identity("bot-admin", admin=True)
    async with AuthClient(fake_auth.address, admin) as client:
        created = await client.create_access_request("alice", ["admin"])
    assert created.user == "alice"


async def test_delete_access_request_removes_it(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    created = await auth_client.create_access_request(PLUGIN_USER, ["admin"])
    await auth_client.delete_access_request(created.id)
    assert fake_auth.get_request(created.id) is None
    with pytest.raises(NotFound):
        await auth_client.delete_access_request(created.id)


# --- reviews and state --------------------------------------------------------------------------


async def test_an_approving_review_resolves_a_request_with_the_default_threshold(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    after = await auth_client.submit_review(
        request.id, proposed_state=RequestState.APPROVED, reason="on call"
    )
    assert after.state is RequestState.APPROVED
    assert after.resolve_reason == "on call"
    (review,) = after.reviews
    assert review.author == PLUGIN_USER
    assert review.proposed_state is RequestState.APPROVED
    assert review.created is not None


async def test_a_second_review_by_the_same_author_is_refused_with_teleports_message(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request(
        "alice", ["admin"], thresholds=[AccessReviewThreshold(approve=2, deny=2)]
    )
    await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    with pytest.raises(AlreadyReviewed) as caught:
        await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    assert isinstance(caught.value, AccessDenied)
    assert str(caught.value) == f'user "{PLUGIN_USER}" has already reviewed this request'
    assert caught.value.code == "PERMISSION_DENIED"
    assert caught.value.method == "SubmitAccessReview"


@pytest.mark.parametrize("resolution", ["approve", "deny"])
async def test_reviewing_a_resolved_request_raises_already_resolved_with_teleports_message(
    fake_auth: FakeAuthServer, auth_client: AuthClient, resolution: str
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    getattr(fake_auth, resolution)(request.id, reason="decided")
    state = "approved" if resolution == "approve" else "denied"
    with pytest.raises(AlreadyResolved) as caught:
        await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    assert isinstance(caught.value, AccessDenied)
    assert str(caught.value) == f"the access request has been already {state}"
    assert caught.value.code == "PERMISSION_DENIED"


async def test_other_refusals_of_a_review_stay_plain_access_denied(
    fake_auth: FakeAuthServer,
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    async with AuthClient(fake_auth.address, fake_auth.issue_identity("alice")) as alice:
        with pytest.raises(AccessDenied) as caught:
            await alice.submit_review(request.id, proposed_state=RequestState.APPROVED)
    assert type(caught.value) is AccessDenied


async def test_users_cannot_review_their_own_requests(fake_auth: FakeAuthServer) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    async with AuthClient(fake_auth.address, fake_auth.issue_identity("alice")) as alice:
        with pytest.raises(AccessDenied, match="own access request"):
            await alice.submit_review(request.id, proposed_state=RequestState.APPROVED)


async def test_a_review_on_behalf_of_someone_else_needs_an_admin(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    with pytest.raises(AccessDenied, match="on behalf of"):
        await auth_client.submit_review(
            request.id, proposed_state=RequestState.APPROVED, author="bob"
        )


async def test_a_review_proposing_promoted_is_a_bad_parameter(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    with pytest.raises(BadParameter, match="invalid state proposal"):
        await auth_client.submit_review(request.id, proposed_state=RequestState.PROMOTED)


async def test_review_annotations_are_refused_like_current_teleport(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    with pytest.raises(NotImplementedByServer, match="annotations are not yet supported"):
        await auth_client.submit_review(
            request.id, proposed_state=RequestState.APPROVED, annotations={"k": ["v"]}
        )


async def test_set_state_denies_with_reason_and_annotations(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    await auth_client.set_state(
        request.id,
        RequestState.DENIED,
        reason="not on call",
        delegator="pagerduty:carol",
        annotations={"pagerduty": ["incident-1"]},
    )
    after = await auth_client.get_access_request(request.id)
    assert after.state is RequestState.DENIED
    assert after.resolve_reason == "not on call"
    assert after.resolve_annotations == {"pagerduty": ("incident-1",)}


async def test_set_state_promoted_is_a_bad_parameter(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    with pytest.raises(BadParameter, match="promoted"):
        await auth_client.set_state(request.id, RequestState.PROMOTED)


async def test_set_state_can_narrow_the_granted_roles(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin", "dba"])
    await auth_client.set_state(request.id, RequestState.APPROVED, roles=["dba"])
    assert (await auth_client.get_access_request(request.id)).roles == ("dba",)


async def test_thresholds_and_annotations_come_from_the_requesters_roles(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    fake_auth.add_role(
        Role(
            name="requester",
            allow=RoleConditions(
                request=RequestConditions(
                    roles=("admin",),
                    annotations={"pagerduty_notify_service": ("Ops",)},
                    thresholds=(AccessReviewThreshold(name="two", approve=2, deny=1),),
                )
            ),
        )
    )
    fake_auth.add_user(User(name="alice", roles=("requester",)))
    request = fake_auth.create_request("alice", ["admin"])
    assert request.system_annotations == {"pagerduty_notify_service": ("Ops",)}
    after = await auth_client.submit_review(request.id, proposed_state=RequestState.APPROVED)
    assert after.state is RequestState.PENDING  # one of two approvals
    after = fake_auth.submit_review(request.id, "bob", RequestState.APPROVED)
    assert after.state is RequestState.APPROVED


# --- plugin data --------------------------------------------------------------------------------


async def test_plugin_data_is_written_with_expectations_and_read_back(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    assert await auth_client.get_plugin_data(request.id, "pagerduty") is None
    await auth_client.update_plugin_data(
        request.id, "pagerduty", set={"incident_id": "P1"}, expect={"incident_id": ""}
    )
    data = await auth_client.get_plugin_data(request.id, "pagerduty")
    assert data is not None
    assert data.data == {"incident_id": "P1"}
    assert fake_auth.plugin_data(request.id, "pagerduty") == {"incident_id": "P1"}


async def test_an_unmet_expectation_is_compare_failed(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.set_plugin_data(request.id, "pagerduty", {"incident_id": "P1"})
    with pytest.raises(CompareFailed, match='expectations not met for field "incident_id"'):
        await auth_client.update_plugin_data(
            request.id, "pagerduty", set={"incident_id": "P2"}, expect={"incident_id": ""}
        )
    assert fake_auth.plugin_data(request.id, "pagerduty") == {"incident_id": "P1"}


async def test_an_empty_value_deletes_the_key_and_an_empty_entry_disappears(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.set_plugin_data(request.id, "pagerduty", {"a": "1", "b": "2"})
    await auth_client.update_plugin_data(request.id, "pagerduty", set={"a": ""}, expect=None)
    assert fake_auth.plugin_data(request.id, "pagerduty") == {"b": "2"}
    await auth_client.update_plugin_data(request.id, "pagerduty", set={"b": ""}, expect=None)
    assert await auth_client.get_plugin_data(request.id, "pagerduty") is None


async def test_plugin_data_outlives_its_deleted_request(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.set_plugin_data(request.id, "pagerduty", {"incident_id": "P1"})
    fake_auth.delete_request(request.id)
    data = await auth_client.get_plugin_data(request.id, "pagerduty")
    assert data is not None
    assert data.data == {"incident_id": "P1"}
    # And it can still be updated while it lasts.
    await auth_client.update_plugin_data(
        request.id, "pagerduty", set={"resolution": "EXPIRED"}, expect={"resolution": ""}
    )


async def test_plugin_data_cannot_be_created_for_a_request_that_does_not_exist(
    auth_client: AuthClient,
) -> None:
    with pytest.raises(NotFound):
        await auth_client.update_plugin_data(
            "00000000-0000-0000-0000-000000000000", "pagerduty", set={"a": "1"}, expect=None
        )


async def test_list_plugin_data_covers_every_request_including_deleted_ones(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    live = fake_auth.create_request("alice", ["admin"])
    gone = fake_auth.create_request("bob", ["admin"])
    fake_auth.set_plugin_data(live.id, "pagerduty", {"incident_id": "P1"})
    fake_auth.set_plugin_data(gone.id, "pagerduty", {"incident_id": "P2"})
    fake_auth.set_plugin_data(gone.id, "slack", {"ts": "1"})
    fake_auth.expire(gone.id)
    listed = await auth_client.list_plugin_data("pagerduty")
    assert {(d.request_id, d.data["incident_id"]) for d in listed} == {
        (live.id, "P1"),
        (gone.id, "P2"),
    }
    assert all(d.plugin == "pagerduty" for d in listed)


# --- create-time expiry -------------------------------------------------------------------------


async def test_requested_expiry_times_are_kept(auth_client: AuthClient) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    created = await auth_client.create_access_request(
        PLUGIN_USER, ["admin"], expires=soon, resource_expires=soon
    )
    assert created.expires == soon
    assert created.resource_expires == soon


async def test_identity_with_roles_is_reflected_in_recorded_calls(
    fake_auth: FakeAuthServer, plugin_identity: Identity
) -> None:
    async with AuthClient(fake_auth.address, plugin_identity) as client:
        await client.ping()
    (call,) = fake_auth.calls_to("Ping")
    assert (call.caller, call.code) == (PLUGIN_USER, "OK")
