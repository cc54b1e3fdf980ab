"""The fake PagerDuty's HTTP behaviour, independent of how requests arrive.

`FakeApp.handle(FakeRequest) -> FakeResponse` is the single core behind both front ends (the
in-process httpx transports and the loopback HTTP(S) server). The OAuth token endpoint,
`POST /oauth/token`, is answered by `_identity.FakeIdentity` (after the injected failures of
steps 6 and 8, like any request). Every other request, in order:

1. record it, and check it against the OpenAPI document (violations are recorded);
2. authenticate: `Authorization: Token token=<key>` or `Bearer <token>`, else 401 (2006), also
   for an expired token; a read-only key may only GET (403, 2010), and a token without the
   scope the operation requires (`x-pd-requires-scope`) gets 403 (2010) naming it;
3. `From` on the writes that need it: missing, 400 (2016); not a user of the account, 400 (1008);
4. a strict fake answers a request that violates the document with 400 (2001) naming it; by
   default the fake answers as PagerDuty does, which accepts such requests;
5. the rate limit (fixed window): 429 with `ratelimit-*` headers and `{"code": 2020}`;
6. injected failures that happen *before* processing (queued `fail_next`, random `error_rate`);
7. the route's handler;
8. injected failures *after* processing (the write happened, the client sees a 500 or a dropped
   connection), and the response delay;
9. check the answer against the document.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import unquote

import attrs

from pagerduty_client._scope_table import REQUIRED_SCOPE
from pagerduty_client.testing._identity import FakeIdentity, TokenRefused
from pagerduty_client.testing._openapi import OpenAPIDocument
from pagerduty_client.testing._openapi import load as load_openapi
from pagerduty_client.testing._state import FakeState, IncidentRecord

__all__ = ["FakeApp", "FakeRequest", "FakeResponse", "Faults", "RecordedRequest", "Violation"]

log = logging.getLogger("pagerduty_client.testing")

JSON = dict[str, Any]
T = TypeVar("T")

#: The writes the OpenAPI document marks as requiring `From` (among those the fake implements).
FROM_REQUIRED = frozenset(
    {("POST", "/incidents"), ("PUT", "/incidents/{id}"), ("POST", "/incidents/{id}/notes")}
)
FROM_MISSING = (
    'You must specify a user\'s email address in the "From" header to perform this action'
)
TOKEN_PATH = "/oauth/token"
MAX_NOTES_PER_INCIDENT = 2000
MAX_PAGE = 100
MAX_OFFSET = 10_000


@attrs.frozen
class FakeRequest:
    """A request as the front ends hand it over: header names lower-case, body as bytes."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: bytes = b""


