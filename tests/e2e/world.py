# ruff: noqa: ASYNC109  (the harness waits take plain seconds, like the fakes' wait_for*)
"""The end-to-end world: the Go acceptance suite's Teleport users and roles and PagerDuty
services (reference §6.1/§6.2), a `tpd run` subprocess wrapper, and helpers to wait on effects.

Used by tests/e2e (as fixtures in conftest.py) and by the daemon's in-process tests.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import random
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from pagerduty_client import EscalationPolicy, Incident, Service
from pagerduty_client.testing import FakePagerDuty
from teleport_access import (
    AccessRequest,
    AccessReviewThreshold,
    RequestConditions,
    RequestState,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer

ROOT = Path(__file__).resolve().parents[2]

#: Generous: the machine is shared with other test runs.
TIMEOUT = 30.0

PLUGIN_USER = "plugin"
REQUESTER_OSS = "requester-oss@example.com"
REQUESTER_1 = "requester1@example.com"
REQUESTER_2 = "requester2@example.com"
#: An OSS requester (one approval decides) whom bursts put on call: the plugin's own review
#: approves their requests.
REQUESTER_AUTO = "requester-auto@example.com"
REVIEWER_1 = "reviewer1@example.com"
REVIEWER_2 = "reviewer2@example.com"
BOT_EMAIL = "bot@example.com"
#: Distinctive, so a leak is easy to find in the output.
API_KEY = "e2e-pd-key-7Hq2xZp9LmN4"

NOTIFY_SERVICE = "Teleport Notifications"
APPROVAL_SERVICES = ("Service 1", "Service 2")
REQUEST_ANNOTATIONS = {
    "pagerduty_notify_service": (NOTIFY_SERVICE,),
    "pagerduty_services": APPROVAL_SERVICES,
}


def seed_teleport(auth: FakeAuthServer) -> None:
    """The suite's roles and users (OSS requester, threshold requesters, reviewers, plugin)."""
    auth.add_role(
        Role(
            name="oss-requester",
            allow=RoleConditions(
                request=RequestConditions(roles=("editor",), annotations=REQUEST_ANNOTATIONS)
            ),
        )
    )
    auth.add_role(
        Role(
            name="advanced-requester",
            allow=RoleConditions(
                request=RequestConditions(
                    roles=("editor",),
                    annotations=REQUEST_ANNOTATIONS,
                    thresholds=(AccessReviewThreshold(approve=2, deny=2),),
                )
            ),
        )
    )
    auth.add_role(
        Role(
            name="reviewer",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("editor",))),
        )
    )
    auth.add_role(
        Role(
            name="auto-approval-plugin",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("editor",))),
        )
    )
    auth.add_role(Role(name="access-plugin"))
    for name in (REQUESTER_OSS, REQUESTER_AUTO):
        auth.add_user(User(name=name, roles=("oss-requester",)))
    for name in (REQUESTER_1, REQUESTER_2):
        auth.add_user(User(name=name, roles=("advanced-requester",)))
    for name in (REVIEWER_1, REVIEWER_2):
        auth.add_user(User(name=name, roles=("reviewer",)))
    auth.add_user(User(name=PLUGIN_USER, roles=("access-plugin", "auto-approval-plugin")))


