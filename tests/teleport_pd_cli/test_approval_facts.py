"""The auto-approval's reads in the policy's terms (daemon.approval_facts): the review-permission
check the daemon logs before its review and `tpd explain` shows, over every way it can end."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from teleport_access import (
    AccessDenied,
    AccessRequest,
    NotFound,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    TeleportError,
    User,
)
from teleport_pd_cli.daemon.approval_facts import ReviewPermission, review_permission

REQUEST = AccessRequest(
    id="r1", user="alice@example.com", roles=("editor",), state=RequestState.PENDING
)


def reviewer(name: str, where: str = "") -> Role:
    return Role(
        name=name,
        allow=RoleConditions(review_requests=ReviewConditions(roles=("editor",), where=where)),
    )


async def check(
    roles: Mapping[str, Role | Exception | None],
    user: User | Exception | None = None,
) -> ReviewPermission:
    async def get_role(name: str) -> Role | None:
        value = roles[name]
        if isinstance(value, Exception):
            raise value
        return value

    async def get_user(name: str) -> User | None:
        if isinstance(user, Exception):
            raise user
        return user

    return await review_permission(
        REQUEST,
        plugin_user="plugin",
        plugin_roles=tuple(roles),
        get_role=get_role,
        get_user=get_user,
    )


async def test_a_role_that_may_review_allows_it_and_names_the_deciding_role() -> None:
    permission = await check({"auto-approval-plugin": reviewer("auto-approval-plugin")})
    assert permission.decision is not None
    assert permission.decision.allowed
    assert permission.decision.group == "auto-approval-plugin"
    assert permission.problem == ""


async def test_missing_roles_are_listed_and_grant_nothing() -> None:
    permission = await check({"gone": None, "access-plugin": Role(name="access-plugin")})
    assert permission.missing_roles == ("gone",)
    assert permission.decision is not None
    assert not permission.decision.allowed


async def test_a_where_reading_the_plugins_traits_sees_them() -> None:
    role = reviewer("team-reviewer", where='contains(reviewer.traits["team"], "ops")')
    ops = User(name="plugin", traits={"team": ["ops"]})
    allowed = await check({"team-reviewer": role}, user=ops)
    assert allowed.decision is not None
    assert allowed.decision.allowed
    # Traits that cannot be read are none: the where clause no longer holds.
    unread = await check({"team-reviewer": role}, user=AccessDenied("no users for you"))
    assert unread.decision is not None
    assert not unread.decision.allowed
    assert unread.traits == {}


@pytest.mark.parametrize("error", [AccessDenied("roles are secret"), TeleportError("down")])
async def test_roles_that_cannot_be_read_leave_the_question_open(error: Exception) -> None:
    permission = await check({"auto-approval-plugin": error})
    assert permission.decision is None
    assert permission.roles_error == str(error)
    assert permission.problem.startswith("cannot read the plugin's roles: ")
    assert permission.to_json()["allowed"] is None


async def test_a_where_that_does_not_evaluate_is_reported_not_raised() -> None:
    permission = await check({"odd": reviewer("odd", where="nosuchfunction(request.reason)")})
    assert permission.decision is None
    assert permission.where_error
    assert permission.problem.startswith("cannot evaluate review_requests.where: ")


async def test_no_roles_in_the_certificate_is_a_problem_of_its_own() -> None:
    permission = await check({})
    assert permission.decision is None
    assert permission.problem == "the plugin's certificate names no roles"


async def test_a_role_lookup_not_found_error_is_not_swallowed_as_missing() -> None:
    # The getter decides what "missing" is (None); NotFound raised through it is a read error.
    permission = await check({"x": NotFound("role x is not found")})
    assert permission.roles_error
