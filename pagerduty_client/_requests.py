"""The one place that builds PagerDuty requests and interprets PagerDuty answers.

Shared by the async and the sync client (through `pagerduty_client._plans`), so the two cannot
drift. Pure: requests are `ApiRequest` values and answers `ApiResponse` values; only
`pagerduty_client._transport` turns them into httpx objects.

Every request here conforms to PagerDuty's OpenAPI document (`pagerduty-openapi.json`): set
filters use the `[]` names the document declares, incident creation carries `"type": "incident"`,
a resolve is exactly `{"incident": {"type": "incident_reference", "status": "resolved"}}`, and the
operations the document marks as requiring the `From` header say so (`needs_from`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import attrs

from pagerduty_client._exceptions import (
    APIError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaginationLimitError,
    PaymentRequired,
    RateLimited,
    RequestTimeout,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
)
from pagerduty_client._retry import rate_limit_wait
from pagerduty_client._scopes import required_scope
from pagerduty_client._wire import WireFormatError, format_time

__all__ = [
    "MAX_OFFSET",
    "PAGE_LIMIT",
    "ApiRequest",
    "ApiResponse",
    "OffsetPager",
    "Params",
    "api_error",
    "unwrap",
]

T = TypeVar("T")

#: PagerDuty's largest page (`limit`) for classic offset pagination.
PAGE_LIMIT = 100
#: PagerDuty refuses `offset + limit` beyond this (HTTP 400, code 2002).
MAX_OFFSET = 10_000

#: Query parameters as callers write them: lists become repeated `name[]` parameters, booleans
#: `true`/`false`, None values are left out.
Params = Mapping[str, str | int | bool | Sequence[str] | None]


@attrs.frozen(kw_only=True)
class ApiRequest:
    """One HTTP request to PagerDuty, before credentials and base URL are added.

    `path` is concrete (IDs percent-encoded), `template` the documented path with placeholders
    (`/incidents/{id}`), used for logs. `needs_from`: the OpenAPI document requires the `From`
    header. `idempotent`: repeating the request after a lost answer cannot do harm. `form`: a
    form-encoded body instead of JSON (the OAuth token request; it holds the client secret, so
    it is left out of the repr).
    """

    method: str
    path: str
    template: str
    params: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = None
    form: tuple[tuple[str, str], ...] | None = attrs.field(default=None, repr=False)
    needs_from: bool = False
    idempotent: bool = True


@attrs.frozen(kw_only=True)
class ApiResponse:
    """PagerDuty's answer: status, headers (lower-case names), decoded JSON body (None when the
    body was empty or not JSON; `text` then holds its first bytes for error messages)."""

    status: int
    headers: Mapping[str, str]
    body: Any
    text: str = ""
    request_id: str | None = None
    elapsed: float = 0.0

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def _segment(value: str) -> str:
    """A path segment from a caller-supplied ID: never lets `../` or `?` change the URL."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"an ID must be a non-empty string, got {value!r}")
    return quote(value, safe="")


def encode_params(params: Params | None) -> tuple[tuple[str, str], ...]:
    """Caller-style parameters -> the repeated `(name, value)` pairs of a query string."""
    pairs: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            pairs.append((name, "true" if value else "false"))
        elif isinstance(value, str | int):
            pairs.append((name, str(value)))
        else:
            list_name = name if name.endswith("[]") else f"{name}[]"
            pairs.extend((list_name, str(item)) for item in value)
    return tuple(pairs)


# --- requests ------------------------------------------------------------------------------------


def get(template: str, *ids: str, params: Params | None = None) -> ApiRequest:
    path = template
    for value in ids:
        path = path.replace("{id}", _segment(value), 1)
    return ApiRequest(method="GET", path=path, template=template, params=encode_params(params))


def list_abilities() -> ApiRequest:
    return get("/abilities")


def get_ability(name: str) -> ApiRequest:
    return get("/abilities/{id}", name)


def get_user(user_id: str) -> ApiRequest:
    return get("/users/{id}", user_id)


def get_service(service_id: str) -> ApiRequest:
    return get("/services/{id}", service_id)


def get_escalation_policy(policy_id: str) -> ApiRequest:
    return get("/escalation_policies/{id}", policy_id)


def get_incident(incident_id: str) -> ApiRequest:
    return get("/incidents/{id}", incident_id)


def list_notes(incident_id: str) -> ApiRequest:
    return get("/incidents/{id}/notes", incident_id)


def users_pager(query: str) -> OffsetPager:
    return OffsetPager(path="/users", key="users", params={"query": query})


def services_pager(query: str) -> OffsetPager:
    return OffsetPager(path="/services", key="services", params={"query": query})