@attrs.define
class PagerDutyWorld:
    """The fake PagerDuty with the suite's services and escalation policies."""

    fake: FakePagerDuty
    url: str
    services: dict[str, Service]
    policies: dict[str, EscalationPolicy]

    def incidents_for(self, request_id: str) -> list[Incident]:
        key = f"teleport-access-request/{request_id}"
        return [incident for incident in self.fake.incidents if incident.incident_key == key]

    def incident_for(self, request_id: str) -> Incident:
        found = self.incidents_for(request_id)
        assert len(found) == 1, f"{len(found)} incidents for request {request_id}"
        return found[0]

    def note_texts(self, incident_id: str) -> list[str]:
        return [note.content for note in self.fake.notes(incident_id)]

    async def wait_for(
        self, check: Callable[[], Any], *, timeout: float = TIMEOUT, what: str = "condition"
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_for_incident(self, request_id: str, **kwargs: Any) -> Incident:
        found: list[Incident] = await self.wait_for(
            lambda: self.incidents_for(request_id),
            what=f"an incident for request {request_id}",
            **kwargs,
        )
        return found[0]

    async def wait_for_note(self, incident_id: str, *parts: str, timeout: float = TIMEOUT) -> str:
        """The first note of the incident containing every one of `parts`."""

        def check() -> str | None:
            for text in self.note_texts(incident_id):
                if all(part in text for part in parts):
                    return text
            return None

        note: str = await self.wait_for(
            check, timeout=timeout, what=f"a note on {incident_id} with {parts}"
        )
        return note

    async def wait_for_status(
        self,
        incident_id: str,
        status: str,
        *,
        timeout: float = TIMEOUT,
    ) -> Incident:
        incident: Incident = await self.wait_for(
            lambda: (i := self.fake.incident(incident_id)).status == status and i,
            timeout=timeout,
            what=f"incident {incident_id} to be {status}",
        )
        return incident


def seed_pagerduty(fake: FakePagerDuty) -> tuple[dict[str, Service], dict[str, EscalationPolicy]]:
    fake.add_user("Access Bot", BOT_EMAIL)
    policies = {
        "notifications": fake.add_escalation_policy("Notifications"),
        "escalation_policy-1": fake.add_escalation_policy("escalation_policy-1"),
        "escalation_policy-2": fake.add_escalation_policy("escalation_policy-2"),
        "escalation_policy-3": fake.add_escalation_policy("escalation_policy-3"),
    }
    services = {
        NOTIFY_SERVICE: fake.add_service(NOTIFY_SERVICE, policies["notifications"]),
        "Teleport Notifications Two": fake.add_service(
            "Teleport Notifications Two", policies["notifications"]
        ),
        "Service 1": fake.add_service("Service 1", policies["escalation_policy-1"]),
        "Service 2": fake.add_service("Service 2", policies["escalation_policy-2"]),
        "Service 3": fake.add_service("Service 3", policies["escalation_policy-3"]),
    }
    return services, policies


def config_text(
    *,
    teleport_address: str,
    identity: Path,
    pagerduty_url: str,
    api_key: str = API_KEY,
    extra: str = "",
    log_format: str = "json",
    severity: str = "debug",
    pagerduty_extra: str = "",
) -> str:
    return (
        f'[teleport]\naddr = "{teleport_address}"\nidentity = "{identity}"\n\n'
        f'[pagerduty]\napi_key = "{api_key}"\nuser_email = "{BOT_EMAIL}"\n'
        f'api_endpoint = "{pagerduty_url}"\n{pagerduty_extra}\n'
        f'[log]\noutput = "stderr"\nseverity = "{severity}"\nformat = "{log_format}"\n\n'
        f"{extra}"
    )


class TpdProcess:
    """One `tpd run` subprocess: its output, parsed log records, and a graceful stop."""

    def __init__(
        self,
        config_path: Path,
        *,
        args: tuple[str, ...] = (),
        argv: tuple[str, ...] | None = None,
    ) -> None:
        self.config_path = config_path
        #: The command line after `python -m teleport_pd_cli`.
        self.argv = argv if argv is not None else ("run", "-c", str(config_path), *args)
        self.process: asyncio.subprocess.Process | None = None
        self.lines: list[str] = []
        self.records: list[dict[str, Any]] = []
        self._changed = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    @property
    def returncode(self) -> int | None:
        return None if self.process is None else self.process.returncode

    async def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("TPD_CONFIG", None)
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "teleport_pd_cli",
            *self.argv,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=ROOT,
            env=env,
        )
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(self.process.stdout)),
            asyncio.create_task(self._read(self.process.stderr)),
        ]

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while True:
            raw = await stream.readline()
            if not raw:
                break
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            self.lines.append(line)
            if line.startswith("{"):
                with contextlib.suppress(ValueError):
                    self.records.append(json.loads(line))
            self._changed.set()
        self._changed.set()

    def find_logs(self, msg: str, **fields: Any) -> list[dict[str, Any]]:
        """Records whose message contains `msg` and whose fields equal `fields`."""
        return [
            record
            for record in self.records
            if msg in str(record.get("msg", ""))
            and all(record.get(name) == value for name, value in fields.items())
        ]

    async def wait_for_log(
        self,
        msg: str,
        *,
        timeout: float = TIMEOUT,
        **fields: Any,
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.find_logs(msg, **fields)
            if found:
                return found[0]
            if self.returncode is not None and all(r.done() for r in self._readers):
                raise AssertionError(
                    f"tpd exited ({self.returncode}) before logging {msg!r}:\n{self.tail()}"
                )
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no log {msg!r} {fields} within {timeout} s:\n{self.tail()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))

    async def wait_for_text(self, text: str, *, timeout: float = TIMEOUT) -> str:
        """The first output line (JSON or not) containing `text`."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.lines:
                if text in line:
                    return line
            if self.returncode is not None and all(r.done() for r in self._readers):
                raise AssertionError(f"tpd exited before printing {text!r}:\n{self.tail()}")
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {text!r} within {timeout} s:\n{self.tail()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(left, 0.5))

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    async def wait_ready(self, timeout: float = TIMEOUT) -> str:
        return await self.wait_for_text("Plugin is ready", timeout=timeout)

    async def wait_exit(self, timeout: float = TIMEOUT) -> int:
        assert self.process is not None
        code = await asyncio.wait_for(self.process.wait(), timeout=timeout)
        await asyncio.gather(*self._readers, return_exceptions=True)
        return code

    def send(self, sig: signal.Signals) -> None:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(sig)

    async def stop(self, timeout: float = TIMEOUT) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit in time. Returns the exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return await self.wait_exit(timeout)
            except TimeoutError:
                self.process.kill()
        return await self.wait_exit(timeout)

    async def kill(self) -> int:
        assert self.process is not None
        if self.process.returncode is None:
            self.process.kill()
        return await self.wait_exit()


#: Starts a tpd process (and waits until it is ready unless told not to).
StartTpd = Callable[..., Awaitable[TpdProcess]]


def plugin_data_has(key: str) -> Callable[[Mapping[str, str]], bool]:
    return lambda data: bool(data.get(key))


# -- bursts: many requests reviewed and resolved at once, and the exact outcome they must leave ---

#: How a burst request goes (requester; reviews; who ends it):
#: - "approved-by-review" / "denied-by-review": the OSS requester; one review decides.
#: - "two-reviews": requester 1 (two approvals needed); the first review comes before its
#:   incident can exist, the second after.
#: - "reviews-at-once": requester 1; two approving reviews submitted back to back.
#: - "admin-denied": requester 1; one approving review, then an admin denies it.
#: - "on-call": the on-call requester 2: the plugin approves, a reviewer's approval completes it.
#: - "auto-approved": the on-call OSS requester: the plugin's approval alone decides it; with
#:   `page_when_approved = false` it never gets an incident.
#: - "deleted": the OSS requester; deleted (as expiry does) while pending.
BURST_KINDS = (
    "approved-by-review",
    "denied-by-review",
    "two-reviews",
    "reviews-at-once",
    "admin-denied",
    "on-call",
    "auto-approved",
    "deleted",
)
#: The burst's on-call requester who needs a second approval (see `put_on_call`).
ON_CALL_REQUESTER = REQUESTER_2
_REQUESTER_BY_KIND = {
    "approved-by-review": REQUESTER_OSS,
    "denied-by-review": REQUESTER_OSS,
    "two-reviews": REQUESTER_1,
    "reviews-at-once": REQUESTER_1,
    "admin-denied": REQUESTER_1,
    "on-call": ON_CALL_REQUESTER,
    "auto-approved": REQUESTER_AUTO,
    "deleted": REQUESTER_OSS,
}
#: The kinds whose requests the plugin's review approves (each gets one approval by it).
_PLUGIN_APPROVES = ("on-call", "auto-approved")


def choose_seed(variable: str = "TPD_FAULT_SEED") -> int:
    """A fresh random seed, or `$TPD_FAULT_SEED`'s; printed (pytest shows it on failure)."""
    text = os.environ.get(variable, "")
    seed = int(text) if text else random.SystemRandom().randrange(2**32)
    print(f"random seed {seed} (replay with {variable}={seed})")
    return seed


