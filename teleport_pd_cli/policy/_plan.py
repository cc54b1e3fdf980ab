"""`plan`: the steps for one access-request event, given the request's plugin data."""

from __future__ import annotations

from collections.abc import Mapping

from teleport_access._models import (
    AccessRequest,
    AccessRequestDelete,
    AccessRequestPut,
    RequestState,
)
from teleport_pd_cli.policy._approval import precheck_approval
from teleport_pd_cli.policy._routing import Route, RouteSource, route_notification
from teleport_pd_cli.policy._settings import PolicySettings
from teleport_pd_cli.policy._steps import (
    AdoptIncident,
    ConsiderApproval,
    EnsureIncident,
    PostReviewNotes,
    ResolveIncident,
    Skip,
    Step,
)
from teleport_pd_cli.policy._texts import (
    incident_body,
    incident_key,
    incident_title,
    resolution_note,
    review_note,
)
from teleport_pd_cli.policy.plugindata import PagerDutyData, ResolutionTag

__all__ = ["RESOLUTION_BY_STATE", "needs_incident", "plan"]

#: The resolution recorded for each final request state. A deleted request is EXPIRED.
RESOLUTION_BY_STATE: Mapping[RequestState, ResolutionTag] = {
    RequestState.APPROVED: ResolutionTag.APPROVED,
    RequestState.DENIED: ResolutionTag.DENIED,
    RequestState.PROMOTED: ResolutionTag.PROMOTED,
}


def plan(
    event: AccessRequestPut | AccessRequestDelete,
    data: PagerDutyData | None,
    settings: PolicySettings,
    *,
    plugin_user: str = "",
    route: Route | None = None,
) -> list[Step]:
    """The steps for one event, given the request's current plugin data.

    `plugin_user` is the plugin's own Teleport user (the author of its reviews); when it is
    empty, a repeated approval is refused by Teleport (`AlreadyReviewed`) instead. `route` is
    where a pending request's incident goes (`route_notification` with the Access Monitoring
    Rules that matched); None routes by the annotation alone.
    """
    if isinstance(event, AccessRequestDelete):
        return _plan_deleted(event.request_id, data)
    request = event.request
    if request.state.is_pending:
        if route is None:
            route = route_notification(request, (), settings.annotations.notify_service)
        return _plan_pending(request, data, settings, plugin_user, route)
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


def needs_incident(data: PagerDutyData | None) -> bool:
    """Whether a pending request with this plugin data still needs its incident (so its route
    matters): no record, or a record without incident and resolution."""
    return data is None or not (data.has_incident or data.is_resolved)


def _plan_pending(
    request: AccessRequest,
    data: PagerDutyData | None,
    settings: PolicySettings,
    plugin_user: str,
    route: Route,
) -> list[Step]:
    wanted = needs_incident(data)
    # As Go, a request without annotations has nothing to act on; unlike Go, a rule's route
    # still pages it (Go returns before it looks at the rules), and an incident opened that way
    # still gets its notes.
    if not request.system_annotations and wanted and route.source is not RouteSource.RULE:
        return [
            Skip(what="event", why="Cannot proceed further. Request is missing any annotations")
        ]
    steps: list[Step] = []
    approval = precheck_approval(request, settings, plugin_user=plugin_user)
    # With page_when_approved = false, the approval is decided first, and the incident opened
    # only if it does not approve the request.
    approve_first = (
        wanted
        and isinstance(approval, ConsiderApproval)
        and not settings.auto_approval.page_when_approved
    )
    if approve_first:
        steps.append(approval)
    will_have_incident = data is not None and data.has_incident
    if wanted and route.service_name is None:
        steps.append(route.skip or Skip(what="notification", why="no service to page"))
    elif wanted and route.service_name is not None:
        steps.append(
            EnsureIncident(
                service_name=route.service_name,
                routed_by=route.routed_by(settings.annotations.notify_service),
                route=route.source.value,
                incident_key=incident_key(request.id),
                title=incident_title(request),
                body=incident_body(request, web_proxy_url=settings.web_proxy_url),
                why=(
                    "the request is pending and has no incident yet"
                    if data is None
                    else "the request's plugin data has no incident id (an earlier creation "
                    "failed or was interrupted)"
                ),
                unless_approved=approve_first,
            )
        )
        will_have_incident = True
    if will_have_incident:
        notes = _notes_step(request, data)
        if notes is not None:
            steps.append(notes)
    if not approve_first:
        steps.append(approval)
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
