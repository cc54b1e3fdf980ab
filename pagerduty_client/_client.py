"""`AsyncPagerDutyClient`: the asyncio PagerDuty REST API v2 client, on `httpx.AsyncClient`.

Every method runs a plan from `pagerduty_client._plans` (where the behaviour lives); this module
only sends, sleeps and paces. It is also the source of the synchronous twin: `_sync.py` is
generated from it by `scripts/gen_sync.py` (unasync), so edit this file and regenerate.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from pagerduty_client import _plans
from pagerduty_client._exceptions import TransportError
from pagerduty_client._models import (
    EscalationPolicy,
    Incident,
    Note,
    OnCall,
    OnCallCheck,
    Service,
    User,
)
from pagerduty_client._requests import ApiRequest, ApiResponse, IncidentStatus, OffsetPager, Params
from pagerduty_client._retry import RetryPolicy
from pagerduty_client._transport import (
    DEFAULT_BASE_URL,
    AsyncSleep,
    CallObserver,
    ClientCore,
    TokenType,
    now,
)

__all__ = ["AsyncPagerDutyClient"]

T = TypeVar("T")


class AsyncPagerDutyClient:
    """PagerDuty REST API v2 client for asyncio. Safe to share between tasks.

    ::

        async with AsyncPagerDutyClient(api_key, user_email="bot@example.com") as pd:
            check = await pd.check_on_call("alice@example.com", ["payments"])

    - `api_key`: a REST API key (`Authorization: Token token=...`), or with
      `token_type="bearer"` an OAuth access token (`Authorization: Bearer ...`). Never shown in a
      repr, a log line or an exception.
    - `base_url`: `https://api.pagerduty.com` (default), `https://api.eu.pagerduty.com` for EU
      accounts, or a test server (plain http only on loopback).
    - `user_email`: the PagerDuty user sent as `From` on the writes that require it (creating
      incidents and notes, resolving). Without it those calls raise `ConfigurationError` before
      sending anything.
    - `timeout`: seconds per HTTP attempt. `retry`: see `RetryPolicy`.
    - `requests_per_minute`: pace requests client-side (PagerDuty allows 960/min per key); None
      sends at once. Any 429 that says when its window resets holds every request until then.
    - `transport`: an httpx transport, e.g. `FakePagerDuty.async_transport()` in tests.
    - `clock` (monotonic seconds), `sleep` (async) and `random` (in [0, 1), for jitter) are
      injectable so tests can assert exact waits without waiting.
    - `observer`: called with a `CallAttempt` after every HTTP attempt and a `CallRetry` before
      every retry (for metrics); it must be quick, and what it raises is logged and ignored.
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        user_email: str | None = None,
        token_type: TokenType = "token",
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        requests_per_minute: float | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: AsyncSleep | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self._core = ClientCore(
            api_key,
            base_url=base_url,
            user_email=user_email,
            token_type=token_type,
            timeout=timeout,
            retry=retry,
            requests_per_minute=requests_per_minute,
            clock=clock,
            random=random,
            observer=observer,
        )
        self._sleep = sleep or asyncio.sleep
        self._ctx = self._core.context
        self._http = httpx.AsyncClient(transport=transport, **self._core.http_options())

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    @property
    def base_url(self) -> str:
        return str(self._core.base_url)

    @property
    def user_email(self) -> str | None:
        return self._core.user_email

    # --- lifecycle -------------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncPagerDutyClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()

    # --- the driver ------------------------------------------------------------------------------

    async def _exchange(self, request: ApiRequest) -> ApiResponse:
        wait = self._core.pacing_delay()
        while wait > 0:
            await self._sleep(wait)
            # Another call drew a 429 while this one waited for its slot: its hold counts here.
            wait = self._core.hold_delay()
        http_request = self._core.build(self._http, request)
        started = now()
        try:
            response = await self._http.send(http_request)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._core.translate(request, exc, now() - started) from self._core.cause(exc)
        return self._core.finish(request, response, now() - started)

    async def _run(self, plan: _plans.Plan[T]) -> T:
        outcome: Any = None
        failure: TransportError | None = None
        sent: ApiRequest | None = None
        try:
            while True:
                try:
                    effect = plan.send(outcome) if failure is None else plan.throw(failure)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                outcome = failure = None
                if isinstance(effect, _plans.Sleep):
                    self._core.retrying(sent, effect.seconds)
                    await self._sleep(effect.seconds)
                else:
                    sent = effect.request
                    try:
                        outcome = await self._exchange(effect.request)
                    except TransportError as exc:
                        failure = exc
        finally:
            plan.close()  # on cancellation, lets the plan's own finally-blocks run

    # --- API -------------------------------------------------------------------------------------

    async def abilities(self) -> list[str]:
        """`GET /abilities`: the account's abilities. A cheap credentials health check."""
        return await self._run(_plans.abilities(self._ctx))

    async def has_ability(self, name: str) -> bool:
        """`GET /abilities/{id}`: whether the account has this ability (e.g. "teams")."""
        return await self._run(_plans.has_ability(self._ctx, name))

    async def find_user_by_email(self, email: str) -> User | None:
        """The user whose email equals `email` case-insensitively, searching every page of
        PagerDuty's fuzzy `query`; never a near miss. None if there is none."""
        return await self._run(_plans.find_user_by_email(self._ctx, email))

    async def get_user(self, user_id: str) -> User:
        return await self._run(_plans.get_user(self._ctx, user_id))

    async def find_service_by_name(self, name: str) -> Service | None:
        """The service whose name equals `name` case-insensitively (every page); None if none."""
        return await self._run(_plans.find_service_by_name(self._ctx, name))

    async def get_service(self, service_id: str) -> Service:
        return await self._run(_plans.get_service(self._ctx, service_id))

    async def get_escalation_policy(self, policy_id: str) -> EscalationPolicy:
        return await self._run(_plans.get_escalation_policy(self._ctx, policy_id))

    async def on_call(
        self,
        user_id: str,
        escalation_policy_ids: Iterable[str],
        *,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[OnCall]:
        """`GET /oncalls` for one user and these escalation policies (empty: any policy), all
        pages. Without since/until PagerDuty answers for "now"; datetimes must be aware."""
        plan = _plans.on_call(self._ctx, user_id, escalation_policy_ids, since, until)
        return await self._run(plan)

    async def check_on_call(
        self,
        email: str,
        service_names: Iterable[str],
        *,
        max_escalation_level: int | None = None,
    ) -> OnCallCheck:
        """Is the user with this email on call now for any of these services (by exact,
        case-insensitive name)? `max_escalation_level` ignores tiers beyond it (1 = first tier)."""
        plan = _plans.check_on_call(self._ctx, email, service_names, max_escalation_level)
        return await self._run(plan)

    async def create_incident(
        self,
        service_id: str,
        title: str,
        details: str | None,
        incident_key: str | None,
        *,
        urgency: Literal["high", "low"] | None = None,
    ) -> Incident:
        """`POST /incidents` (needs `user_email`). Never creates two incidents for one call:
        after an ambiguous failure it looks up the open incident with `incident_key` in the
        service before posting again, and a refused duplicate returns the existing incident."""
        plan = _plans.create_incident(
            self._ctx,
            service_id=service_id,
            title=title,
            details=details,
            incident_key=incident_key,
            urgency=urgency,
        )
        return await self._run(plan)

    async def add_note(self, incident_id: str, content: str) -> Note:
        """`POST /incidents/{id}/notes` (needs `user_email`). After an ambiguous failure, an
        existing note with identical content is taken as ours instead of posting twice."""
        return await self._run(_plans.add_note(self._ctx, incident_id, content))

    async def resolve_incident(
        self, incident_id: str, *, resolution: str | None = None
    ) -> Incident:
        """`PUT /incidents/{id}` to "resolved" (needs `user_email`). Already resolved is success."""
        return await self._run(_plans.resolve_incident(self._ctx, incident_id, resolution))

    async def get_incident(self, incident_id: str) -> Incident:
        return await self._run(_plans.get_incident(self._ctx, incident_id))

    async def list_notes(self, incident_id: str) -> list[Note]:
        return await self._run(_plans.list_notes(self._ctx, incident_id))

    async def find_incidents(
        self,
        *,
        incident_key: str | None = None,
        date_range: Literal["all"] | None = "all",
        statuses: Iterable[IncidentStatus] | None = None,
        service_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[Incident]:
        """`GET /incidents` with these filters, all pages. The default `date_range="all"` looks
        beyond PagerDuty's default one-month window; pass `date_range=None` to use since/until."""
        plan = _plans.find_incidents(
            self._ctx,
            incident_key=incident_key,
            date_range=date_range,
            statuses=statuses,
            service_ids=service_ids,
            since=since,
            until=until,
        )
        return await self._run(plan)

    async def iterate(
        self, path: str, params: Params | None = None, key: str | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of any classic-paginated listing, fetched a page (100) at a time.

        `key` is the listing's member (default: the path's last segment, e.g. "schedules");
        list values in `params` become repeated `name[]` parameters. Raises
        `PaginationLimitError` rather than stopping silently at PagerDuty's 10,000 cap.
        """
        pager = OffsetPager(path=path, key=key, params=params)
        while (items := await self._run(_plans.page(self._ctx, pager))) is not None:
            for item in items:
                yield item