@contextlib.asynccontextmanager
async def serve_pagerduty(*, seed: int | None = 0) -> AsyncIterator[PagerDutyWorld]:
    """The suite's fake PagerDuty, its random failures seeded with `seed`, served on loopback."""
    fake = FakePagerDuty(strict=True, api_key=API_KEY, seed=seed)
    services, policies = seed_pagerduty(fake)
    async with fake.serve() as url:
        yield PagerDutyWorld(fake=fake, url=url, services=services, policies=policies)


def put_on_call(pagerduty: PagerDutyWorld, *emails: str) -> None:
    """Make each of `emails` (by default the bursts' two on-call requesters) a PagerDuty user
    on call (first tier) for the annotated "Service 1"."""
    for email in emails or (ON_CALL_REQUESTER, REQUESTER_AUTO):
        user = pagerduty.fake.add_user(f"On Call {email.split('@')[0]}", email)
        pagerduty.fake.add_on_call(user, pagerduty.policies["escalation_policy-1"])


def with_paging(extra: str, page_when_approved: bool) -> str:
    """`extra` (config text) with `page_when_approved` set: unchanged for the default (`true`);
    for `false`, the key goes into the `[pagerduty.auto_approval]` table `extra` has, or a new
    one (TOML allows a table header once)."""
    if page_when_approved:
        return extra
    header = "[pagerduty.auto_approval]\n"
    if header in extra:
        return extra.replace(header, f"{header}page_when_approved = false\n", 1)
    return f"{extra.rstrip()}\n\n{header}page_when_approved = false\n".lstrip()


