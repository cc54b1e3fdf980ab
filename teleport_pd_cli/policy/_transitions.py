"""The compare-and-swap transitions of the plugin data.

Each runs inside a compare-and-swap loop and may run several times against fresher data, so each
is a pure function of `current`. None means "write nothing".
"""

from __future__ import annotations

import attrs

from teleport_access._models import AccessRequest
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag

__all__ = [
    "claim_request",
    "claim_resolution",
    "claim_review_notes",
    "record_incident",
    "release_resolution",
    "release_review_notes",
]


def _request_data(request: AccessRequest) -> PagerDutyData:
    return PagerDutyData(
        user=request.user,
        roles=request.roles,
        created=request.created.replace(microsecond=0) if request.created else None,
        request_reason=request.request_reason,
    )


def claim_request(current: PagerDutyData | None, request: AccessRequest) -> PagerDutyData | None:
    """Create the record (requester, roles, created, reason) unless one exists."""
    if current is not None:
        return None
    return _request_data(request)


def record_incident(
    current: PagerDutyData | None,
    *,
    service_id: str,
    incident_id: str,
    request: AccessRequest | None = None,
) -> PagerDutyData | None:
    """Store the incident, unless one is stored already (the first recorded incident wins)."""
    if current is not None and current.incident_id:
        return None
    base = current
    if base is None:
        base = _request_data(request) if request is not None else PagerDutyData()
    return attrs.evolve(base, service_id=service_id, incident_id=incident_id)


def claim_review_notes(
    current: PagerDutyData | None, reviews_total: int
) -> tuple[PagerDutyData, range] | None:
    """Claim the notes of reviews `reviews_count..reviews_total-1` before posting them.

    None when there is no incident to post to or every review is already claimed.
    """
    if current is None or not current.incident_id or current.reviews_count >= reviews_total:
        return None
    claimed = range(current.reviews_count, reviews_total)
    return attrs.evolve(current, reviews_count=reviews_total), claimed


def release_review_notes(
    current: PagerDutyData | None, claimed: range, first_unposted: int
) -> PagerDutyData | None:
    """Hand back the claimed notes from `first_unposted` on, after posting them failed.

    Only if nobody claimed more since (the count is still `claimed.stop`); otherwise the
    unposted notes stay claimed, since releasing them would re-post a later claimant's notes.
    """
    if current is None or current.reviews_count != claimed.stop:
        return None
    if not claimed.start <= first_unposted < claimed.stop:
        return None
    return attrs.evolve(current, reviews_count=first_unposted)


def claim_resolution(
    current: PagerDutyData | None, tag: ResolutionTag, reason: str
) -> PagerDutyData | None:
    """Record the resolution before resolving, so it happens once. None when there is no
    incident or a resolution is recorded already."""
    if current is None or not current.incident_id or current.resolution.is_resolved:
        return None
    return attrs.evolve(current, resolution=tag, resolve_reason=reason)


def release_resolution(
    current: PagerDutyData | None, tag: ResolutionTag, reason: str
) -> PagerDutyData | None:
    """Forget a claimed resolution whose note or resolve call failed, so it is retried."""
    if current is None or current.resolution != tag or current.resolve_reason != reason:
        return None
    return attrs.evolve(current, resolution=ResolutionTag.UNRESOLVED, resolve_reason="")
