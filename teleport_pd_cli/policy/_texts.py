"""Every text the plugin writes: incident key, title and body, review and resolution notes,
the approval reason, and the request link. Byte-compatible with the Go plugin's."""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from teleport_access._models import AccessRequest, AccessReview, ServerInfo
from teleport_pd_cli.policy.plugindata import ResolutionTag

if TYPE_CHECKING:
    from teleport_pd_cli.policy._approval import PagerDutyUser

__all__ = [
    "INCIDENT_KEY_PREFIX",
    "approval_reason",
    "format_rfc822",
    "incident_body",
    "incident_key",
    "incident_title",
    "request_id_from_incident_key",
    "request_link",
    "resolution_note",
    "review_note",
    "web_proxy_url",
]

INCIDENT_KEY_PREFIX = "teleport-access-request"

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
