"""`FakePagerDuty`: the public face of the fake: seeding, inspection, faults, front ends."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import attrs

from pagerduty_client._client import AsyncOAuthTokenProvider, AsyncPagerDutyClient
from pagerduty_client._models import (
    EscalationPolicy,
    Incident,
    Note,
    OnCall,
    Reference,
    Service,
    User,
)
from pagerduty_client._scopes import Region
from pagerduty_client._sync import OAuthTokenProvider, PagerDutyClient
from pagerduty_client._wire import (
    parse_escalation_policy,
    parse_incident,
    parse_note,
    parse_oncall,
    parse_reference,
    parse_service,
    parse_user,
)
from pagerduty_client.testing import _openapi
from pagerduty_client.testing._app import TOKEN_PATH, FakeApp, Faults, RecordedRequest, Violation
from pagerduty_client.testing._identity import FakeIdentity, OAuthApp
from pagerduty_client.testing._mailbox import Mailbox
from pagerduty_client.testing._server import LoopbackServer, ThreadedServer
from pagerduty_client.testing._state import (
    FakeState,
    OnCallRecord,
    PolicyRecord,
    RuleRecord,
    ScheduleRecord,
    ServiceRecord,
    UserRecord,
)
from pagerduty_client.testing._tls import TestCA
from pagerduty_client.testing._transports import FakeAsyncTransport, FakeSyncTransport

__all__ = ["FakePagerDuty", "NewNote"]

#: A rule target for `add_escalation_policy`: a user, a schedule reference, or either's ID.
Target = User | Reference | str


@attrs.frozen
class NewNote:
    """What `next_note()` returns: the note and the incident it was added to."""

    incident_id: str
    note: Note


def _lifetime(seconds: float) -> float:
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not seconds > 0:
        raise ValueError(f"token_lifetime must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def _aware(value: datetime | None, name: str) -> datetime | None:
    if value is not None and value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


class FakePagerDuty:
    """A stateful fake of the PagerDuty REST API v2, faithful where a client can notice.

    ::

        fake = FakePagerDuty()
        bot = fake.add_user("Access Bot", "bot@example.com")
        alice = fake.add_user("Alice", "alice@example.com")
        policy = fake.add_escalation_policy("Ops", rules=[[alice]])
        fake.add_service("payments", policy)
        async with fake.client(user_email=bot.email) as pd:
            assert (await pd.check_on_call("alice@example.com", ["payments"])).on_call

    - `api_key` / `read_only_api_keys`: the API keys it accepts (`Token token=...`);
      `oauth_tokens`: bearer tokens with every scope that never expire. Tokens issued by its
      token endpoint (`add_oauth_client`) are accepted too; anything else gets 401.
    - `openapi`: the OpenAPI document to check requests and answers against: a path, None
      (find it: `$PAGERDUTY_OPENAPI`, else `shared/pagerduty-openapi.json` up from the working
      directory or this package; skipped if absent), True (find it, or fail) or False (off).
    - `strict`: answer a request that departs from the document with 400 naming the departure.
      By default (False) the fake answers as PagerDuty does, which accepts such requests;
      either way the departure lands in `violations` and fails `assert_no_violations()`.
    - `seed`: seeds the random failures. `clock` (monotonic seconds, for rate-limit windows and
      token expiry) and `now` (aware wall time, for timestamps and on-call "now"): share a
      `FakeClock` with the client to test waits without waiting.
    - `api_url`: what `self` fields point at. `subdomain` and `region` ("us" or "eu"): the
      account, for `html_url` fields and the OAuth account scope (`as_account-us.tpd-fake`).
    - `token_lifetime`: seconds an issued OAuth token lives (settable later, too).
    """

    def __init__(
        self,
        *,
        api_key: str = "test-api-key",
        read_only_api_keys: Sequence[str] = (),
        oauth_tokens: Sequence[str] = (),
        openapi: str | os.PathLike[str] | bool | None = None,
        strict: bool = False,
        seed: int | None = 0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        api_url: str = "https://api.pagerduty.com",
        subdomain: str = "tpd-fake",
        region: Region = "us",
        token_lifetime: float = 3600.0,
    ) -> None:
        if not isinstance(strict, bool):
            raise TypeError(f"strict must be True or False, got {strict!r}")
        self.api_key = api_key
        self.openapi_path = self._find_openapi(openapi)
        self._state = FakeState(now=now, api_url=api_url, subdomain=subdomain)
        self._identity = FakeIdentity(
            subdomain=subdomain, region=region, clock=clock, lifetime=_lifetime(token_lifetime)
        )
        self._identity.static_tokens.update(oauth_tokens)
        self._tls: TestCA | None = None
        self._incidents: Mailbox[Incident] = Mailbox("new incident")
        self._updates: Mailbox[Incident] = Mailbox("incident update")
        self._notes: Mailbox[NewNote] = Mailbox("new note")
        self._app = FakeApp(
            self._state,
            api_keys=[api_key],
            read_only_keys=read_only_api_keys,
            identity=self._identity,
            clock=clock,
            openapi_path=self.openapi_path,
            strict=strict,
            seed=seed,
            on_event=self._event,
        )
        self._threaded = ThreadedServer(self._app)

    @property
    def strict(self) -> bool:
        """Whether a request that departs from the OpenAPI document is refused (400)."""
        return self._app.strict

    @strict.setter
    def strict(self, value: bool) -> None:
        self._app.strict = bool(value)

    @staticmethod
    def _find_openapi(openapi: str | os.PathLike[str] | bool | None) -> Path | None:
        if openapi is False:
            return None
        if openapi is None or openapi is True:
            found = _openapi.discover()
            if found is None and openapi is True:
                raise FileNotFoundError(
                    f"PagerDuty's OpenAPI document was not found: set ${_openapi.ENV_VAR} or put "
                    f"it at shared/{_openapi.DOCUMENT_NAME} above the working directory"
                )
            return found
        path = Path(openapi).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"PagerDuty's OpenAPI document {path} is not a file")
        return path

    def __repr__(self) -> str:
        state = self._state
        return (
            f"FakePagerDuty(users={len(state.users)}, services={len(state.services)}, "
            f"incidents={len(state.incidents)}, requests={len(self._app.requests)}, "
            f"openapi={str(self.openapi_path) if self.openapi_path else None!r})"
        )

    def _event(self, kind: str, payload: Any) -> None:
        if kind == "incident":
            self._incidents.put(parse_incident(payload))
        elif kind == "update":
            self._updates.put(parse_incident(payload))
        elif kind == "note":
            incident_id, note = payload
            self._notes.put(NewNote(incident_id, parse_note(note)))

    # --- seeding ---------------------------------------------------------------------------------

    def add_user(
        self,
        name: str,
        email: str,
        *,
        role: str = "user",
        time_zone: str = "Etc/UTC",
        job_title: str | None = None,
        id: str | None = None,
    ) -> User:
        """A user of the account. Writes need a `From` that is one of these users' emails."""
        with self._app.lock:
            record = UserRecord(
                id=id or self._state.new_id("U"),
                name=name,
                email=email,
                role=role,
                time_zone=time_zone,
                job_title=job_title,
            )
            self._state.users[record.id] = record
            return parse_user(self._state.render_user(record))

    def add_schedule(self, name: str, *, id: str | None = None) -> Reference:
        """A schedule, to be a rule target and the source of `add_on_call(schedule=...)` entries."""
        with self._app.lock:
            record = ScheduleRecord(id=id or self._state.new_id("C"), name=name)
            self._state.schedules[record.id] = record
            return parse_reference(self._state.schedule_ref(record.id))

    def _target(self, target: Target) -> tuple[str, str]:
        target_id = target if isinstance(target, str) else target.id
        if isinstance(target, Reference) and target.type.startswith("schedule"):
            kind = "schedule"
        elif isinstance(target, User | Reference) or target_id in self._state.users:
            kind = "user"
        elif target_id in self._state.schedules:
            kind = "schedule"
        else:
            raise KeyError(f"no user or schedule with ID {target_id!r}")
        table: dict[str, Any] = self._state.users if kind == "user" else self._state.schedules
        if target_id not in table:
            raise KeyError(f"no {kind} with ID {target_id!r}")
        return kind, target_id

    def add_escalation_policy(
        self,
        name: str,
        rules: Sequence[Sequence[Target]] = (),
        *,
        escalation_delay_in_minutes: int = 30,
        num_loops: int = 0,
        description: str | None = None,
        id: str | None = None,
    ) -> EscalationPolicy:
        """A policy whose tiers are `rules`, each a list of targets (users or schedules).

        A user targeted directly is permanently on call at that tier (level = position, from 1),
        as in PagerDuty; schedule targets need `add_on_call(..., schedule=...)` entries.
        """
        with self._app.lock:
            record = PolicyRecord(
                id=id or self._state.new_id("E"),
                name=name,
                rules=[
                    RuleRecord(
                        id=self._state.new_id("R"),
                        escalation_delay_in_minutes=escalation_delay_in_minutes,
                        targets=[self._target(t) for t in targets],
                    )
                    for targets in rules
                ],
                num_loops=num_loops,
                description=description,
            )
            self._state.policies[record.id] = record
            return parse_escalation_policy(self._state.render_policy(record))

    def add_service(
        self,
        name: str,
        escalation_policy: EscalationPolicy | str,
        *,
        description: str | None = None,
        id: str | None = None,
    ) -> Service:
        with self._app.lock:
            policy_id = (
                escalation_policy if isinstance(escalation_policy, str) else escalation_policy.id
            )
            if policy_id not in self._state.policies:
                raise KeyError(f"no escalation policy with ID {policy_id!r}")
            record = ServiceRecord(
                id=id or self._state.new_id("S"),
                name=name,
                policy_id=policy_id,
                created_at=self._state.now(),
                description=description,
            )
            self._state.services[record.id] = record
            return parse_service(self._state.render_service(record))

    def add_on_call(
        self,
        user: User | str,
        escalation_policy: EscalationPolicy | str,
        *,
        level: int = 1,
        schedule: Reference | str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> OnCall:
        """An on-call entry: `user` on call for the policy at `level`, via `schedule` (None:
        a direct target), from `start` to `end` (None: unbounded)."""
        with self._app.lock:
            user_id = user if isinstance(user, str) else user.id
            policy_id = (
                escalation_policy if isinstance(escalation_policy, str) else escalation_policy.id
            )
            schedule_id = schedule if isinstance(schedule, str | None) else schedule.id
            if user_id not in self._state.users:
                raise KeyError(f"no user with ID {user_id!r}")
            if policy_id not in self._state.policies:
                raise KeyError(f"no escalation policy with ID {policy_id!r}")
            if schedule_id is not None and schedule_id not in self._state.schedules:
                raise KeyError(f"no schedule with ID {schedule_id!r}")
            if level < 1:
                raise ValueError(f"escalation levels start at 1, got {level!r}")
            record = OnCallRecord(
                user_id=user_id,
                policy_id=policy_id,
                level=level,
                schedule_id=schedule_id,
                start=_aware(start, "start"),
                end=_aware(end, "end"),
            )
            self._state.oncalls.append(record)
            return parse_oncall(self._state.render_oncall(record))

    def add_incident(
        self,
        service: Service | str,
        title: str,
        *,
        incident_key: str | None = None,
        status: Literal["triggered", "acknowledged", "resolved"] = "triggered",
        urgency: Literal["high", "low"] = "high",
        details: Any = None,
        created_at: datetime | None = None,
    ) -> Incident:
        """An incident that already exists (no `next_incident()` event, no duplicate check)."""
        with self._app.lock:
            service_id = service if isinstance(service, str) else service.id
            record = self._state.services.get(service_id)
            if record is None:
                raise KeyError(f"no service with ID {service_id!r}")
            incident = self._state.create_incident(
                service=record,
                title=title,
                key=incident_key,
                urgency=urgency,
                details=details,
                creator_id=None,
                status=status,
                created_at=_aware(created_at, "created_at"),
            )
            return parse_incident(self._state.render_incident(incident))

    def set_abilities(self, abilities: Sequence[str]) -> None:
        """What `GET /abilities` lists (and `GET /abilities/{id}` accepts)."""
        with self._app.lock:
            self._state.abilities = list(abilities)

    # --- OAuth -----------------------------------------------------------------------------------

    def add_oauth_client(
        self, client_id: str, client_secret: str, scopes: Iterable[str] | None = None
    ) -> OAuthApp:
        """Register a Scoped OAuth app: its token requests (`POST /oauth/token`) get tokens with
        the requested scopes it has (`scopes`; None: every scope). Registering an ID again
        replaces the app (a new secret, other scopes); tokens already issued stay valid."""
        with self._app.lock:
            return self._identity.add_app(client_id, client_secret, scopes)

    @property
    def account_scope(self) -> str:
        """The scope a token request must include: `as_account-<region>.<subdomain>`."""
        return self._identity.account_scope

    @property
    def token_lifetime(self) -> float:
        """Seconds an issued token lives (`expires_in`); tokens already issued keep theirs."""
        return self._identity.lifetime

    @token_lifetime.setter
    def token_lifetime(self, seconds: float) -> None:
        with self._app.lock:
            self._identity.lifetime = _lifetime(seconds)

    def token_scopes(self, token: str) -> frozenset[str] | None:
        """The scopes of a token the fake issued, while it is valid; None otherwise."""
        with self._app.lock:
            issued = self._identity.lookup(token)
            return issued.scopes if issued is not None else None

    def revoke_tokens(self) -> None:
        """Forget every issued token: each is answered 401 from now on, as after a revocation."""
        with self._app.lock:
            self._identity.tokens.clear()

    # --- inspection ------------------------------------------------------------------------------

    @property
    def users(self) -> list[User]:
        with self._app.lock:
            return [parse_user(self._state.render_user(u)) for u in self._state.users.values()]

    @property
    def services(self) -> list[Service]:
        with self._app.lock:
            return [
                parse_service(self._state.render_service(s)) for s in self._state.services.values()
            ]

    @property
    def incidents(self) -> list[Incident]:
        """Every incident, in creation order."""
        with self._app.lock:
            records = sorted(self._state.incidents.values(), key=lambda i: i.number)
            return [parse_incident(self._state.render_incident(i)) for i in records]

    def incident(self, incident_id: str) -> Incident:
        with self._app.lock:
            record = self._state.incident(incident_id)
            if record is None:
                raise KeyError(f"no incident {incident_id!r}")
            return parse_incident(self._state.render_incident(record))

    def incident_details(self, incident_id: str) -> Any:
        """The `body.details` the incident was created with (the API does not return it)."""
        with self._app.lock:
            record = self._state.incident(incident_id)
            if record is None:
                raise KeyError(f"no incident {incident_id!r}")
            return record.details

    def notes(self, incident_id: str) -> list[Note]:
        """The incident's notes, oldest first."""
        with self._app.lock:
            notes = self._state.notes.get(incident_id, [])
            return [parse_note(self._state.render_note(n)) for n in notes]

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received, in order (including refused ones)."""
        with self._app.lock:
            return list(self._app.requests)

    def requests_to(self, method: str, operation: str) -> list[RecordedRequest]:
        """The requests to one operation, e.g. `requests_to("POST", "/incidents/{id}/notes")`."""
        return [r for r in self.requests if r.method == method and r.operation == operation]

    def clear_requests(self) -> None:
        with self._app.lock:
            self._app.requests.clear()

    @property
    def violations(self) -> list[Violation]:
        """Every departure from the OpenAPI document seen so far (requests and answers)."""
        with self._app.lock:
            return list(self._app.violations)

    def clear_violations(self) -> None:
        with self._app.lock:
            self._app.violations.clear()

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every violation, if there is any."""
        found = self.violations
        if found:
            listed = "\n".join(f"- [{v.kind}] {v.message}" for v in found)
            raise AssertionError(f"{len(found)} OpenAPI violation(s):\n{listed}")

    # --- awaitable checks ------------------------------------------------------------------------

    async def next_incident(self, timeout: float | None = 5.0) -> Incident:  # noqa: ASYNC109
        """The next incident created through the API (FIFO); TimeoutError if none comes."""
        return await self._incidents.get(timeout)

    async def next_incident_update(self, timeout: float | None = 5.0) -> Incident:  # noqa: ASYNC109
        """The incident as it was after the next `PUT /incidents/{id}`."""
        return await self._updates.get(timeout)

    async def next_note(self, timeout: float | None = 5.0) -> NewNote:  # noqa: ASYNC109
        """The next note added through the API, with its incident's ID."""
        return await self._notes.get(timeout)

    def next_incident_blocking(self, timeout: float | None = 5.0) -> Incident:
        return self._incidents.get_blocking(timeout)

    def next_incident_update_blocking(self, timeout: float | None = 5.0) -> Incident:
        return self._updates.get_blocking(timeout)

    def next_note_blocking(self, timeout: float | None = 5.0) -> NewNote:
        return self._notes.get_blocking(timeout)

    # --- faults ----------------------------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        """The live failure-injection settings; assign fields to change them."""
        return self._app.faults

    def fail_next(
        self,
        times: int = 1,
        *,
        status: int = 500,
        after_processing: bool = False,
        disconnect: bool = False,
    ) -> None:
        """Fail the next `times` requests with `status`: before processing them, or after
        (`after_processing=True`: the change happens, the client sees the failure; with
        `disconnect=True` the connection drops instead of answering)."""
        if disconnect and not after_processing:
            raise ValueError("disconnect=True is a failure after processing")
        self._app.fail_next(times, status, after_processing, disconnect)

    def reset_faults(self) -> None:
        """No more injected failures, rate limit or delay."""
        self._app.reset_faults()

    # --- front ends ------------------------------------------------------------------------------

    def async_transport(self) -> FakeAsyncTransport:
        """An in-process transport for `httpx.AsyncClient` / `AsyncPagerDutyClient`."""
        return FakeAsyncTransport(self._app)

    def sync_transport(self) -> FakeSyncTransport:
        """An in-process transport for `httpx.Client` / `PagerDutyClient`."""
        return FakeSyncTransport(self._app)

    def client(self, **kwargs: Any) -> AsyncPagerDutyClient:
        """An `AsyncPagerDutyClient` wired to this fake in-process (kwargs pass through). With
        `auth=` (e.g. `fake.oauth_provider(...)`) it uses that instead of the API key."""
        kwargs.setdefault("transport", self.async_transport())
        if "auth" in kwargs:
            return AsyncPagerDutyClient(**kwargs)
        return AsyncPagerDutyClient(kwargs.pop("api_key", self.api_key), **kwargs)

    def sync_client(self, **kwargs: Any) -> PagerDutyClient:
        """A `PagerDutyClient` wired to this fake in-process (kwargs pass through)."""
        kwargs.setdefault("transport", self.sync_transport())
        if "auth" in kwargs:
            return PagerDutyClient(**kwargs)
        return PagerDutyClient(kwargs.pop("api_key", self.api_key), **kwargs)

    def oauth_provider(
        self, client_id: str, client_secret: str, **kwargs: Any
    ) -> AsyncOAuthTokenProvider:
        """An `AsyncOAuthTokenProvider` for this fake's account, wired to it in-process (kwargs
        pass through: `scopes`, `clock`, `sleep`, ...)."""
        kwargs.setdefault("transport", self.async_transport())
        kwargs.setdefault("subdomain", self._identity.subdomain)
        kwargs.setdefault("region", self._identity.region)
        return AsyncOAuthTokenProvider(client_id, client_secret, **kwargs)

    def sync_oauth_provider(
        self, client_id: str, client_secret: str, **kwargs: Any
    ) -> OAuthTokenProvider:
        """An `OAuthTokenProvider` for this fake's account, wired to it in-process."""
        kwargs.setdefault("transport", self.sync_transport())
        kwargs.setdefault("subdomain", self._identity.subdomain)
        kwargs.setdefault("region", self._identity.region)
        return OAuthTokenProvider(client_id, client_secret, **kwargs)

    @property
    def ca_file(self) -> Path:
        """The PEM file of the test CA that signed the HTTPS certificate (`tls=True`): give it
        to a client as the CA bundle to trust (`verify=fake.ca_file`). Made on first use."""
        return self._test_ca().ca_file

    def _test_ca(self) -> TestCA:
        with self._app.lock:
            if self._tls is None:
                self._tls = TestCA()
            return self._tls

    @contextlib.asynccontextmanager
    async def serve(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False
    ) -> AsyncIterator[str]:
        """Serve on the running event loop; yields the base URL (`http://127.0.0.1:N`, or with
        `tls=True` `https://127.0.0.1:N`, whose certificate `ca_file` verifies). The OAuth token
        endpoint is at `<url>/oauth/token`."""
        server = LoopbackServer(self._app)
        url = await server.start(host, port, self._test_ca().server_context() if tls else None)
        try:
            yield url
        finally:
            await server.stop()

    def token_url(self, base_url: str) -> str:
        """The token endpoint of the fake served at `base_url` (`serve()`'s or `start()`'s)."""
        return base_url.rstrip("/") + TOKEN_PATH

    def start(self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False) -> str:
        """Serve from a background thread (for synchronous code); returns the base URL (https
        with `tls=True`). Call `stop()` when done."""
        return self._threaded.start(host, port, self._test_ca().server_context() if tls else None)

    def stop(self) -> None:
        """Stop the background server started by `start()` and join its thread."""
        self._threaded.stop()

    @property
    def url(self) -> str | None:
        """The background server's base URL while it runs."""
        return self._threaded.url

    @contextlib.contextmanager
    def serve_in_thread(
        self, host: str = "127.0.0.1", port: int = 0, *, tls: bool = False
    ) -> Iterator[str]:
        """`start()` / `stop()` as a context manager."""
        url = self.start(host, port, tls=tls)
        try:
            yield url
        finally:
            self.stop()
