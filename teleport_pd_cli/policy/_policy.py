"""Pure decisions for every access-request event: what to page, note, resolve and approve.

No I/O. The daemon reads the request's plugin data, calls `plan(event, data, settings,
plugin_user=...)`, and carries out the returned steps in order. Every step is safe to repeat: the
daemon may crash half-way, another replica may handle the same request, the same event may come
twice (the watcher replays requests after each reconnect), and events may be seen out of order.
Safety comes from two things: the compare-and-swap transitions below, which the daemon runs
against Teleport's plugin data (each may run several times, so each is a pure function of the
current record), and PagerDuty's `incident_key`, which finds an incident created by a run that
died before recording it. `plan` trusts the request it is given: the daemon should pass the
newest state it knows (a stale PENDING snapshot of a request that is already resolved and was
never paged would open an incident nothing resolves).

How the daemon carries out each step:

* `EnsureIncident`: find the service by name (not found: log and stop); CAS `claim_request`;
  find an incident by `incident_key`, create one only if there is none; CAS `record_incident`.
* `AdoptIncident`: find an incident by `incident_key` only (never create); if found, CAS
  `record_incident`. Used when a request was resolved before its incident id was recorded.
* `PostReviewNotes`: CAS `claim_review_notes(current, len(step.notes))`; post `step.notes[i]`
  for each `i` in the claimed range. Claiming first means each note is posted at most once
  across replicas; if posting finally fails, CAS `release_review_notes` hands the unposted ones
  back so the next event retries them.
* `ResolveIncident`: CAS `claim_resolution`; post `step.note`, then set the incident resolved.
  If that finally fails, CAS `release_resolution` so the next event retries (the note may then
  appear twice; the Go plugin would lose the resolution instead).
* `ConsiderApproval`: find the PagerDuty user by the requester's email and the services named in
  `step.service_names`, list the user's on-call entries in those services' escalation policies,
  call `decide_approval`, and submit an APPROVED review with `Approve.reason`. An error for which
  `is_already_reviewed` is true means another run got there first.
* `Skip`: log `why` (at debug, or warning when `warning` is set). Nothing to do.

Compared with the Go plugin: a failed incident creation is retried (the Go plugin never does);
approval is considered on every event of a pending request that the plugin has not reviewed
yet, not only when its incident was just created; a deleted request is resolved as expired only
when it has an incident and no resolution; `[pagerduty.auto_approval]` limits apply.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TypeAlias

import attrs

from teleport_access._models import (
    AccessRequest,
    AccessRequestDelete,
    AccessRequestPut,
    AccessReview,
    RequestState,
    ServerInfo,
)
from teleport_pd_cli._email import is_exact_email, same_email
from teleport_pd_cli.config import AutoApprovalSettings, PagerDutySettings, RequestAnnotations
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag

__all__ = [
    "INCIDENT_KEY_PREFIX",
    "RESOLUTION_BY_STATE",
    "AdoptIncident",
    "Approve",
    "ConsiderApproval",
    "EnsureIncident",
    "OnCall",
    "PagerDutyService",
    "PagerDutyUser",
    "PolicySettings",
    "PostReviewNotes",
    "ResolveIncident",
    "Skip",
    "Step",
    "approval_reason",
    "approval_service_names",
    "claim_request",
    "claim_resolution",
    "claim_review_notes",
    "decide_approval",
    "format_rfc822",
    "incident_body",
    "incident_key",
    "incident_title",
    "is_already_reviewed",
    "is_exact_email",
    "notify_service_name",
    "plan",
    "precheck_approval",
    "record_incident",
    "release_resolution",
    "release_review_notes",
    "request_id_from_incident_key",
    "request_link",
    "resolution_note",
    "review_note",
    "same_email",
    "web_proxy_url",
]

INCIDENT_KEY_PREFIX = "teleport-access-request"

#: The resolution recorded for each final request state. A deleted request is EXPIRED.
RESOLUTION_BY_STATE: Mapping[RequestState, ResolutionTag] = {
    RequestState.APPROVED: ResolutionTag.APPROVED,
    RequestState.DENIED: ResolutionTag.DENIED,
    RequestState.PROMOTED: ResolutionTag.PROMOTED,
}

#: The tail of Teleport's error when a user reviews a request twice.
_ALREADY_REVIEWED = "has already reviewed this request"


@attrs.frozen(kw_only=True)
class PolicySettings:
    """What the policy needs to know: annotation names, approval limits and the web UI link."""

    annotations: RequestAnnotations = attrs.field(factory=RequestAnnotations)
    auto_approval: AutoApprovalSettings = attrs.field(factory=AutoApprovalSettings)
    #: Base URL of the Teleport web UI, for the link in the incident body; None leaves it out.
    #: Known after Ping (see `web_proxy_url`).
    web_proxy_url: str | None = None

    @classmethod
    def from_config(
        cls, pagerduty: PagerDutySettings, *, web_proxy_url: str | None = None
    ) -> PolicySettings:
        return cls(
            annotations=pagerduty.request_annotations,
            auto_approval=pagerduty.auto_approval,
            web_proxy_url=web_proxy_url,
        )


# -- steps ----------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class EnsureIncident:
    """Make sure the request has an incident in `service_name`: find it by key or create it."""

    service_name: str
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


# -- texts ----------------------------------------------------------------------------------------

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
#: Go's zero time, which the Go plugin prints for an unset timestamp.
_GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def format_rfc822(moment: datetime | None) -> str:
    """Go's `time.RFC822` layout, `02 Jan 06 15:04 MST`, in UTC ("UTC" as the zone)."""
    value = _GO_ZERO_TIME if moment is None else moment
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return (
        f"{value.day:02d} {_MONTHS[value.month - 1]} {value.year % 100:02d} "
        f"{value.hour:02d}:{value.minute:02d} UTC"
    )


