"""Every client operation, written once, without I/O, for both the async and the sync client.

An operation is a *plan*: a generator that yields effects (`Send` a request, `Sleep` a while,
`Reauthorize`: renew a refused OAuth token) and receives their results (`ApiResponse` for `Send`;
a `TransportError` is thrown into the generator instead). `AsyncPagerDutyClient` runs plans
with `await`, `PagerDutyClient` with plain calls; retries, pagination, exact lookups, the on-call
check and the duplicate-free incident creation therefore behave identically in both, and are
tested once.

The retry loop (`execute`) asks the pure `decide()` of `pagerduty_client._retry` what to do after
each failure. Requests that are not idempotent (creating an incident or a note) are only repeated
after an ambiguous failure (a 5xx or a lost answer: the request may have been processed) when the
operation supplies a `recover` plan that first checks whether the earlier attempt took effect.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Generator, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal, TypeAlias, TypeVar

import attrs

from pagerduty_client import _requests as rq
from pagerduty_client._exceptions import (
    APIError,
    ConfigurationError,
    InvalidRequest,
    PagerDutyError,
    TransportError,
)
from pagerduty_client._models import (
    OPEN_STATUSES,
    EscalationPolicy,
    Incident,
    Note,
    NotOnCallReason,
    OnCall,
    OnCallCheck,
    OnCallMatch,
    Service,
    User,
)
from pagerduty_client._retry import (
    RETRYABLE_STATUSES,
    RetryPolicy,
    decide,
)
from pagerduty_client._wire import (
    WireFormatError,
    parse_escalation_policy,
    parse_incident,
    parse_note,
    parse_oncall,
    parse_service,
    parse_user,
)

__all__ = ["Context", "Plan", "Reauthorize", "Send", "Sleep"]

log = logging.getLogger("pagerduty_client")

T = TypeVar("T")
R = TypeVar("R")


@attrs.frozen
class Send:
    """Effect: send this request once; the plan receives the `ApiResponse` (any status)."""

    request: rq.ApiRequest


@attrs.frozen
class Sleep:
    """Effect: wait this many seconds (with the client's injected `sleep`)."""

    seconds: float


@attrs.frozen
class Reauthorize:
    """Effect: PagerDuty refused the OAuth token the last `Send` carried (401); get another
    from the token provider (unless another caller already did) before the request is resent."""


Effect: TypeAlias = Send | Sleep | Reauthorize
Plan: TypeAlias = Generator[Effect, Any, T]


@attrs.frozen(kw_only=True)
class Context:
    """What plans need from their client: the retry policy, time, randomness, configuration.

    `oauth`: the credentials are an OAuth token (a 403 then names the scope the operation
    needs). `renewable`: a token provider can replace a refused token (`Reauthorize`).
    """

    policy: RetryPolicy
    clock: Callable[[], float]
    random: Callable[[], float]
    has_from: bool
    oauth: bool = False
    renewable: bool = False


def send(request: rq.ApiRequest) -> Plan[rq.ApiResponse]:
    response = yield Send(request)
    assert isinstance(response, rq.ApiResponse)
    return response


def execute(
    ctx: Context,
    request: rq.ApiRequest,
    *,
    recover: Callable[[], Plan[R | None]] | None = None,
) -> Plan[rq.ApiResponse | R]:
    """Send `request` until it succeeds or the retry policy gives up; return the 2xx answer.

    `recover`, for non-idempotent requests, runs before repeating the request after an ambiguous
    failure; if it finds the effect of an earlier attempt it returns that, and so does `execute`.
    """
    if request.needs_from and not ctx.has_from:
        raise ConfigurationError(
            f"{request.method} {request.template} requires PagerDuty's From header: create the "
            "client with user_email=<the email of a PagerDuty user>"
        )
    started = ctx.clock()
    attempt = 0
    reauthorized = False
    while True:
        attempt += 1
        failure: PagerDutyError
        status: int | None = None
        headers: Mapping[str, str] = {}
        try:
            response = yield from send(request)
        except TransportError as exc:
            failure = exc
        else:
            if response.ok:
                return response
            if response.status < 400:
                failure = rq.unexpected(request, response, "redirects are not expected")
                failure.attempts = attempt
                raise failure
            if response.status == 401 and ctx.renewable and not reauthorized:
                # The token may have been revoked or expired early: renew it, once, and resend.
                # That is not a retry of a failure, so it does not count as an attempt.
                reauthorized = True
                attempt -= 1
                yield Reauthorize()
                continue
            failure = rq.api_error(request, response, oauth=ctx.oauth)
            status, headers = response.status, response.headers
        ambiguous = failure.maybe_processed
        decision = decide(
            ctx.policy,
            attempt=attempt,
            elapsed=ctx.clock() - started,
            status=status,
            headers=headers,
            safe_to_repeat=request.idempotent or not ambiguous or recover is not None,
            random_value=ctx.random(),
        )
        if not decision.retry:
            failure.attempts = attempt
            if attempt > 1 or status is None or status in RETRYABLE_STATUSES:
                log.warning(
                    "PagerDuty %s %s failed, not retrying: %s; %s",
                    request.method,
                    request.template,
                    failure,
                    decision.reason,
                    extra=_log_fields(request, status, attempt),
                )
            raise failure
        log.warning(
            "PagerDuty %s %s attempt %d failed (%s); retrying: %s",
            request.method,
            request.template,
            attempt,
            failure,
            decision.reason,
            extra={**_log_fields(request, status, attempt), "pd_retry_delay": decision.delay},
        )
        yield Sleep(decision.delay)
        if recover is not None and ambiguous:
            found = yield from recover()
            if found is not None:
                log.info(
                    "PagerDuty %s %s: an earlier attempt had succeeded; not repeating it",
                    request.method,
                    request.template,
                    extra=_log_fields(request, status, attempt),
                )
                return found


def _log_fields(request: rq.ApiRequest, status: int | None, attempt: int) -> dict[str, Any]:
    return {
        "pd_method": request.method,
        "pd_path": request.template,
        "pd_status": status,
        "pd_attempt": attempt,
    }


def fetch(ctx: Context, request: rq.ApiRequest, key: str, parse: Callable[[Any], T]) -> Plan[T]:
    """GET one wrapped object (`{"user": {...}}`) and parse it."""
    response = yield from execute(ctx, request)
    assert isinstance(response, rq.ApiResponse)
    return rq.unwrap(request, response, key, parse)


def page(ctx: Context, pager: rq.OffsetPager) -> Plan[list[Any] | None]:
    """The raw items of the pager's next page, or None when the listing is exhausted."""
    request = pager.next_request()
    if request is None:
        return None
    response = yield from execute(ctx, request)
    assert isinstance(response, rq.ApiResponse)
    return pager.feed(request, response)


def collect(ctx: Context, pager: rq.OffsetPager, parse: Callable[[Any], T]) -> Plan[list[T]]:
    """Every item of a listing, all pages, parsed."""
    results: list[T] = []
    while (items := (yield from page(ctx, pager))) is not None:
        results.extend(_parse_items(pager, items, parse))
    return results


def _parse_items(pager: rq.OffsetPager, items: list[Any], parse: Callable[[Any], T]) -> list[T]:
    request = rq.ApiRequest(method="GET", path=pager.path, template=pager.template)
    response = rq.ApiResponse(status=200, headers={}, body={pager.key: items})
    return rq.unwrap_list(request, response, pager.key, parse)


def find_first(
    ctx: Context,
    pager: rq.OffsetPager,
    parse: Callable[[Any], T],
    matches: Callable[[T], bool],
) -> Plan[T | None]:
    """The first item, across all pages, that `matches`; stops reading pages once found."""
    while (items := (yield from page(ctx, pager))) is not None:
        for item in _parse_items(pager, items, parse):
            if matches(item):
                return item
    return None


# --- operations ----------------------------------------------------------------------------------


def abilities(ctx: Context) -> Plan[list[str]]:
    return (yield from fetch(ctx, rq.list_abilities(), "abilities", _strings))


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise WireFormatError("expected a list of strings")
    return [str(item) for item in value]


def has_ability(ctx: Context, name: str) -> Plan[bool]:
    """`GET /abilities/{id}`: 204 when the account has it, 402 when it does not."""
    try:
        yield from execute(ctx, rq.get_ability(name))
    except APIError as exc:
        if exc.status == 402:
            return False
        raise
    return True


#: Lower-cases A-Z only. Email matching must not use Unicode case folding: `str.lower` maps the
#: Kelvin sign (U+212A) to "k", so a PagerDuty user "\u212ate@x" would match requester "kate@x".
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """`text` with ASCII letters lower-cased and every other character unchanged."""
    return text.translate(_ASCII_LOWER)


def find_user_by_email(ctx: Context, email: str) -> Plan[User | None]:
    wanted = ascii_lower(email.strip())
    if not wanted:
        raise ValueError("email must be non-empty")
    pager = rq.users_pager(email.strip())
    return (yield from find_first(ctx, pager, parse_user, lambda u: ascii_lower(u.email) == wanted))


def find_service_by_name(ctx: Context, name: str) -> Plan[Service | None]:
    wanted = name.strip().lower()
    if not wanted:
        raise ValueError("service name must be non-empty")
    pager = rq.services_pager(name.strip())
    return (yield from find_first(ctx, pager, parse_service, lambda s: s.name.lower() == wanted))


def get_user(ctx: Context, user_id: str) -> Plan[User]:
    return (yield from fetch(ctx, rq.get_user(user_id), "user", parse_user))


def get_service(ctx: Context, service_id: str) -> Plan[Service]:
    return (yield from fetch(ctx, rq.get_service(service_id), "service", parse_service))


def get_escalation_policy(ctx: Context, policy_id: str) -> Plan[EscalationPolicy]:
    request = rq.get_escalation_policy(policy_id)
    return (yield from fetch(ctx, request, "escalation_policy", parse_escalation_policy))


def on_call(
    ctx: Context,
    user_id: str,
    escalation_policy_ids: Iterable[str],
    since: datetime | None,
    until: datetime | None,
) -> Plan[list[OnCall]]:
    policy_ids = _unique(_no_bare_string(escalation_policy_ids, "escalation_policy_ids"))
    pager = rq.oncalls_pager([user_id], policy_ids, since, until)
    return (yield from collect(ctx, pager, parse_oncall))


def check_on_call(
    ctx: Context,
    email: str,
    service_names: Iterable[str],
    max_escalation_level: int | None,
) -> Plan[OnCallCheck]:
    names = _unique(_no_bare_string(service_names, "service_names"), key=str.lower)
    user = yield from find_user_by_email(ctx, email)
    if user is None:
        return OnCallCheck(
            email=email, on_call=False, user=None, reason=NotOnCallReason.USER_NOT_FOUND
        )
    services: list[Service] = []
    missing: list[str] = []
    for name in names:
        service = yield from find_service_by_name(ctx, name)
        if service is None:
            missing.append(name)
        elif all(s.id != service.id for s in services):
            services.append(service)
    if not services:
        return OnCallCheck(
            email=email,
            on_call=False,
            user=user,
            missing_services=tuple(missing),
            reason=NotOnCallReason.SERVICES_NOT_FOUND,
        )
    policy_ids = _unique([s.escalation_policy.id for s in services])
    entries = yield from on_call(ctx, user.id, policy_ids, None, None)
    matches = tuple(
        OnCallMatch(
            service=service,
            escalation_policy=entry.escalation_policy,
            escalation_level=entry.escalation_level,
            schedule=entry.schedule,
            start=entry.start,
            end=entry.end,
        )
        for service in services
        for entry in entries
        # Filter again client-side, like the Go plugin: only this user, only these policies.
        if entry.user.id == user.id
        and entry.escalation_policy.id == service.escalation_policy.id
        and (max_escalation_level is None or entry.escalation_level <= max_escalation_level)
    )
    return OnCallCheck(
        email=email,
        on_call=bool(matches),
        user=user,
        services=tuple(services),
        missing_services=tuple(missing),
        matches=matches,
        reason=None if matches else NotOnCallReason.NOT_ON_CALL,
    )


def find_incidents(
    ctx: Context,
    *,
    incident_key: str | None,
    date_range: Literal["all"] | None,
    statuses: Iterable[rq.IncidentStatus] | None,
    service_ids: Iterable[str] | None,
    since: datetime | None,
    until: datetime | None,
) -> Plan[list[Incident]]:
    pager = rq.incidents_pager(
        incident_key=incident_key,
        date_range=date_range,
        statuses=statuses,
        service_ids=service_ids,
        since=since,
        until=until,
    )
    return (yield from collect(ctx, pager, parse_incident))


def _open_incident_with_key(ctx: Context, service_id: str, key: str) -> Plan[Incident | None]:
    """The open incident PagerDuty would de-duplicate a create with this key against, if any."""
    found = yield from find_incidents(
        ctx,
        incident_key=key,
        date_range="all",
        statuses=OPEN_STATUSES,
        service_ids=[service_id],
        since=None,
        until=None,
    )
    return next((i for i in found if i.incident_key == key and i.is_open), None)


def create_incident(
    ctx: Context,
    *,
    service_id: str,
    title: str,
    details: str | None,
    incident_key: str | None,
    urgency: Literal["high", "low"] | None,
) -> Plan[Incident]:
    """Create an incident without ever creating two for one call.

    With an `incident_key`, an ambiguous failure (5xx, lost answer) is followed by a lookup of the
    open incident with that key in the service; only if there is none is the POST repeated. A 400
    (PagerDuty refusing a duplicate open key, e.g. after a lookup that raced the first attempt)
    also triggers the lookup, and the existing incident is returned. Without a key, an ambiguous
    failure is raised, never repeated.
    """
    request = rq.create_incident(
        service_id=service_id,
        title=title,
        details=details,
        incident_key=incident_key,
        urgency=urgency,
    )

    recover: Callable[[], Plan[Incident | None]] | None = None
    if incident_key is not None:
        recover = functools.partial(_open_incident_with_key, ctx, service_id, incident_key)

    try:
        outcome = yield from execute(ctx, request, recover=recover)
    except InvalidRequest:
        if recover is None:
            raise
        existing = yield from recover()
        if existing is None:
            raise
        log.info(
            "PagerDuty already has open incident %s with this incident_key; using it",
            existing.id,
            extra={"pd_incident_id": existing.id},
        )
        return existing
    if isinstance(outcome, Incident):
        return outcome
    return rq.unwrap(request, outcome, "incident", parse_incident)


def add_note(ctx: Context, incident_id: str, content: str) -> Plan[Note]:
    """Add a note; after an ambiguous failure, a note with identical content counts as ours."""
    request = rq.create_note(incident_id, content)

    def recover() -> Plan[Note | None]:
        notes = yield from list_notes(ctx, incident_id)
        return next((n for n in notes if n.content == content), None)

    outcome = yield from execute(ctx, request, recover=recover)
    if isinstance(outcome, Note):
        return outcome
    return rq.unwrap(request, outcome, "note", parse_note)


def list_notes(ctx: Context, incident_id: str) -> Plan[list[Note]]:
    request = rq.list_notes(incident_id)
    response = yield from execute(ctx, request)
    assert isinstance(response, rq.ApiResponse)
    return rq.unwrap_list(request, response, "notes", parse_note)


def get_incident(ctx: Context, incident_id: str) -> Plan[Incident]:
    return (yield from fetch(ctx, rq.get_incident(incident_id), "incident", parse_incident))


def resolve_incident(ctx: Context, incident_id: str, resolution: str | None) -> Plan[Incident]:
    """Resolve; an incident that is already resolved counts as success (returned as it is)."""
    request = rq.resolve_incident(incident_id, resolution)
    try:
        response = yield from execute(ctx, request)
    except APIError as exc:
        # PagerDuty refuses to re-resolve (400, error 1001 "Incident Already Resolved"); rather than
        # trusting the exact wording, look at the incident itself.
        if exc.status not in (400, 409):
            raise
        incident = yield from get_incident(ctx, incident_id)
        if not incident.is_resolved:
            raise
        log.debug(
            "PagerDuty incident %s was already resolved",
            incident_id,
            extra={"pd_incident_id": incident_id},
        )
        return incident
    assert isinstance(response, rq.ApiResponse)
    return rq.unwrap(request, response, "incident", parse_incident)


# --- helpers -------------------------------------------------------------------------------------


def _no_bare_string(values: Iterable[str], name: str) -> Iterable[str]:
    if isinstance(values, str):  # a bare string is a common mistake; never split it into letters
        raise TypeError(f"{name} must be a sequence of strings, got the string {values!r}")
    return values


def _unique(values: Iterable[str], key: Callable[[str], str] = str) -> list[str]:
    seen: set[str] = set()
    result: list[str] = []
    for value in values:
        value = value.strip()
        if value and key(value) not in seen:
            seen.add(key(value))
            result.append(value)
    return result
