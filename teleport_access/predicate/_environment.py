"""What a condition is evaluated against: the access request, the requester's traits, and the
labels of the requested resources.

This mirrors Teleport's `AccessRequestExpressionEnv`. Every part is optional and empty by default;
lists become frozensets (the language's Set) and maps dicts of frozensets, so an Environment is
immutable and safe to share. An unset time is Go's zero time (0001-01-01T00:00:00Z), as in
Teleport. The two resource-label maps are computed once, when the Environment is made:

- `resource_labels_union`: for each label key, the values it has on any requested resource;
- `resource_labels_intersection`: the keys every requested resource has, with the same value on
  all of them (empty when no resources are requested).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

import attrs

from teleport_access._models import AccessRequest
from teleport_access.predicate._values import GoTime

Set = frozenset[str]
Dict = Mapping[str, frozenset[str]]


def _set(value: Iterable[str]) -> frozenset[str]:
    if isinstance(value, str):  # never split a bare string into letters
        raise TypeError(f"expected a collection of strings, got the string {value!r}")
    return frozenset(value)


def _dict(value: Mapping[str, Iterable[str]] | None) -> dict[str, frozenset[str]]:
    out: dict[str, frozenset[str]] = {}
    for key, values in (value or {}).items():
        if isinstance(values, str):
            raise TypeError(f"the value of {key!r} must be a collection of strings, got {values!r}")
        out[key] = frozenset(values)
    return out


def _labels(value: Iterable[Mapping[str, str]]) -> tuple[Mapping[str, str], ...]:
    out = []
    for labels in value:
        if not isinstance(labels, Mapping):
            raise TypeError(f"each resource's labels must be a mapping, got {labels!r}")
        out.append(dict(labels))
    return tuple(out)


def _time(value: datetime | None) -> datetime | None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"naive datetime {value!r}; pass a timezone-aware datetime")
    return value


def labels_union(resources: tuple[Mapping[str, str], ...]) -> dict[str, frozenset[str]]:
    union: dict[str, set[str]] = {}
    for labels in resources:
        for key, value in labels.items():
            union.setdefault(key, set()).add(value)
    return {key: frozenset(values) for key, values in union.items()}


def labels_intersection(resources: tuple[Mapping[str, str], ...]) -> dict[str, frozenset[str]]:
    if not resources:
        return {}
    first, *rest = resources
    return {
        key: frozenset((value,))
        for key, value in first.items()
        if all(labels.get(key) == value for labels in rest)
    }


@attrs.frozen(kw_only=True)
class Environment:
    """Everything a condition can see. All parts default to empty."""

    #: access_request.spec.roles: the requested roles.
    roles: Set = attrs.field(default=frozenset(), converter=_set)
    #: access_request.spec.suggested_reviewers.
    suggested_reviewers: Set = attrs.field(default=frozenset(), converter=_set)
    #: access_request.spec.system_annotations: set by the requester's roles.
    system_annotations: Dict = attrs.field(factory=dict, converter=_dict)
    #: access_request.spec.user: who asked.
    user: str = ""
    #: access_request.spec.request_reason.
    request_reason: str = ""
    #: access_request.spec.creation_time; None reads as Go's zero time.
    creation_time: datetime | None = attrs.field(default=None, converter=_time)
    #: access_request.spec.expiry: when the request resource expires; None reads as zero time.
    expiry: datetime | None = attrs.field(default=None, converter=_time)
    #: user.traits: the requester's traits.
    user_traits: Dict = attrs.field(factory=dict, converter=_dict)
    #: The labels of each requested resource, one map per resource.
    resource_labels: tuple[Mapping[str, str], ...] = attrs.field(default=(), converter=_labels)

    # Derived once, read by every evaluation.
    creation_go_time: GoTime = attrs.field(init=False, repr=False, eq=False)
    expiry_go_time: GoTime = attrs.field(init=False, repr=False, eq=False)
    resource_labels_union: Dict = attrs.field(init=False, repr=False, eq=False)
    resource_labels_intersection: Dict = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        derived = {
            "creation_go_time": GoTime.from_datetime(self.creation_time),
            "expiry_go_time": GoTime.from_datetime(self.expiry),
            "resource_labels_union": labels_union(self.resource_labels),
            "resource_labels_intersection": labels_intersection(self.resource_labels),
        }
        for name, value in derived.items():
            object.__setattr__(self, name, value)

    @classmethod
    def from_access_request(
        cls,
        request: AccessRequest,
        *,
        traits: Mapping[str, Iterable[str]] | None = None,
        resource_labels: Iterable[Mapping[str, str]] = (),
    ) -> Environment:
        """The environment Teleport's plugins build for a request and its requester's traits.

        `creation_time` is the request's `created`; `expiry` is when the request resource
        expires (`resource_expires`: Teleport's `Expiry()`), not when the granted access ends.
        """
        return cls(
            roles=request.roles,
            suggested_reviewers=request.suggested_reviewers,
            system_annotations=request.system_annotations,
            user=request.user,
            request_reason=request.request_reason,
            creation_time=request.created,
            expiry=request.resource_expires,
            user_traits=traits,
            resource_labels=resource_labels,
        )