def incident_key(request_id: str) -> str:
    """`teleport-access-request/<id>`: PagerDuty de-duplicates and finds incidents by it."""
    return f"{INCIDENT_KEY_PREFIX}/{request_id}"


def request_id_from_incident_key(key: str) -> str | None:
    prefix = f"{INCIDENT_KEY_PREFIX}/"
    if key.startswith(prefix) and len(key) > len(prefix):
        return key[len(prefix) :]
    return None


def incident_title(request: AccessRequest) -> str:
    return f"Access request from {request.user}"


def web_proxy_url(info: ServerInfo) -> str | None:
    """The web UI base URL for request links, as the Go plugin derives it from Ping.

    Only clusters with advanced access workflows (Enterprise) get a link. The address gets
    `https://` when it has no scheme, and an explicit `:443` is dropped from https URLs.
    """
    if not info.advanced_access_workflows or not info.proxy_public_addr:
        return None
    address = info.proxy_public_addr
    if not address.startswith(("https://", "http://")):
        address = f"https://{address}"
    parts = urllib.parse.urlsplit(address)
    netloc = parts.netloc
    if parts.scheme == "https" and netloc.endswith(":443"):
        netloc = netloc[: -len(":443")]
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def request_link(base_url: str, request_id: str) -> str:
    """`<base>/web/requests/<id>`, the id escaped as one path segment (Go's PathEscape)."""
    parts = urllib.parse.urlsplit(base_url)
    path = "/web/requests/" + urllib.parse.quote(request_id, safe="$&+:=@")
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def incident_body(request: AccessRequest, *, web_proxy_url: str | None = None) -> str:
    """The incident details: three lines, each ending in a newline (the last two may be empty)."""
    reason = f"Reason: {request.request_reason}" if request.request_reason else ""
    link = ""
    if web_proxy_url:
        link = (
            f"To approve or deny the request, proceed to {request_link(web_proxy_url, request.id)}"
        )
    return (
        f"{request.user} requested permissions for roles {', '.join(request.roles)} "
        f"on Teleport at {format_rfc822(request.created)}.\n"
        f"{reason}\n"
        f"{link}\n"
    )


def review_note(review: AccessReview) -> str:
    """A review's note: three lines, no trailing newline; note the period after the reason."""
    reason = f"Reason: {review.reason}." if review.reason else ""
    return (
        f"{review.author} reviewed the request at {format_rfc822(review.created)}.\n"
        f"Resolution: {review.proposed_state.name}.\n"
        f"{reason}"
    )


def resolution_note(tag: ResolutionTag, reason: str) -> str:
    """`Access request has been <tag>`, a newline, then `Reason: <reason>` if there is one."""
    return f"Access request has been {tag.value}\n" + (f"Reason: {reason}" if reason else "")


def approval_reason(user: PagerDutyUser, service_names: Sequence[str]) -> str:
    """The reason of the plugin's approving review."""
    return (
        f"Access requested by user {user.name} ({user.email}) who is on call in service(s) "
        f"{','.join(service_names)}"
    )


def is_already_reviewed(message: str) -> bool:
    """Whether a SubmitAccessReview error says this user has reviewed the request already."""
    return message.rstrip().endswith(_ALREADY_REVIEWED)


# -- annotations ----------------------------------------------------------------------------------


def notify_service_name(request: AccessRequest, annotation: str) -> str | Skip:
    """The service to page: the first value of the notify annotation, in its original order."""
    values = request.system_annotations.get(annotation)
    if values is None:
        return Skip(what="notification", why=f"request annotation {annotation} is missing")
    if not values or not values[0]:
        return Skip(
            what="notification", why=f"request annotation {annotation} is present but empty"
        )
    return values[0]


