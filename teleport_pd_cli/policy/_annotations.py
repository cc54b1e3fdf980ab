"""Reading the request annotations that tell the plugin what to do (names from the config)."""

from __future__ import annotations

from teleport_access._models import AccessRequest
from teleport_pd_cli.policy._steps import Skip

__all__ = ["approval_service_names", "notify_service_name"]


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