@attrs.frozen
class FakeResponse:
    """The answer. `disconnect`: drop the connection instead of answering (a lost answer)."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    delay: float = 0.0
    disconnect: bool = False


@attrs.frozen(kw_only=True)
class RecordedRequest:
    """One request the fake received, and the status it answered (None: connection dropped).

    `operation` is the matched path template (`/incidents/{id}`, or `/oauth/token`), None for
    unknown routes. `body` is the decoded JSON (or the raw text when it was not JSON, None when
    empty); for a token request, its form fields, with the client secret redacted.
    `headers` (lower-case names) are kept verbatim, Authorization included, but left out of
    the repr.
    """

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: Any
    status: int | None
    operation: str | None
    at: datetime
    #: The answer's headers (x-request-id, ratelimit-*); empty when the connection was dropped.
    response_headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)

    def param(self, name: str) -> str | None:
        """The first value of query parameter `name`."""
        return next((v for k, v in self.query if k == name), None)

    def params(self, name: str) -> list[str]:
        """Every value of a repeated query parameter (`user_ids[]`)."""
        return [v for k, v in self.query if k == name]


@attrs.frozen
class Violation:
    """A departure from PagerDuty's OpenAPI document: by a request (the client's fault) or by
    an answer (the fake's fault)."""

    kind: Literal["request", "response"]
    method: str
    path: str
    message: str


@attrs.define
class Faults:
    """Failure injection, changeable at any time (`fake.faults.error_rate = 0.3`).

    - `rate_limit` requests per `rate_limit_window` seconds (None: unlimited); beyond it, 429.
    - `error_rate`: probability that a request fails with `error_status` *before* it is
      processed (seeded by the fake's `seed`).
    - `error_after_processing_rate`: probability that a request *is* processed, but the client
      gets `error_status` (`after_processing="status"`) or a dropped connection
      (`after_processing="disconnect"`) instead of the answer: the ambiguous failure.
    - `delay`: seconds to wait before answering (after processing).
    """

    rate_limit: int | None = None
    rate_limit_window: float = 60.0
    error_rate: float = 0.0
    error_status: int = 500
    error_after_processing_rate: float = 0.0
    after_processing: Literal["status", "disconnect"] = "status"
    delay: float = 0.0


@attrs.frozen
class _Failure:
    status: int
    after_processing: bool
    disconnect: bool


class _Reject(Exception):
    """A handler's error answer in PagerDuty's shape."""

    def __init__(self, status: int, message: str, code: int, errors: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.errors = list(errors)


def _not_found(what: str = "Not Found") -> _Reject:
    return _Reject(404, "Not Found", 2100, [what] if what != "Not Found" else [])


def _invalid(*errors: str) -> _Reject:
    return _Reject(400, "Invalid Input Provided", 2001, errors)


#: A handler's result: the status and the JSON body (None: no body).
Answer = tuple[int, JSON | None]
Handler = Callable[["FakeApp", FakeRequest, list[str], Any], Answer]


class FakeApp:
    """The core. Thread-safe: one lock around everything, so both front ends may share it."""

    def __init__(
        self,
        state: FakeState,
        *,
        api_keys: Sequence[str],
        read_only_keys: Sequence[str],
        identity: FakeIdentity,
        clock: Callable[[], float],
        openapi_path: Path | None,
        strict: bool,
        seed: int | None,
        on_event: Callable[[str, Any], None],
    ) -> None:
        self.state = state
        self.api_keys = set(api_keys)
        self.read_only_keys = set(read_only_keys)
        self.identity = identity
        self.clock = clock
        self._openapi_path = openapi_path
        self._openapi: OpenAPIDocument | None = None
        self.strict = strict
        self.rng = random.Random(seed)
        self.on_event = on_event
        self.faults = Faults()
        self.requests: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.lock = threading.RLock()
        self._queued: deque[_Failure] = deque()
        self._window_start: float | None = None
        self._window_count = 0

    @property
    def openapi(self) -> OpenAPIDocument | None:
        """The OpenAPI document, loaded on first use (and cached for the process)."""
        if self._openapi is None and self._openapi_path is not None:
            self._openapi = load_openapi(self._openapi_path)
        return self._openapi

    # --- faults ----------------------------------------------------------------------------------

    def reset_faults(self) -> None:
        with self.lock:
            self.faults = Faults()
            self._queued.clear()
            self._window_start, self._window_count = None, 0

    def fail_next(self, times: int, status: int, after_processing: bool, disconnect: bool) -> None:
        with self.lock:
            for _ in range(times):
                self._queued.append(_Failure(status, after_processing, disconnect))

    def _rate_limit(self) -> tuple[bool, list[tuple[str, str]]]:
        """(refused?, the ratelimit-* headers) for a request arriving now."""
        limit = self.faults.rate_limit
        if limit is None:
            return False, []
        window = self.faults.rate_limit_window
        now = self.clock()
        if self._window_start is None or now >= self._window_start + window:
            self._window_start, self._window_count = now, 0
        self._window_count += 1
        reset = max(1, math.ceil(self._window_start + window - now))
        headers = [
            ("ratelimit-limit", str(limit)),
            ("ratelimit-remaining", str(max(0, limit - self._window_count))),
            ("ratelimit-reset", str(reset)),
        ]
        return self._window_count > limit, headers

    def _injected(self, after_processing: bool) -> _Failure | None:
        if self._queued and self._queued[0].after_processing == after_processing:
            return self._queued.popleft()
        faults = self.faults
        if not after_processing and faults.error_rate and self.rng.random() < faults.error_rate:
            return _Failure(faults.error_status, False, False)
        rate = faults.error_after_processing_rate
        if after_processing and rate and self.rng.random() < rate:
            disconnect = faults.after_processing == "disconnect"
            return _Failure(faults.error_status, True, disconnect)
        return None

    # --- the pipeline ----------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        with self.lock:
            if request.method == "POST" and request.path == TOKEN_PATH:
                return self._token_endpoint(request)
            route = _match(request.method, request.path)
            problems = self._check_request(request)
            extra_headers: list[tuple[str, str]] = []
            disconnect = False
            try:
                self._authenticate(request, route)
                if route is not None and (request.method, route[0]) in FROM_REQUIRED:
                    self._check_from(request)
                if problems and self.strict and route is not None:
                    raise _invalid(*(f"OpenAPI: {p}" for p in problems))
                refused, extra_headers = self._rate_limit()
                if refused:
                    raise _Reject(429, "Rate Limit Exceeded", 2020)
                failure = self._injected(after_processing=False)
                if failure is not None:
                    raise _Reject(failure.status, "Internal Server Error", 2000)
                status, body = self._dispatch(request, route)
                failure = self._injected(after_processing=True)
                if failure is not None:
                    disconnect = failure.disconnect
                    raise _Reject(failure.status, "Internal Server Error", 2000)
            except _Reject as reject:
                status, body = reject.status, _error_body(reject)
            payload = json.dumps(body).encode() if body is not None else b""
            self._check_response(request, status, payload)
            headers = (
                ("content-type", "application/json; charset=utf-8"),
                ("x-request-id", uuid.uuid4().hex),
                *extra_headers,
            )
            if not payload:
                headers = headers[1:]
            self._record(
                request,
                route[0] if route else None,
                None if disconnect else status,
                () if disconnect else headers,
            )
            return FakeResponse(
                status=status,
                headers=headers,
                body=payload,
                delay=self.faults.delay,
                disconnect=disconnect,
            )

    def _token_endpoint(self, request: FakeRequest) -> FakeResponse:
        """`POST /oauth/token`: injected failures and delay apply, the API's rate limit not."""
        disconnect = False
        status: int
        body: JSON
        try:
            failure = self._injected(after_processing=False)
            if failure is not None:
                raise _Reject(failure.status, "Internal Server Error", 2000)
            try:
                status, body = (
                    200,
                    self.identity.issue(request.headers.get("content-type", ""), request.body),
                )
            except TokenRefused as refused:
                status, body = refused.status, refused.body()
            failure = self._injected(after_processing=True)
            if failure is not None:
                disconnect = failure.disconnect
                raise _Reject(failure.status, "Internal Server Error", 2000)
        except _Reject as reject:
            status, body = reject.status, _error_body(reject)
        headers = (
            ("content-type", "application/json; charset=utf-8"),
            ("cache-control", "no-store"),
            ("x-request-id", uuid.uuid4().hex),
        )
        recorded = FakeRequest(
            method=request.method,
            path=request.path,
            query=request.query,
            headers=request.headers,
            body=json.dumps(self.identity.redacted_form(request.body)).encode(),
        )
        self._record(
            recorded, TOKEN_PATH, None if disconnect else status, () if disconnect else headers
        )
        return FakeResponse(
            status=status,
            headers=headers,
            body=json.dumps(body).encode(),
            delay=self.faults.delay,
            disconnect=disconnect,
        )

    def _check_request(self, request: FakeRequest) -> list[str]:
        if self.openapi is None:
            return []
        problems = self.openapi.check_request(
            request.method, request.path, request.query, request.headers, request.body
        )
        for problem in problems:
            self.violations.append(Violation("request", request.method, request.path, problem))
            log.log(
                logging.ERROR if self.strict else logging.WARNING,
                "fake PagerDuty: request violates the OpenAPI document: %s",
                problem,
            )
        return problems

    def _check_response(self, request: FakeRequest, status: int, payload: bytes) -> None:
        if self.openapi is None:
            return
        for problem in self.openapi.check_response(request.method, request.path, status, payload):
            self.violations.append(Violation("response", request.method, request.path, problem))
            log.error("fake PagerDuty: answer violates the OpenAPI document: %s", problem)

    def _record(
        self,
        request: FakeRequest,
        operation: str | None,
        status: int | None,
        response_headers: Sequence[tuple[str, str]],
    ) -> None:
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                body = request.body.decode("utf-8", errors="replace")
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                query=request.query,
                headers=dict(request.headers),
                body=body,
                status=status,
                operation=operation,
                at=self.state.now(),
                response_headers=dict(response_headers),
            )
        )

    def _authenticate(self, request: FakeRequest, route: tuple[str, Handler] | None) -> None:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            # An unknown route has no scope to check; it gets its 404 from the dispatcher.
            scope = REQUIRED_SCOPE.get((request.method, route[0])) if route else None
            allowed = self.identity.allows(header[len("Bearer ") :], scope)
            if allowed is None:
                raise _Reject(401, "Authentication failed", 2006)
            if not allowed:
                raise _Reject(
                    403,
                    "Access Denied",
                    2010,
                    [f"The access token does not grant the scope {scope}, which this requires"],
                )
            return
        key = None
        if header.startswith("Token token="):
            candidate = header[len("Token token=") :]
            key = candidate if candidate in self.api_keys | self.read_only_keys else None
        if key is None:
            raise _Reject(401, "Authentication failed", 2006)
        if key in self.read_only_keys and request.method != "GET":
            raise _Reject(403, "Access Denied", 2010, ["This API key is read-only"])

    def _check_from(self, request: FakeRequest) -> None:
        sender = request.headers.get("from")
        if not sender:
            raise _Reject(400, FROM_MISSING, 2016)
        if self.state.user_by_email(sender) is None:
            raise _Reject(400, "Requester User Not Found", 1008, [f"No user with email {sender}"])

    def _requester_id(self, request: FakeRequest) -> str | None:
        user = self.state.user_by_email(request.headers.get("from", ""))
        return user.id if user else None

    def _dispatch(self, request: FakeRequest, route: tuple[str, Handler] | None) -> Answer:
        if route is None:
            known = self.openapi is not None and self.openapi.find(request.method, request.path)
            detail = (
                f"the fake PagerDuty does not implement {request.method} {request.path}"
                if known
                else "Not Found"
            )
            raise _not_found(detail)
        template, handler = route
        ids = _path_ids(template, request.path)
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except ValueError:
                raise _invalid("The request body is not valid JSON") from None
        return handler(self, request, ids, body)

    # --- query helpers ---------------------------------------------------------------------------

    @staticmethod
    def _one(request: FakeRequest, name: str) -> str | None:
        return next((v for k, v in request.query if k == name), None)

    @staticmethod
    def _many(request: FakeRequest, name: str) -> list[str]:
        return [v for k, v in request.query if k == name and v != ""]

    def _time(self, request: FakeRequest, name: str) -> datetime | None:
        value = self._one(request, name)
        if value is None:
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Reject(
                400, "Invalid Input Provided", 2004, [f"Invalid {name}: {value}"]
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)

    def _paginate(
        self, request: FakeRequest, key: str, items: Sequence[T], render: Callable[[T], JSON]
    ) -> JSON:
        """One page of `items`, PagerDuty style; only the page is rendered."""
        try:
            limit = int(self._one(request, "limit") or 25)
            offset = int(self._one(request, "offset") or 0)
        except ValueError:
            raise _invalid("limit and offset must be integers") from None
        if limit < 1 or offset < 0:
            raise _invalid("limit must be positive and offset not negative")
        limit = min(limit, MAX_PAGE)
        if offset + limit > MAX_OFFSET:
            raise _Reject(
                400,
                "Arguments Caused Error",
                2002,
                [f"Offset+limit exceeds maximum allowed value of {MAX_OFFSET}."],
            )
        page = [render(item) for item in items[offset : offset + limit]]
        total = len(items) if self._one(request, "total") == "true" else None
        return {
            key: page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(items),
            "total": total,
        }

    # --- handlers --------------------------------------------------------------------------------

    def get_abilities(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        return 200, {"abilities": list(self.state.abilities)}

    def get_ability(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        if ids[0] in self.state.abilities:
            return 204, None
        raise _Reject(402, "Account does not have the requested ability", 2014, [ids[0]])

    def list_users(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        users = self.state.users_matching(self._one(request, "query"))
        return 200, self._paginate(request, "users", users, self.state.render_user)

    def get_user(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        user = self.state.users.get(ids[0])
        if user is None:
            raise _not_found()
        return 200, {"user": self.state.render_user(user)}

    def list_services(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        services = self.state.services_matching(
            self._one(request, "query"), self._one(request, "name")
        )
        return 200, self._paginate(request, "services", services, self.state.render_service)

    def get_service(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        service = self.state.services.get(ids[0])
        if service is None:
            raise _not_found()
        return 200, {"service": self.state.render_service(service)}

    def list_policies(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        query = (self._one(request, "query") or "").lower()
        user_ids = self._many(request, "user_ids[]")
        policies = [
            p
            for p in sorted(self.state.policies.values(), key=lambda p: (p.name.lower(), p.id))
            if query in p.name.lower()
            and (
                not user_ids
                or any(k == "user" and t in user_ids for r in p.rules for k, t in r.targets)
            )
        ]
        render = self.state.render_policy
        return 200, self._paginate(request, "escalation_policies", policies, render)

    def get_policy(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        policy = self.state.policies.get(ids[0])
        if policy is None:
            raise _not_found()
        return 200, {"escalation_policy": self.state.render_policy(policy)}

    def list_oncalls(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        now = self.state.now()
        since = self._time(request, "since") or now
        until = self._time(request, "until") or now
        if until < since:
            raise _Reject(400, "Invalid Input Provided", 2004, ["until cannot be before since"])
        if until - now > timedelta(days=90):
            raise _invalid("On-call shifts are limited to 90 days in the future")
        entries = self.state.oncalls_matching(
            user_ids=self._many(request, "user_ids[]"),
            policy_ids=self._many(request, "escalation_policy_ids[]"),
            schedule_ids=self._many(request, "schedule_ids[]"),
            since=since,
            until=until,
            earliest=self._one(request, "earliest") == "true",
        )
        return 200, self._paginate(request, "oncalls", entries, self.state.render_oncall)

    def list_incidents(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        since = until = None
        if self._one(request, "date_range") != "all":
            now = self.state.now()
            since = self._time(request, "since")
            until = self._time(request, "until")
            # PagerDuty's default window is one month, and a window may not exceed six.
            if until is None:
                soon = now + timedelta(seconds=1)
                until = soon if since is None else min(since + timedelta(days=30), soon)
            if since is None:
                since = until - timedelta(days=30)
            if until < since:
                raise _Reject(400, "Invalid Input Provided", 2005, ["Invalid query date range"])
            if until - since > timedelta(days=183):
                raise _Reject(400, "Invalid Input Provided", 2005, ["Date range exceeds 6 months"])
        incidents = self.state.incidents_matching(
            incident_key=self._one(request, "incident_key"),
            statuses=self._many(request, "statuses[]"),
            service_ids=self._many(request, "service_ids[]"),
            user_ids=self._many(request, "user_ids[]"),
            urgencies=self._many(request, "urgencies[]"),
            since=since,
            until=until,
        )
        return 200, self._paginate(request, "incidents", incidents, self.state.render_incident)

    def get_incident(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        incident = self.state.incident(ids[0])
        if incident is None:
            raise _not_found()
        return 200, {"incident": self.state.render_incident(incident)}

    def create_incident(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            raise _invalid("incident is required")
        # `incident.type` is required by the document (a strict fake refuses its absence), but
        # PagerDuty creates the incident without it: the Go plugin never sends it.
        title = incident.get("title")
        if not isinstance(title, str) or not title.strip():
            raise _invalid("Title cannot be empty")
        service_ref = incident.get("service")
        service_id = service_ref.get("id") if isinstance(service_ref, dict) else None
        service = self.state.services.get(service_id) if isinstance(service_id, str) else None
        if service is None:
            raise _Reject(400, "Arguments Caused Error", 2002, ["Service not found"])
        urgency = incident.get("urgency", "high")
        if urgency not in ("high", "low"):
            raise _invalid("urgency must be high or low")
        key = incident.get("incident_key")
        if key is not None:
            if not isinstance(key, str):
                raise _invalid("incident_key must be a string")
            duplicate = self.state.incidents_matching(
                incident_key=key,
                statuses=["triggered", "acknowledged"],
                service_ids=[service.id],
                user_ids=[],
                urgencies=[],
                since=None,
                until=None,
            )
            if duplicate:
                raise _Reject(
                    400,
                    "Arguments Caused Error",
                    2002,
                    ["Open incident with matching dedup key already exists on this service"],
                )
        policy_id, assignees = self._routing(incident)
        body_details = incident.get("body")
        details = body_details.get("details") if isinstance(body_details, dict) else None
        record = self.state.create_incident(
            service=service,
            title=title,
            key=key,
            urgency=urgency,
            details=details,
            creator_id=self._requester_id(request),
            policy_id=policy_id,
            assignee_ids=assignees,
        )
        rendered = self.state.render_incident(record)
        self.on_event("incident", rendered)
        return 201, {"incident": rendered}

    def _routing(self, incident: JSON) -> tuple[str | None, list[str] | None]:
        """An explicit escalation_policy or assignments (mutually exclusive, as in PagerDuty)."""
        policy = incident.get("escalation_policy")
        assignments = incident.get("assignments")
        if policy is not None and assignments:
            raise _invalid("Cannot specify both assignments and escalation_policy")
        if isinstance(policy, dict):
            if policy.get("id") not in self.state.policies:
                raise _Reject(400, "Escalation Policy Not Found", 1014)
            return str(policy["id"]), None
        if isinstance(assignments, list) and assignments:
            users = []
            for assignment in assignments:
                assignee = assignment.get("assignee") if isinstance(assignment, dict) else None
                user_id = assignee.get("id") if isinstance(assignee, dict) else None
                if user_id not in self.state.users:
                    raise _Reject(400, "Assigned To User Not Found", 1007)
                users.append(str(user_id))
            return None, users
        return None, None

    def update_incident(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        record = self.state.incident(ids[0])
        if record is None:
            raise _not_found()
        incident = body.get("incident") if isinstance(body, dict) else None
        if not isinstance(incident, dict):
            raise _invalid("incident is required")
        # As for creation, `incident.type` is the document's requirement, not PagerDuty's.
        status = incident.get("status")
        if status is not None and status not in ("triggered", "acknowledged", "resolved"):
            raise _Reject(400, "Invalid Status", 1003)
        if status == "resolved" and record.status == "resolved":
            # PagerDuty's documented error code for re-resolving (the exact live wording of the
            # answer is unverified; clients should not depend on it).
            raise _Reject(400, "Incident Already Resolved", 1001, ["Incident Already Resolved"])
        if isinstance(incident.get("title"), str) and incident["title"].strip():
            record.title = incident["title"]
        if incident.get("urgency") in ("high", "low"):
            record.urgency = incident["urgency"]
        if status is not None:
            resolution = incident.get("resolution")
            self.state.set_status(
                record,
                status,
                self._requester_id(request),
                resolution if isinstance(resolution, str) else None,
            )
        else:
            record.updated_at = self.state.now()
        rendered = self.state.render_incident(record)
        self.on_event("update", rendered)
        return 200, {"incident": rendered}

    def _incident_for_notes(self, incident_id: str) -> IncidentRecord:
        record = self.state.incident(incident_id)
        if record is None:
            raise _not_found()
        return record

    def list_notes(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        record = self._incident_for_notes(ids[0])
        notes = self.state.notes.get(record.id, [])
        return 200, {"notes": [self.state.render_note(n) for n in notes]}

    def create_note(self, request: FakeRequest, ids: list[str], body: Any) -> Answer:
        record = self._incident_for_notes(ids[0])
        note = body.get("note") if isinstance(body, dict) else None
        content = note.get("content") if isinstance(note, dict) else None
        if not isinstance(content, str) or not content.strip():
            raise _invalid("Note content cannot be empty")
        if len(self.state.notes.get(record.id, [])) >= MAX_NOTES_PER_INCIDENT:
            raise _invalid(f"An incident cannot have more than {MAX_NOTES_PER_INCIDENT} notes")
        user_id = self._requester_id(request)
        assert user_id is not None  # _check_from ran
        created = self.state.add_note(record, user_id, content)
        rendered = self.state.render_note(created)
        self.on_event("note", (record.id, rendered))
        # The OpenAPI document lists 200 (not 201) for createIncidentNote.
        return 200, {"note": rendered}


ROUTES: tuple[tuple[str, str, Handler], ...] = (
    ("GET", "/abilities", FakeApp.get_abilities),
    ("GET", "/abilities/{id}", FakeApp.get_ability),
    ("GET", "/users", FakeApp.list_users),
    ("GET", "/users/{id}", FakeApp.get_user),
    ("GET", "/services", FakeApp.list_services),
    ("GET", "/services/{id}", FakeApp.get_service),
    ("GET", "/escalation_policies", FakeApp.list_policies),
    ("GET", "/escalation_policies/{id}", FakeApp.get_policy),
    ("GET", "/oncalls", FakeApp.list_oncalls),
    ("GET", "/incidents", FakeApp.list_incidents),
    ("POST", "/incidents", FakeApp.create_incident),
    ("GET", "/incidents/{id}", FakeApp.get_incident),
    ("PUT", "/incidents/{id}", FakeApp.update_incident),
    ("GET", "/incidents/{id}/notes", FakeApp.list_notes),
    ("POST", "/incidents/{id}/notes", FakeApp.create_note),
)
_ROUTE_TABLE: dict[tuple[str, int], list[tuple[str, list[str], Handler]]] = {}
for _method, _template, _handler in ROUTES:
    _segments = _template.strip("/").split("/")
    _ROUTE_TABLE.setdefault((_method, len(_segments)), []).append((_template, _segments, _handler))


def _match(method: str, path: str) -> tuple[str, Handler] | None:
    segments = path.strip("/").split("/")
    for template, pattern, handler in _ROUTE_TABLE.get((method, len(segments)), []):
        if all(p.startswith("{") or p == s for p, s in zip(pattern, segments, strict=True)):
            return template, handler
    return None


def _path_ids(template: str, path: str) -> list[str]:
    pairs = zip(template.strip("/").split("/"), path.strip("/").split("/"), strict=True)
    return [unquote(s) for p, s in pairs if p.startswith("{")]


def _error_body(reject: _Reject) -> JSON:
    error: JSON = {"message": reject.message, "code": reject.code}
    if reject.errors:
        error["errors"] = reject.errors
    return {"error": error}