def oncalls_pager(
    user_ids: Sequence[str],
    escalation_policy_ids: Sequence[str],
    since: datetime | None,
    until: datetime | None,
) -> OffsetPager:
    return OffsetPager(
        path="/oncalls",
        key="oncalls",
        params={
            "user_ids[]": list(user_ids) or None,
            "escalation_policy_ids[]": list(escalation_policy_ids) or None,
            "since": format_time(since) if since is not None else None,
            "until": format_time(until) if until is not None else None,
        },
    )


IncidentStatus = Literal["triggered", "acknowledged", "resolved"]


def incidents_pager(
    *,
    incident_key: str | None,
    date_range: Literal["all"] | None,
    statuses: Iterable[IncidentStatus] | None,
    service_ids: Iterable[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> OffsetPager:
    if date_range is not None and (since is not None or until is not None):
        raise ValueError('date_range="all" ignores since/until; pass date_range=None with them')
    return OffsetPager(
        path="/incidents",
        key="incidents",
        params={
            "incident_key": incident_key,
            "date_range": date_range,
            "statuses[]": list(statuses) if statuses is not None else None,
            "service_ids[]": list(service_ids) if service_ids is not None else None,
            "since": format_time(since) if since is not None else None,
            "until": format_time(until) if until is not None else None,
        },
    )


def create_incident(
    *,
    service_id: str,
    title: str,
    details: str | None,
    incident_key: str | None,
    urgency: Literal["high", "low"] | None,
) -> ApiRequest:
    if not title:
        raise ValueError("an incident needs a non-empty title")
    incident: dict[str, Any] = {
        "type": "incident",
        "title": title,
        "service": {"id": service_id, "type": "service_reference"},
    }
    if urgency is not None:
        if urgency not in ("high", "low"):
            raise ValueError(f'urgency must be "high" or "low", got {urgency!r}')
        incident["urgency"] = urgency
    if details is not None:
        incident["body"] = {"type": "incident_body", "details": details}
    if incident_key is not None:
        incident["incident_key"] = incident_key
    return ApiRequest(
        method="POST",
        path="/incidents",
        template="/incidents",
        body={"incident": incident},
        needs_from=True,
        idempotent=False,
    )


def resolve_incident(incident_id: str, resolution: str | None) -> ApiRequest:
    incident: dict[str, Any] = {"type": "incident_reference", "status": "resolved"}
    if resolution is not None:
        incident["resolution"] = resolution
    return ApiRequest(
        method="PUT",
        path=f"/incidents/{_segment(incident_id)}",
        template="/incidents/{id}",
        body={"incident": incident},
        needs_from=True,
        idempotent=True,  # resolving twice leaves the same state
    )


def create_note(incident_id: str, content: str) -> ApiRequest:
    if not content:
        raise ValueError("a note needs non-empty content")
    return ApiRequest(
        method="POST",
        path=f"/incidents/{_segment(incident_id)}/notes",
        template="/incidents/{id}/notes",
        body={"note": {"content": content}},
        needs_from=True,
        idempotent=False,
    )


# --- answers -------------------------------------------------------------------------------------

_ERROR_CLASSES: Mapping[int, type[APIError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    408: RequestTimeout,
    409: Conflict,
    429: RateLimited,
}


def _error_class(status: int) -> type[APIError]:
    if status >= 500:
        return ServerError
    return _ERROR_CLASSES.get(status, APIError)


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    try:
        return int(headers[name])
    except (KeyError, ValueError):
        return None


def api_error(request: ApiRequest, response: ApiResponse, *, oauth: bool = False) -> APIError:
    """The typed exception for an error answer, with PagerDuty's code, message and details.

    A 403 carries the scope the operation needs (`Forbidden.required_scope`); when the request
    was made with an OAuth token (`oauth`), the message names that scope as well.
    """
    error = response.body.get("error") if isinstance(response.body, Mapping) else None
    code = message = None
    details: list[str] = []
    if isinstance(error, Mapping):
        code = error.get("code") if isinstance(error.get("code"), int) else None
        message = error.get("message") if isinstance(error.get("message"), str) else None
        if isinstance(error.get("errors"), list):
            details = [str(item) for item in error["errors"]]
    text = f"{request.method} {request.template}: HTTP {response.status}"
    if code is not None:
        text += f", PagerDuty error {code}"
    if message:
        text += f": {message}"
    elif not isinstance(error, Mapping) and response.text:
        text += f": {response.text[:200]}"
    if details:
        text += f" ({'; '.join(details)})"
    if response.request_id:
        text += f" [x-request-id {response.request_id}]"
    scope = required_scope(request.method, request.template) if response.status == 403 else None
    if scope is not None and oauth:
        text += (
            f"; the OAuth token needs the scope {scope} for this operation: tick it in the "
            "PagerDuty app's scopes and request it"
        )
    cls = _error_class(response.status)
    common: dict[str, Any] = {
        "status": response.status,
        "code": code,
        "error_message": message,
        "errors": details,
        "request_id": response.request_id,
        "method": request.method,
        "path": request.template,
        "body": response.body if isinstance(response.body, Mapping) else None,
    }
    if cls is RateLimited:
        wait = rate_limit_wait(response.headers)
        return RateLimited(
            text,
            limit=_int_header(response.headers, "ratelimit-limit"),
            remaining=_int_header(response.headers, "ratelimit-remaining"),
            reset=wait[0] if wait else None,
            **common,
        )
    if cls is Forbidden:
        return Forbidden(text, required_scope=scope, **common)
    return cls(text, **common)


def unexpected(request: ApiRequest, response: ApiResponse, problem: str) -> UnexpectedResponse:
    text = f"{request.method} {request.template}: HTTP {response.status}: {problem}"
    if response.request_id:
        text += f" [x-request-id {response.request_id}]"
    return UnexpectedResponse(
        text,
        status=response.status,
        request_id=response.request_id,
        method=request.method,
        path=request.template,
    )


def unwrap(request: ApiRequest, response: ApiResponse, key: str, parse: Callable[[Any], T]) -> T:
    """The `key` member of a success answer, parsed into a model."""
    body = response.body
    if not isinstance(body, Mapping) or key not in body:
        raise unexpected(request, response, f"the answer has no {key!r} member")
    try:
        return parse(body[key])
    except WireFormatError as exc:
        raise unexpected(request, response, str(exc)) from exc


def unwrap_list(
    request: ApiRequest, response: ApiResponse, key: str, parse: Callable[[Any], T]
) -> list[T]:
    items = unwrap(request, response, key, _as_list)
    try:
        return [parse(item) for item in items]
    except WireFormatError as exc:
        raise unexpected(request, response, str(exc)) from exc


def _as_list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise WireFormatError(f"expected a JSON array, got {type(value).__name__}")
    return value


# --- pagination ----------------------------------------------------------------------------------


def _int_param(value: object, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"{name} must be an integer, got {value!r}")


class OffsetPager:
    """Walks a classic (offset/limit/more) PagerDuty listing one page at a time.

    Pure state machine: `next_request()` gives the next page's request (None when done) and
    `feed(response)` takes its answer and returns the page's items. The offset advances by the
    number of items actually returned, not by the echoed limit, so a server that caps `limit`
    cannot make us skip records. PagerDuty refuses offset + limit > 10,000; the pager shrinks the
    last page to fit and raises `PaginationLimitError` rather than silently stopping there.
    """

    __slots__ = ("_base_params", "done", "key", "limit", "offset", "path", "template")

    def __init__(
        self,
        *,
        path: str,
        key: str | None = None,
        params: Params | None = None,
        limit: int = PAGE_LIMIT,
        template: str | None = None,
    ) -> None:
        given = dict(params or {})
        start = _int_param(given.pop("offset", None), "offset")
        start = 0 if start is None else start
        given_limit = _int_param(given.pop("limit", None), "limit")
        limit = limit if given_limit is None else given_limit
        if not 1 <= limit <= PAGE_LIMIT:
            raise ValueError(f"limit must be between 1 and {PAGE_LIMIT}, got {limit!r}")
        if start < 0:
            raise ValueError(f"offset must not be negative, got {start!r}")
        self.path = path
        self.template = template or path
        self.key = key or path.rstrip("/").rsplit("/", 1)[-1]
        self._base_params = encode_params(given)
        self.limit = limit
        self.offset = start
        self.done = False

    def next_request(self) -> ApiRequest | None:
        if self.done:
            return None
        if self.offset >= MAX_OFFSET:
            raise PaginationLimitError(
                f"GET {self.template}: the listing has more than {MAX_OFFSET} results, the most "
                "PagerDuty pages through (offset + limit <= 10000); narrow the query with filters",
                path=self.template,
                offset=self.offset,
            )
        limit = min(self.limit, MAX_OFFSET - self.offset)
        params = (*self._base_params, ("limit", str(limit)), ("offset", str(self.offset)))
        return ApiRequest(method="GET", path=self.path, template=self.template, params=params)

    def feed(self, request: ApiRequest, response: ApiResponse) -> list[Any]:
        """The raw JSON items of one page; advances the offset and notices the last page."""
        items = unwrap(request, response, self.key, _as_list)
        more = response.body.get("more")
        self.offset += len(items)
        # `more` missing means an unpaginated answer; an empty page ends it too (no endless loop).
        if more is not True or not items:
            self.done = True
        return items
