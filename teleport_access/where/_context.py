"""What an expression is evaluated against: the reviewer, the request and (for filters) a review.

These mirror Teleport's evaluation contexts (`reviewPermissionContext` and
`thresholdFilterContext`). Every part is optional and empty by default; lists are stored as
tuples and maps as dicts of tuples, so a context is immutable and safe to share.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import attrs

from teleport_access._models import AccessRequest, AccessReview, Labels, User, to_labels


def _strings(value: Iterable[str]) -> tuple[str, ...]:
    if isinstance(value, str):  # never split a bare string into letters
        raise TypeError(f"expected a sequence of strings, got the string {value!r}")
    return tuple(value)


def _labels(value: Mapping[str, Iterable[str]] | None) -> dict[str, tuple[str, ...]]:
    for key, values in (value or {}).items():
        if isinstance(values, str):
            raise TypeError(f"the value of {key!r} must be a sequence of strings, got {values!r}")
    return to_labels(value)


@attrs.frozen(kw_only=True)
class Reviewer:
    """`reviewer.roles` and `reviewer.traits`: who is reviewing."""

    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    traits: Labels = attrs.field(factory=dict, converter=_labels)

    @classmethod
    def from_user(cls, user: User) -> Reviewer:
        """The reviewer context of a Teleport user (their static roles and traits)."""
        return cls(roles=user.roles, traits=user.traits)


@attrs.frozen(kw_only=True)
class Request:
    """`request.roles`, `request.reason` and `request.system_annotations`."""

    roles: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    reason: str = ""
    system_annotations: Labels = attrs.field(factory=dict, converter=_labels)

    @classmethod
    def from_access_request(cls, request: AccessRequest) -> Request:
        """The request context Teleport builds: requested roles, reason, system annotations."""
        return cls(
            roles=request.roles,
            reason=request.request_reason,
            system_annotations=request.system_annotations,
        )


@attrs.frozen(kw_only=True)
class Review:
    """`review.reason` and `review.annotations`: only threshold filters can use them."""

    reason: str = ""
    annotations: Labels = attrs.field(factory=dict, converter=_labels)

    @classmethod
    def from_access_review(cls, review: AccessReview) -> Review:
        return cls(reason=review.reason, annotations=review.annotations)


@attrs.frozen(kw_only=True)
class Context:
    """Everything an expression can see. All parts default to empty."""

    reviewer: Reviewer = attrs.field(factory=Reviewer)
    request: Request = attrs.field(factory=Request)
    review: Review = attrs.field(factory=Review)

    @classmethod
    def of(
        cls,
        *,
        reviewer: User | None = None,
        request: AccessRequest | None = None,
        review: AccessReview | None = None,
    ) -> Context:
        """Build a context from the domain models (`User`, `AccessRequest`, `AccessReview`)."""
        return cls(
            reviewer=Reviewer.from_user(reviewer) if reviewer else Reviewer(),
            request=Request.from_access_request(request) if request else Request(),
            review=Review.from_access_review(review) if review else Review(),
        )