def approval_service_names(request: AccessRequest, annotation: str) -> tuple[str, ...] | Skip:
    """The services whose on-call responders may be approved: sorted, de-duplicated."""
    values = request.system_annotations.get(annotation)
    if values is None:
        return Skip(what="approval", why=f"request annotation {annotation} is missing")
    names = tuple(sorted({value for value in values if value}))
    if not names:
        return Skip(what="approval", why=f"request annotation {annotation} is present but empty")
    return names


# -- compare-and-swap transitions -----------------------------------------------------------------
# Each runs inside a compare-and-swap loop and may run several times against fresher data, so
# each is a pure function of `current`. None means "write nothing".


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


# -- planning -------------------------------------------------------------------------------------


def plan(
    event: AccessRequestPut | AccessRequestDelete,
    data: PagerDutyData | None,
    settings: PolicySettings,
    *,
    plugin_user: str = "",
) -> list[Step]:
    """The steps for one event, given the request's current plugin data.

    `plugin_user` is the plugin's own Teleport user (the author of its reviews); when it is
    empty, a repeated approval is caught by `is_already_reviewed` instead.
    """
    if isinstance(event, AccessRequestDelete):
        return _plan_deleted(event.request_id, data)
    request = event.request
    if request.state.is_pending:
        return _plan_pending(request, data, settings, plugin_user)
    if request.state.is_resolved:
        return _plan_resolved(request, data)
    return [Skip(what="event", why=f"Unknown request state {request.state.name}", warning=True)]


def _notes_step(request: AccessRequest, data: PagerDutyData | None) -> PostReviewNotes | None:
    posted = data.reviews_count if data is not None else 0
    if len(request.reviews) <= posted:
        return None
    return PostReviewNotes(
        notes=tuple(review_note(review) for review in request.reviews),
        why=f"the request has {len(request.reviews)} review(s), {posted} already posted",
    )


def _plan_pending(
    request: AccessRequest, data: PagerDutyData | None, settings: PolicySettings, plugin_user: str
) -> list[Step]:
    if not request.system_annotations:
        return [
            Skip(what="event", why="Cannot proceed further. Request is missing any annotations")
        ]
    steps: list[Step] = []
    service = notify_service_name(request, settings.annotations.notify_service)
    will_have_incident = data is not None and data.has_incident
    if isinstance(service, Skip):
        steps.append(service)
    elif data is None or not (data.has_incident or data.is_resolved):
        steps.append(
            EnsureIncident(
                service_name=service,
                incident_key=incident_key(request.id),
                title=incident_title(request),
                body=incident_body(request, web_proxy_url=settings.web_proxy_url),
                why=(
                    "the request is pending and has no incident yet"
                    if data is None
                    else "the request's plugin data has no incident id (an earlier creation "
                    "failed or was interrupted)"
                ),
            )
        )
        will_have_incident = True
    if will_have_incident:
        notes = _notes_step(request, data)
        if notes is not None:
            steps.append(notes)
    steps.append(precheck_approval(request, settings, plugin_user=plugin_user))
    return steps


def _plan_resolved(request: AccessRequest, data: PagerDutyData | None) -> list[Step]:
    if data is None:
        return [Skip(what="resolution", why="no incident was opened for this request")]
    steps: list[Step] = []
    key = incident_key(request.id)
    if not data.has_incident and not data.is_resolved:
        steps.append(
            AdoptIncident(
                incident_key=key,
                why="the request is resolved but its incident id was never recorded",
            )
        )
    notes = _notes_step(request, data)
    if notes is not None:
        steps.append(notes)
    if data.is_resolved:
        steps.append(
            Skip(what="resolution", why=f"the incident is already {data.resolution.value}")
        )
        return steps
    tag = RESOLUTION_BY_STATE[request.state]
    steps.append(
        ResolveIncident(
            tag=tag,
            reason=request.resolve_reason,
            note=resolution_note(tag, request.resolve_reason),
            why=f"the request is {request.state.name}",
        )
    )
    return steps


def _plan_deleted(request_id: str, data: PagerDutyData | None) -> list[Step]:
    if data is None:
        return [Skip(what="resolution", why="no incident was opened for this request")]
    if data.is_resolved:
        return [Skip(what="resolution", why=f"the incident is already {data.resolution.value}")]
    steps: list[Step] = []
    if not data.has_incident:
        steps.append(
            AdoptIncident(
                incident_key=incident_key(request_id),
                why="the request was deleted but its incident id was never recorded",
            )
        )
    tag = ResolutionTag.EXPIRED
    steps.append(
        ResolveIncident(
            tag=tag,
            reason="",
            note=resolution_note(tag, ""),
            why="the request expired or was deleted",
        )
    )
    return steps