@attrs.define
class Tracked:
    """One request of a burst and how it ended (`final`: its last state, reviews included)."""

    request_id: str
    kind: str
    final: AccessRequest | None = None

    def resolution(self) -> str:
        if self.kind == "deleted":
            return "expired"
        assert self.final is not None
        return {
            RequestState.APPROVED: "approved",
            RequestState.DENIED: "denied",
            RequestState.PROMOTED: "promoted",
        }[self.final.state]

    def expected_notes(self) -> list[str]:
        """Every note the incident must end with, each exactly once: one per review, then the
        resolution note."""
        from teleport_pd_cli.policy import resolution_note, review_note
        from teleport_pd_cli.policy.plugindata import ResolutionTag

        assert self.final is not None
        reason = "" if self.kind == "deleted" else self.final.resolve_reason
        return [review_note(review) for review in self.final.reviews] + [
            resolution_note(ResolutionTag(self.resolution()), reason)
        ]


class Burst:
    """`count` requests of the kinds in `kinds`, created over `over` seconds and each driven to
    its end by its own task (reviews, approval, denial, deletion, at random moments once its
    incident exists); then `problems()` lists every request whose incident, notes, resolution,
    plugin data or approval are not exactly what they must be.

    Every random choice comes from `seed`, so a failing run can be replayed (the order in which
    the processes under test interleave cannot be).
    """

    def __init__(
        self,
        auth: FakeAuthServer,
        pagerduty: PagerDutyWorld,
        *,
        seed: int,
        kinds: Sequence[str] = BURST_KINDS,
        timeout: float = 120.0,
        page_when_approved: bool = True,
    ) -> None:
        self.auth = auth
        #: The tpd under test's `[pagerduty.auto_approval] page_when_approved`: whether a
        #: request the plugin approves must still have its incident.
        self.page_when_approved = page_when_approved
        self.pagerduty = pagerduty
        self.seed = seed
        self.rng = random.Random(seed)
        self.kinds = tuple(kinds)
        self.timeout = timeout
        self.tracked: list[Tracked] = []

    async def run(self, count: int, *, over: float = 2.0) -> list[Tracked]:
        """Create the requests and drive each to its end; return once Teleport shows every one
        resolved (PagerDuty may still be catching up: see `wait_settled`)."""
        drivers: list[asyncio.Task[None]] = []
        try:
            first = len(self.tracked)
            for index in range(first, first + count):
                kind = self.rng.choice(self.kinds)
                pause = self.rng.uniform(0.0, 0.5)
                request = self.auth.create_request(
                    _REQUESTER_BY_KIND[kind], ["editor"], reason=f"burst {index} ({kind})"
                )
                tracked = Tracked(request_id=request.id, kind=kind)
                self.tracked.append(tracked)
                drivers.append(asyncio.create_task(self._drive(tracked, index, pause)))
                await asyncio.sleep(self.rng.uniform(0.0, 2.0 * over / max(count, 1)))
            await asyncio.gather(*drivers)
        finally:
            for driver in drivers:
                driver.cancel()
            await asyncio.gather(*drivers, return_exceptions=True)
        return self.tracked

    async def run_while(self, busy: asyncio.Task[None], *, batch: int = 4) -> None:
        """`batch` more requests at a time (over about a second) until `busy` has finished:
        traffic for as long as a fault injector needs requests to act on."""
        while not busy.done():
            await self.run(batch, over=1.0)

    async def _drive(self, tracked: Tracked, index: int, pause: float) -> None:
        auth, request_id = self.auth, tracked.request_id
        approve, deny = RequestState.APPROVED, RequestState.DENIED
        if tracked.kind == "auto-approved":
            # Nobody else acts: the plugin's review approves it (paged or not, by the mode).
            await auth.wait_for_state(request_id, approve, timeout=self.timeout)
            tracked.final = auth.get_request(request_id)
            return
        if tracked.kind == "two-reviews":
            auth.submit_review(request_id, REVIEWER_1, approve, reason=f"first look {index}")
        await self.pagerduty.wait_for_incident(request_id, timeout=self.timeout)
        await asyncio.sleep(pause)
        if tracked.kind == "approved-by-review":
            auth.submit_review(request_id, REVIEWER_1, approve, reason=f"fine by me {index}")
        elif tracked.kind == "denied-by-review":
            auth.submit_review(request_id, REVIEWER_1, deny, reason=f"not today {index}")
        elif tracked.kind == "two-reviews":
            auth.submit_review(request_id, REVIEWER_2, approve, reason=f"second look {index}")
        elif tracked.kind == "reviews-at-once":
            auth.submit_review(request_id, REVIEWER_1, approve, reason=f"me too {index}")
            auth.submit_review(request_id, REVIEWER_2, approve, reason=f"me three {index}")
        elif tracked.kind == "admin-denied":
            auth.submit_review(request_id, REVIEWER_1, approve, reason=f"ok from me {index}")
            await asyncio.sleep(pause / 2)
            auth.deny(request_id, reason=f"an admin said no {index}")
        elif tracked.kind == "on-call":
            auth.submit_review(request_id, REVIEWER_1, approve, reason=f"on call indeed {index}")
            # Approved only once the plugin's own approving review is in as well.
            await auth.wait_for_state(request_id, approve, timeout=self.timeout)
        elif tracked.kind == "deleted":
            tracked.final = auth.get_request(request_id)
            auth.delete_request(request_id)
            return
        tracked.final = auth.get_request(request_id)
        assert tracked.final is not None
        assert tracked.final.state.is_resolved, (request_id, tracked.final.state)

    def problems(self) -> list[str]:
        """Everything not exactly right yet, one line each (empty when all is well)."""
        by_key: dict[str, list[Incident]] = collections.defaultdict(list)
        for incident in self.pagerduty.fake.incidents:
            by_key[incident.incident_key or ""].append(incident)
        out: list[str] = []
        for tracked in self.tracked:
            name = f"request {tracked.request_id} ({tracked.kind})"
            if tracked.final is None:
                out.append(f"{name}: not driven to its end")
                continue
            found = by_key.get(f"teleport-access-request/{tracked.request_id}", [])
            approvals = sum(review.author == PLUGIN_USER for review in tracked.final.reviews)
            if approvals != (1 if tracked.kind in _PLUGIN_APPROVES else 0):
                out.append(f"{name}: {approvals} approving review(s) by the plugin")
            if tracked.kind == "auto-approved" and not self.page_when_approved:
                # Approved by the plugin before any page: no incident, and no plugin data.
                data = self.auth.plugin_data(tracked.request_id, "pagerduty")
                if found:
                    out.append(f"{name}: {len(found)} incidents though tpd approved it")
                if data:
                    out.append(f"{name}: plugin data {data!r} though nothing was paged")
                continue
            if len(found) != 1:
                out.append(f"{name}: {len(found)} incidents")
                continue
            incident = found[0]
            if incident.status != "resolved":
                out.append(f"{name}: incident {incident.id} is {incident.status}")
            want = collections.Counter(text.rstrip() for text in tracked.expected_notes())
            have = collections.Counter(
                text.rstrip() for text in self.pagerduty.note_texts(incident.id)
            )
            if want - have:
                out.append(f"{name}: missing notes {sorted(want - have)}")
            if have - want:
                out.append(f"{name}: extra notes {sorted((have - want).elements())}")
            data = self.auth.plugin_data(tracked.request_id, "pagerduty") or {}
            if data.get("incident_id") != incident.id:
                out.append(f"{name}: plugin data names incident {data.get('incident_id')!r}")
            if data.get("resolution") != tracked.resolution():
                out.append(f"{name}: plugin data resolution {data.get('resolution')!r}")
            if int(data.get("reviews_count") or 0) != len(tracked.final.reviews):
                out.append(f"{name}: plugin data reviews_count {data.get('reviews_count')!r}")
        return out

    async def wait_settled(self, *, timeout: float = 120.0) -> None:
        """Until `problems()` is empty; AssertionError listing them (and the seed) if not."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.problems()
            if not found:
                return
            if time.monotonic() > deadline:
                raise AssertionError(self.report(found, f"not settled after {timeout} s"))
            await asyncio.sleep(0.25)

    async def quiesce(self, *, quiet: float = 2.0, limit: float = 60.0) -> None:
        """Until neither PagerDuty nor the plugin data saw a write for `quiet` seconds (so a
        late duplicate would have arrived), or `limit` seconds passed."""

        def writes() -> int:
            pd = sum(1 for r in self.pagerduty.fake.requests if r.method in ("POST", "PUT"))
            return pd + len(self.auth.calls_to("UpdatePluginData"))

        deadline = time.monotonic() + limit
        seen, since = writes(), time.monotonic()
        while time.monotonic() < deadline and time.monotonic() - since < quiet:
            await asyncio.sleep(0.1)
            now = writes()
            if now != seen:
                seen, since = now, time.monotonic()

    async def assert_ends_exactly(self, *, timeout: float = 120.0) -> None:
        """`wait_settled`, then `quiesce` (a late duplicate would arrive meanwhile), then
        `assert_exact`: the whole check after a burst."""
        await self.wait_settled(timeout=timeout)
        await self.quiesce()
        self.assert_exact()

    def assert_exact(self) -> None:
        """Every request: one incident, resolved (none for one tpd approved when
        `page_when_approved` is false); every note exactly once; plugin data right; the
        plugin's approval exactly where its requester is on call."""
        found = self.problems()
        assert not found, self.report(found, "wrong outcome")

    def report(self, problems: Sequence[str], title: str) -> str:
        kinds = collections.Counter(tracked.kind for tracked in self.tracked)
        return (
            f"{title} (seed {self.seed}, {len(self.tracked)} requests {dict(kinds)}):\n"
            + "\n".join(f"- {line}" for line in problems)
        )


def save_logs(processes: Sequence[TpdProcess], directory: Path) -> None:
    """Write each process's output to `directory/tpd-<n>.log` (for a failed run's post-mortem)."""
    for index, process in enumerate(processes):
        (directory / f"tpd-{index}.log").write_text(process.output + "\n", encoding="utf-8")
