"""`PagerDutyClient` and `OAuthTokenProvider`: the synchronous twins of `AsyncPagerDutyClient`
and `AsyncOAuthTokenProvider`, on `httpx.Client`.

Generated from `pagerduty_client/_client.py` by `scripts/gen_sync.py`: do not edit. Change
`_client.py` and run `python scripts/gen_sync.py` (a test fails while this file is stale).

Same methods, same arguments, same behaviour: both run the plans of `pagerduty_client._plans`
and `pagerduty_client._oauth`; this module only sends, sleeps, paces and takes its turn with a
lock, without an event loop. For scripts and threads (one client or provider may be shared
between threads).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any, Literal, TypeVar

import httpx

from pagerduty_client import _plans
from pagerduty_client._exceptions import ConfigurationError, PagerDutyError, TransportError
from pagerduty_client._models import (
    EscalationPolicy,
    Incident,
    Note,
    OnCall,
    OnCallCheck,
    Service,
    User,
)
from pagerduty_client._oauth import (
    DEFAULT_RENEW_AFTER,
    DEFAULT_TOKEN_URL,
    AccessToken,
    TokenCache,
    fetch_token,
)
from pagerduty_client._requests import ApiRequest, ApiResponse, IncidentStatus, OffsetPager, Params
from pagerduty_client._retry import RetryPolicy
from pagerduty_client._scopes import CLIENT_SCOPES, Region
from pagerduty_client._transport import (
    DEFAULT_BASE_URL,
    CallObserver,
    ClientCore,
    HttpCore,
    SyncLock,
    SyncSleep,
    TokenCore,
    TokenType,
    Verify,
    now,
)

__all__ = ["OAuthTokenProvider", "PagerDutyClient"]

log = logging.getLogger("pagerduty_client")

T = TypeVar("T")


class _SyncDriver:
    """Carries out a plan's effects on one httpx client: sends (paced, with the provider's token
    when there is one) and sleeps. The client and the token provider each have one."""

    def __init__(
        self,
        core: HttpCore,
        http: httpx.Client,
        sleep: SyncSleep,
        auth: OAuthTokenProvider | None = None,
    ) -> None:
        self.core = core
        self.http = http
        self.sleep = sleep
        self.auth = auth

    def exchange(self, request: ApiRequest, token: AccessToken | None) -> ApiResponse:
        core = self.core
        wait = core.pacing_delay()
        while wait > 0:
            self.sleep(wait)
            # Another call drew a 429 while this one waited for its slot: its hold counts here.
            wait = core.hold_delay()
        http_request = core.build(self.http, request, token)
        started = now()
        try:
            response = self.http.send(http_request)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            elapsed = now() - started
            raise core.translate(request, exc, elapsed, token) from core.cause(exc, token)
        return core.finish(request, response, now() - started)

    def run(self, plan: _plans.Plan[T]) -> T:
        outcome: Any = None
        failure: TransportError | None = None
        sent: ApiRequest | None = None
        token: AccessToken | None = None
        try:
            while True:
                try:
                    effect = plan.send(outcome) if failure is None else plan.throw(failure)
                except StopIteration as stop:
                    return stop.value  # type: ignore[no-any-return]
                outcome = failure = None
                if isinstance(effect, _plans.Sleep):
                    self.core.retrying(sent, effect.seconds)
                    self.sleep(effect.seconds)
                elif isinstance(effect, _plans.Reauthorize):
                    if self.auth is not None:
                        token = self.auth.renew(token)
                else:
                    sent = effect.request
                    if self.auth is not None:
                        # The provider retries the token endpoint itself; what it finally
                        # raises ends this call rather than being retried again here.
                        token = self.auth.token()
                    try:
                        outcome = self.exchange(effect.request, token)
                    except TransportError as exc:
                        failure = exc
        finally:
            plan.close()  # on cancellation, lets the plan's own finally-blocks run


class OAuthTokenProvider:
    """Scoped OAuth access tokens for one PagerDuty app and account.

    Synchronous. Safe to share between threads and clients.

    ::

        auth = OAuthTokenProvider(
            client_id, client_secret, subdomain="acme", region="us",
            scopes=required_scopes(["check_on_call", "create_incident", "add_note"]),
        )
        with PagerDutyClient(auth=auth, user_email="bot@example.com") as pd:
            ...

    - `client_id`, `client_secret`: the app's credentials (PagerDuty: Integrations > App
      Registration, Scoped OAuth). The secret is never shown in a repr, a log line or an
      exception.
    - `subdomain`, `region` ("us" or "eu"): the account, requested as the scope
      `as_account-<region>.<subdomain>`, which PagerDuty requires.
    - `scopes`: the API scopes to request (default: every scope a client method needs; see
      `required_scopes`). PagerDuty grants only those ticked in the app; `token()` says which.
    - `token_url`: PagerDuty's token endpoint (plain http only on loopback, for tests).
    - `renew_after` (0.8): the fraction of a token's lifetime after which a new one is fetched.
    - `timeout`, `retry`: per attempt, and the retry policy for the token endpoint (429, 5xx and
      lost answers are retried like any call). `verify`: TLS verification, as for the client.
    - `transport`, `clock`, `sleep`, `random`, `observer`: as for `PagerDutyClient`.

    A token is fetched on first use, kept, and renewed once `renew_after` of its lifetime has
    passed, or at once when PagerDuty refuses it (401; the client asks for that itself). Callers
    that need a token while one is being fetched wait for that fetch and share its result.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        subdomain: str,
        region: Region = "us",
        scopes: Iterable[str] = CLIENT_SCOPES,
        token_url: str = DEFAULT_TOKEN_URL,
        renew_after: float = DEFAULT_RENEW_AFTER,
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        verify: Verify = True,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: SyncSleep | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        self._core = TokenCore(
            client_id,
            client_secret,
            subdomain=subdomain,
            region=region,
            scopes=scopes,
            token_url=token_url,
            renew_after=renew_after,
            timeout=timeout,
            retry=retry,
            clock=clock,
            random=random,
            observer=observer,
            verify=verify,
        )
        self._transport = transport
        self._sleep = sleep or time.sleep
        self._cache = TokenCache()
        self._lock = SyncLock()
        self._driver: _SyncDriver | None = None

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    @property
    def client_id(self) -> str:
        return self._core.credentials.client_id

    @property
    def scopes(self) -> tuple[str, ...]:
        """The scopes requested, the account scope first."""
        credentials = self._core.credentials
        return (credentials.account_scope, *credentials.scopes)

    @property
    def current(self) -> AccessToken | None:
        """The token held now (it may be due for renewal or expired); None before the first."""
        return self._cache.token

    def token(self) -> AccessToken:
        """A token that is not yet due for renewal: the one held, or a new one."""
        seen = self._cache.fetches
        fresh = self._cache.fresh(self._core.clock())
        if fresh is not None:
            return fresh
        return self._fetch(seen, None)

    def renew(self, rejected: AccessToken | None = None) -> AccessToken:
        """A new token, because PagerDuty refused `rejected` (401). If another caller has
        already replaced it, that replacement is returned without asking again."""
        seen = self._cache.fetches
        fresh = self._cache.fresh(self._core.clock())
        if fresh is not None and rejected is not None and fresh != rejected:
            return fresh
        return self._fetch(seen, rejected)

    def _fetch(self, seen: int, rejected: AccessToken | None) -> AccessToken:
        with self._lock:
            # A fetch that ended while this caller waited for the lock serves it too.
            outcome = self._cache.outcome_since(seen)
            if isinstance(outcome, PagerDutyError):
                return self._cache.fallback(outcome, rejected, self._core.clock())
            if outcome is not None and outcome != rejected:
                return outcome
            core = self._core
            if self._driver is None:
                http = httpx.Client(transport=self._transport, **core.http_options())
                self._driver = _SyncDriver(core, http, self._sleep)
            try:
                token = self._driver.run(fetch_token(core.context, core.credentials))
            except PagerDutyError as exc:
                self._cache.fail(exc)
                fallback = self._cache.fallback(exc, rejected, core.clock())
                log.warning(
                    "PagerDuty OAuth token renewal failed (%s); the current token is valid "
                    "for %.0f s more",
                    exc,
                    fallback.expires_at - core.clock(),
                )
                return fallback
            self._cache.store(token)
            self._report(token)
            return token

    def _report(self, token: AccessToken) -> None:
        credentials = self._core.credentials
        log.info(
            "PagerDuty OAuth token obtained for client %s: scopes %s, expires in %.0f s",
            credentials.client_id,
            " ".join(sorted(token.scopes)),
            token.expires_in,
            extra={"pd_oauth_client_id": credentials.client_id},
        )
        missing = token.missing(self.scopes)
        if missing:
            log.warning(
                "PagerDuty granted the OAuth token without the scopes %s: tick them in the "
                "PagerDuty app (calls that need them get 403)",
                " ".join(sorted(missing)),
                extra={"pd_oauth_client_id": credentials.client_id},
            )

    def __enter__(self) -> OAuthTokenProvider:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections to the token endpoint. A later `token()` opens new ones, so a
        client that closes its provider does not break another client sharing it."""
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.http.close()


class PagerDutyClient:
    """PagerDuty REST API v2 client, synchronous. Safe to share between threads.

    ::

        with PagerDutyClient(api_key, user_email="bot@example.com") as pd:
            check = pd.check_on_call("alice@example.com", ["payments"])

    - `api_key`: a REST API key (`Authorization: Token token=...`), or with
      `token_type="bearer"` an OAuth access token (`Authorization: Bearer ...`). Never shown in a
      repr, a log line or an exception.
    - `auth`: instead of `api_key`, an `OAuthTokenProvider`: every request carries its
      current token, and a 401 makes it renew the token once before the request is resent. A
      403 then names the scope the operation needs. Closing the client closes the provider's
      connections (it reopens them when used again).
    - `base_url`: `https://api.pagerduty.com` (default), `https://api.eu.pagerduty.com` for EU
      accounts, or a test server (plain http only on loopback).
    - `user_email`: the PagerDuty user sent as `From` on the writes that require it (creating
      incidents and notes, resolving). Without it those calls raise `ConfigurationError` before
      sending anything.
    - `timeout`: seconds per HTTP attempt. `retry`: see `RetryPolicy`. `verify`: TLS
      verification (httpx's): True, a CA bundle path (e.g. `FakePagerDuty.ca_file`) or an
      `ssl.SSLContext`.
    - `requests_per_minute`: pace requests client-side (PagerDuty allows 960/min per key); None
      sends at once. Any 429 that says when its window resets holds every request until then.
    - `transport`: an httpx transport, e.g. `FakePagerDuty.sync_transport()` in tests.
    - `clock` (monotonic seconds), `sleep` and `random` (in [0, 1), for jitter) are
      injectable so tests can assert exact waits without waiting.
    - `observer`: called with a `CallAttempt` after every HTTP attempt and a `CallRetry` before
      every retry (for metrics); it must be quick, and what it raises is logged and ignored.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth: OAuthTokenProvider | None = None,
        base_url: str = DEFAULT_BASE_URL,
        user_email: str | None = None,
        token_type: TokenType = "token",
        timeout: float = 10.0,
        retry: RetryPolicy = RetryPolicy(),  # noqa: B008 - frozen, so sharing the default is safe
        requests_per_minute: float | None = None,
        verify: Verify = True,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: SyncSleep | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, OAuthTokenProvider):
            raise ConfigurationError(
                f"auth must be an OAuthTokenProvider, got {type(auth).__name__}"
            )
        self._core = ClientCore(
            api_key,
            has_provider=auth is not None,
            base_url=base_url,
            user_email=user_email,
            token_type=token_type,
            timeout=timeout,
            retry=retry,
            requests_per_minute=requests_per_minute,
            clock=clock,
            random=random,
            observer=observer,
            verify=verify,
        )
        self._auth = auth
        self._ctx = self._core.context
        self._http = httpx.Client(transport=transport, **self._core.http_options())
        self._driver = _SyncDriver(self._core, self._http, sleep or time.sleep, auth)
        self._run = self._driver.run

    def __repr__(self) -> str:
        return self._core.describe(type(self).__name__)

    @property
    def base_url(self) -> str:
        return str(self._core.base_url)

    @property
    def user_email(self) -> str | None:
        return self._core.user_email

    @property
    def auth(self) -> OAuthTokenProvider | None:
        """The token provider, when the client was made with one."""
        return self._auth

    # --- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> PagerDutyClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool (and the token provider's). The client cannot be used
        afterwards."""
        self._http.close()
        if self._auth is not None:
            self._auth.close()

    # --- API -------------------------------------------------------------------------------------

    def abilities(self) -> list[str]:
        """`GET /abilities`: the account's abilities. A cheap credentials health check."""
        return self._run(_plans.abilities(self._ctx))

    def has_ability(self, name: str) -> bool:
        """`GET /abilities/{id}`: whether the account has this ability (e.g. "teams")."""
        return self._run(_plans.has_ability(self._ctx, name))

    def find_user_by_email(self, email: str) -> User | None:
        """The user whose email equals `email` case-insensitively, searching every page of
        PagerDuty's fuzzy `query`; never a near miss. None if there is none."""
        return self._run(_plans.find_user_by_email(self._ctx, email))

    def get_user(self, user_id: str) -> User:
        return self._run(_plans.get_user(self._ctx, user_id))

    def find_service_by_name(self, name: str) -> Service | None:
        """The service whose name equals `name` case-insensitively (every page); None if none."""
        return self._run(_plans.find_service_by_name(self._ctx, name))

    def get_service(self, service_id: str) -> Service:
        return self._run(_plans.get_service(self._ctx, service_id))

    def get_escalation_policy(self, policy_id: str) -> EscalationPolicy:
        return self._run(_plans.get_escalation_policy(self._ctx, policy_id))

    def on_call(
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
        return self._run(plan)

    def check_on_call(
        self,
        email: str,
        service_names: Iterable[str],
        *,
        max_escalation_level: int | None = None,
    ) -> OnCallCheck:
        """Is the user with this email on call now for any of these services (by exact,
        case-insensitive name)? `max_escalation_level` ignores tiers beyond it (1 = first tier)."""
        plan = _plans.check_on_call(self._ctx, email, service_names, max_escalation_level)
        return self._run(plan)

    def create_incident(
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
        return self._run(plan)

    def add_note(self, incident_id: str, content: str) -> Note:
        """`POST /incidents/{id}/notes` (needs `user_email`). After an ambiguous failure, an
        existing note with identical content is taken as ours instead of posting twice."""
        return self._run(_plans.add_note(self._ctx, incident_id, content))

    def resolve_incident(self, incident_id: str, *, resolution: str | None = None) -> Incident:
        """`PUT /incidents/{id}` to "resolved" (needs `user_email`). Already resolved is success."""
        return self._run(_plans.resolve_incident(self._ctx, incident_id, resolution))

    def get_incident(self, incident_id: str) -> Incident:
        return self._run(_plans.get_incident(self._ctx, incident_id))

    def list_notes(self, incident_id: str) -> list[Note]:
        return self._run(_plans.list_notes(self._ctx, incident_id))

    def find_incidents(
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
        return self._run(plan)

    def iterate(
        self, path: str, params: Params | None = None, key: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every item of any classic-paginated listing, fetched a page (100) at a time.

        `key` is the listing's member (default: the path's last segment, e.g. "schedules");
        list values in `params` become repeated `name[]` parameters. Raises
        `PaginationLimitError` rather than stopping silently at PagerDuty's 10,000 cap.
        """
        pager = OffsetPager(path=path, key=key, params=params)
        while (items := self._run(_plans.page(self._ctx, pager))) is not None:
            yield from items