# -- approval -------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class PagerDutyUser:
    """The PagerDuty user found by the requester's email."""

    id: str
    name: str
    email: str


@attrs.frozen(kw_only=True)
class PagerDutyService:
    """A PagerDuty service found by one of the annotated names."""

    id: str
    name: str
    escalation_policy_id: str


@attrs.frozen(kw_only=True)
class OnCall:
    """One current on-call entry: who, in which escalation policy, at which level (1 = first)."""

    user_id: str
    escalation_policy_id: str
    escalation_level: int | None = None


@attrs.frozen(kw_only=True)
class Approve:
    """Submit an APPROVED review with `reason`; `service_names` are where the user is on call."""

    reason: str
    service_names: tuple[str, ...]
    why: str


def precheck_approval(
    request: AccessRequest, settings: PolicySettings, *, plugin_user: str = ""
) -> ConsiderApproval | Skip:
    """The approval checks that need nothing from PagerDuty, cheapest first."""
    if not request.state.is_pending:
        return Skip(what="approval", why=f"the request is {request.state.name}, not PENDING")
    if not settings.auto_approval.enabled:
        return Skip(what="approval", why="auto-approval is disabled in the configuration")
    names = approval_service_names(request, settings.annotations.services)
    if isinstance(names, Skip):
        return names
    if plugin_user and any(review.author == plugin_user for review in request.reviews):
        return Skip(what="approval", why="Already reviewed the request")
    if not is_exact_email(request.user):
        return Skip(
            what="approval", why=f"{request.user!r} does not look like a valid email", warning=True
        )
    if not settings.auto_approval.roles_allowed(request.roles):
        denied = [r for r in request.roles if not settings.auto_approval.role_allowed(r)]
        return Skip(
            what="approval",
            why=f"role(s) {', '.join(denied)} not allowed by approve_roles "
            f"{list(settings.auto_approval.approve_roles)}",
        )
    return ConsiderApproval(
        service_names=names,
        why=f"the request is pending and names on-call service(s) {', '.join(names)}",
    )


def decide_approval(
    request: AccessRequest,
    *,
    pd_user: PagerDutyUser | None,
    services: Sequence[PagerDutyService],
    on_calls: Sequence[OnCall],
    settings: PolicySettings,
    plugin_user: str = "",
) -> Approve | Skip:
    """Approve only a PENDING request whose requester is an exact email, is that PagerDuty user
    (case-insensitive for ASCII letters only), and is on call, at an allowed escalation level,
    in the escalation policy of a service named in the services annotation; and only when every
    requested role is allowed by `approve_roles`.

    `services` are the PagerDuty services found for the annotated names (others are ignored),
    `on_calls` the user's current on-call entries (entries of other users are ignored).
    """
    checked = precheck_approval(request, settings, plugin_user=plugin_user)
    if isinstance(checked, Skip):
        return checked
    if pd_user is None:
        return Skip(what="approval", why="email is not found")
    if not same_email(pd_user.email, request.user):
        return Skip(
            what="approval",
            why=f"PagerDuty user {pd_user.email!r} is not the requester {request.user!r}",
            warning=True,
        )
    # PagerDuty service names are unique regardless of case, as the Go plugin assumes.
    by_name: dict[str, PagerDutyService] = {}
    for service in services:
        if service.escalation_policy_id:
            by_name.setdefault(service.name.lower(), service)
    relevant = [by_name[n.lower()] for n in checked.service_names if n.lower() in by_name]
    if not relevant:
        return Skip(what="approval", why="Failed to find any service", warning=True)
    policies = {service.escalation_policy_id for service in relevant}
    mine = [
        entry
        for entry in on_calls
        if entry.user_id == pd_user.id and entry.escalation_policy_id in policies
    ]
    if not mine:
        return Skip(what="approval", why="user is not on call")
    limits = settings.auto_approval
    allowed = {e.escalation_policy_id for e in mine if limits.level_allowed(e.escalation_level)}
    if not allowed:
        levels = sorted({str(e.escalation_level) for e in mine})
        return Skip(
            what="approval",
            why=f"user is on call only at escalation level(s) {', '.join(levels)}, above "
            f"max_escalation_level {limits.max_escalation_level}",
        )
    names: list[str] = []
    for service in relevant:
        if service.escalation_policy_id in allowed and service.name not in names:
            names.append(service.name)
    return Approve(
        reason=approval_reason(pd_user, names),
        service_names=tuple(names),
        why=f"{pd_user.email} is on call in {', '.join(names)}",
    )
