"""The steps `plan` returns: what to do for one event, each carried out by the daemon."""

from __future__ import annotations

from typing import TypeAlias

import attrs

from teleport_pd_cli.policy.plugindata import ResolutionTag

__all__ = [
    "AdoptIncident",
    "ConsiderApproval",
    "EnsureIncident",
    "PostReviewNotes",
    "ResolveIncident",
    "Skip",
    "Step",
]


@attrs.frozen(kw_only=True)
class EnsureIncident:
    """Make sure the request has an incident in `service_name`: find it by key or create it."""

    service_name: str
    #: What named the service, for messages: "the request annotation pagerduty_notify_service"
    #: or "access monitoring rule(s) db-route".
    routed_by: str
    #: "rule" or "annotation" (`RouteSource`), for the metrics.
    route: str
    #: Only if this run's approval did not approve the request (`page_when_approved = false`;
    #: the ConsiderApproval step comes first then).
    unless_approved: bool = False
    incident_key: str
    title: str
    body: str
    why: str


@attrs.frozen(kw_only=True)
class AdoptIncident:
    """Find an incident created for the request but never recorded; never create one."""

    incident_key: str
    why: str


@attrs.frozen(kw_only=True)
class PostReviewNotes:
    """Post a note for each review not yet posted. `notes[i]` is the note of review `i`; the
    range to post comes from `claim_review_notes`, not from this step."""

    notes: tuple[str, ...]
    why: str


@attrs.frozen(kw_only=True)
class ResolveIncident:
    """Record the resolution, post `note`, and resolve the incident."""

    tag: ResolutionTag
    reason: str
    note: str
    why: str


@attrs.frozen(kw_only=True)
class ConsiderApproval:
    """Check whether the requester is on call for one of these services; approve if so."""

    #: The services named in the request's services annotation, sorted and de-duplicated.
    service_names: tuple[str, ...]
    why: str


@attrs.frozen(kw_only=True)
class Skip:
    """Nothing to do for `what` ("notification", "approval", "resolution", "event"), because
    `why`. `warning` marks what an operator should look at (the Go plugin logs these as
    warnings); the rest are debug-level."""

    what: str
    why: str
    warning: bool = False


Step: TypeAlias = (
    EnsureIncident | AdoptIncident | PostReviewNotes | ResolveIncident | ConsiderApproval | Skip
)
