"""The evaluation context: frozen, empty by default, built from the domain models."""

from __future__ import annotations

import attrs
import pytest

from teleport_access._models import AccessRequest, AccessReview, User
from teleport_access.where import Context, Request, Review, Reviewer


def test_every_part_defaults_to_empty() -> None:
    ctx = Context()
    assert ctx.reviewer == Reviewer(roles=(), traits={})
    assert ctx.request == Request(roles=(), reason="", system_annotations={})
    assert ctx.review == Review(reason="", annotations={})


def test_lists_become_tuples_and_maps_hold_tuples() -> None:
    reviewer = Reviewer(roles=["a"], traits={"team": ["x", "y"]})
    assert reviewer.roles == ("a",)
    assert reviewer.traits == {"team": ("x", "y")}


def test_a_bare_string_is_refused_where_a_list_is_expected() -> None:
    with pytest.raises(TypeError):
        Reviewer(roles="admin")
    with pytest.raises(TypeError):
        Request(system_annotations={"k": "value"})


def test_contexts_are_frozen() -> None:
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Context().request = Request()  # type: ignore[misc]


def test_contexts_are_built_from_the_domain_models() -> None:
    user = User(name="bob", roles=("dev",), traits={"team": ("db",)})
    request = AccessRequest(
        id="r",
        user="alice",
        roles=("admin",),
        request_reason="why",
        system_annotations={"k": ("v",)},
    )
    review = AccessReview(author="bob", reason="ok", annotations={"t": ("1",)})
    ctx = Context.of(reviewer=user, request=request, review=review)
    assert ctx == Context(
        reviewer=Reviewer(roles=["dev"], traits={"team": ["db"]}),
        request=Request(roles=["admin"], reason="why", system_annotations={"k": ["v"]}),
        review=Review(reason="ok", annotations={"t": ["1"]}),
    )
    assert Context.of() == Context()
