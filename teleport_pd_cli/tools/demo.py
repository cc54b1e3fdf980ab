"""`tpd demo`: the operator's guide, end to end, on one machine, with no Teleport or PagerDuty.

It starts the fake Auth Service (`teleport_access.testing`, gRPC with mutual TLS) and the fake
PagerDuty (`pagerduty_client.testing`, HTTP) on 127.0.0.1, seeds the guide's services, roles and
users (`_demo_seed.py`), issues the plugin's identity file, writes a real config file, and runs
the real plugin (`Daemon`) against them. Then it plays the guide's step 7: `myuser` asks for
`editor` (an incident opens), a reviewer approves (a review note, a resolution note, the incident
resolved), and `alice@example.com`, on call, asks for `demo-role` (the plugin approves it).

Every line it prints is something it observed in the fakes' state (incidents, notes, reviews,
request states, plugin data), never what it assumes should have happened. When an expected thing
does not happen in time, `run_demo` reports what it expected and what it saw instead, and the
CLI exits 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import attrs

from teleport_pd_cli._exceptions import DemoFailed, TpdError
from teleport_pd_cli.tools import _demo_seed as seed

if TYPE_CHECKING:
    from pagerduty_client import Incident
    from pagerduty_client.testing import FakePagerDuty
    from teleport_access import AccessRequest, AuthClient
    from teleport_access.testing import FakeAuthServer
    from teleport_pd_cli.config import Config
    from teleport_pd_cli.daemon import Daemon

__all__ = ["DEFAULT_STEP_TIMEOUT", "DemoFailed", "DemoReport", "run_demo"]

T = TypeVar("T")

#: Seconds to wait for each thing the plugin should do (each takes milliseconds).
DEFAULT_STEP_TIMEOUT = 15.0
#: How long to watch, after the plugin looked up an off-call requester, for an approval that
#: must not come. The plugin decides right after that lookup, so this is generous.
_QUIET_PERIOD = 0.5
_POLL = 0.02
#: The reasons in the guide's story.
EDITOR_REASON = "Edit the production config for the quarterly change"
REVIEW_REASON = "Change approved in CAB-1234"
ON_CALL_REASON = "Investigating an incident in My Critical Service"
OFF_CALL_REASON = "I would like to look around"


# -- output ---------------------------------------------------------------------------------------


@attrs.define
class _Step:
    title: str
    events: list[dict[str, Any]] = attrs.field(factory=list)


@attrs.define
class DemoReport:
    """What the demo observed, step by step (the `--json` document)."""

    steps: list[_Step] = attrs.field(factory=list)
    ok: bool = False
    error: dict[str, str] | None = None
    elapsed: float = 0.0
    environment: dict[str, str] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "elapsed_seconds": round(self.elapsed, 3),
            "error": self.error,
            "environment": self.environment,
            "steps": [{"title": step.title, "events": step.events} for step in self.steps],
        }


class _Narrator:
    """Prints the story as it happens (unless quiet) and records it for `--json`."""

    def __init__(self, out: TextIO, *, quiet: bool) -> None:
        self.out = out
        self.quiet = quiet
        self.report = DemoReport()
        encoding = (getattr(out, "encoding", None) or "ascii").lower()
        fancy = encoding.replace("-", "").startswith("utf")
        self.mark_ok, self.mark_act, self.mark_fail = ("✓", "→", "✗") if fancy else ("+", ">", "x")

    def _print(self, text: str = "") -> None:
        if not self.quiet:
            print(text, file=self.out, flush=True)

    def intro(self, text: str) -> None:
        self._print(text)

    def step(self, title: str) -> None:
        self.report.steps.append(_Step(title))
        self._print()
        self._print(f"{len(self.report.steps)}. {title}")

    def _event(self, kind: str, text: str, details: dict[str, str], data: dict[str, Any]) -> None:
        self.report.steps[-1].events.append({"kind": kind, "text": text, **data})
        mark = self.mark_ok if kind == "observed" else self.mark_act
        self._print(f"   {mark} {text}")
        width = max((len(key) for key in details), default=0)
        for key, value in details.items():
            lines = value.rstrip("\n").split("\n") or [""]
            self._print(f"       {key + ':':<{width + 1}} {lines[0]}")
            for line in lines[1:]:
                self._print(f"       {'':<{width + 1}} {line}")

    def act(self, text: str, **details: str) -> None:
        """Something the demo does, as a person in the guide would."""
        self._event("action", text, details, {"details": details} if details else {})

    def saw(self, text: str, *, data: dict[str, Any] | None = None, **details: str) -> None:
        """Something observed in the fakes' state."""
        payload: dict[str, Any] = dict(data or {})
        if details:
            payload["details"] = details
        self._event("observed", text, details, payload)

    def failed(self, error: DemoFailed) -> None:
        self.report.error = {"expected": error.expected, "observed": error.observed}
        self._print()
        self._print(f"   {self.mark_fail} expected {error.expected}")
        self._print(f"     observed {error.observed}")


# -- waiting --------------------------------------------------------------------------------------


async def _until(
    check: Callable[[], T | None],
    *,
    timeout: float,  # noqa: ASYNC109 - one deadline for a poll loop
    expected: str,
    observed: Callable[[], str],
) -> T:
    """Poll `check` until it returns a value; DemoFailed naming `expected` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() >= deadline:
            raise DemoFailed(f"{expected} within {timeout:g}s", observed())
        await asyncio.sleep(_POLL)


def _seconds(start: float) -> str:
    return f"{time.monotonic() - start:.2f}s"


# -- the environment ------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class _Environment:
    directory: Path
    auth: FakeAuthServer
    pagerduty: FakePagerDuty
    pagerduty_url: str
    pd_seed: seed.PagerDutySeed
    config_path: Path
    identity_path: Path
    admin_identity_path: Path
    log_path: Path


@contextlib.asynccontextmanager
async def _fakes(directory: Path) -> AsyncIterator[_Environment]:
    from pagerduty_client.testing import FakePagerDuty
    from teleport_access.testing import FakeAuthServer

    # Only the fakes and the config file know this key; it is never printed.
    api_key = secrets.token_urlsafe(24)
    pagerduty = FakePagerDuty(api_key=api_key, openapi=False)
    pd_seed = seed.seed_pagerduty(pagerduty)
    auth = FakeAuthServer()
    seed.seed_teleport(auth)
    async with auth, pagerduty.serve() as url:
        # Step 4: `tctl auth sign --user=access-plugin --out=identity` (12 h, its default TTL).
        identity_path = auth.write_identity_file(
            directory / "identity",
            seed.PLUGIN_USER,
            roles=seed.roles_of(seed.PLUGIN_USER),
            ttl=timedelta(hours=12),
        )
        admin_identity_path = auth.write_identity_file(
            directory / "admin-identity", "demo-admin", admin=True, ttl=timedelta(hours=12)
        )
        log_path = directory / "tpd.log"
        config_path = directory / "teleport-pagerduty.toml"
        descriptor = os.open(config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(
                seed.config_text(
                    auth_address=auth.address,
                    identity=identity_path,
                    pagerduty_url=url,
                    api_key=api_key,
                    log_path=log_path,
                )
            )
        yield _Environment(
            directory=directory,
            auth=auth,
            pagerduty=pagerduty,
            pagerduty_url=url,
            pd_seed=pd_seed,
            config_path=config_path,
            identity_path=identity_path,
            admin_identity_path=admin_identity_path,
            log_path=log_path,
        )


@contextlib.asynccontextmanager
async def _plugin(config: Config, startup_timeout: float) -> AsyncIterator[Daemon]:
    """The real plugin, in-process, until the block ends."""
    from teleport_pd_cli.daemon import Daemon

    daemon = Daemon(config, startup_timeout=startup_timeout)
    try:
        await daemon.start()
    except Exception as exc:
        # Whatever stopped the plugin, the demo's answer is the same: it did not start.
        with contextlib.suppress(Exception):
            await daemon.stop(0)
        raise DemoFailed(
            "the plugin to start and report ready", f"{type(exc).__name__}: {exc}"
        ) from exc
    runner = asyncio.create_task(daemon.run(), name="tpd-demo-daemon")
    try:
        yield daemon
    finally:
        daemon.request_stop()
        await daemon.stop(5.0)
        # The story's outcome is decided by now; a plugin that fails while stopping (its log
        # says why) does not change it.
        with contextlib.suppress(asyncio.CancelledError, TimeoutError, TpdError):
            await asyncio.wait_for(runner, 10.0)


@contextlib.asynccontextmanager
async def _as_user(env: _Environment, user: str) -> AsyncIterator[AuthClient]:
    """An AuthClient with `user`'s own certificate, as `tsh` would use. A refusal of what the
    user does is a failed step (the demo's own actions must work for the story to go on)."""
    from teleport_access import AuthClient, TeleportError

    identity = env.auth.issue_identity(user, roles=seed.roles_of(user), ttl=timedelta(hours=1))
    async with AuthClient(env.auth.address, identity) as client:
        try:
            yield client
        except TeleportError as exc:
            raise DemoFailed(
                f"Teleport to accept what {user} does", f"{type(exc).__name__}: {exc}"
            ) from exc


# -- the story ------------------------------------------------------------------------------------


async def run_demo(
    out: TextIO,
    *,
    as_json: bool = False,
    keep_running: bool = False,
    step_timeout: float = DEFAULT_STEP_TIMEOUT,
    log_to_stderr: bool = False,
    stop: asyncio.Event | None = None,
    customize: Callable[[FakeAuthServer, FakePagerDuty], None] | None = None,
) -> DemoReport:
    """Play the guide end to end; print the story to `out` (or, with `as_json`, the report).

    With `keep_running`, once the story is told the fakes and the plugin keep serving until
    `stop` is set (by default, until SIGINT or SIGTERM). `customize` is called with both fakes
    once they are seeded, before the plugin starts (tests use it to inject faults). Returns the
    report; `report.ok` says whether every step was observed.
    """
    from teleport_pd_cli.config import load_config
    from teleport_pd_cli.ops.logsetup import setup_logging

    narrator = _Narrator(out, quiet=as_json)
    report = narrator.report
    started = time.monotonic()
    directory = Path(tempfile.mkdtemp(prefix="tpd-demo-"))
    keep_directory = False
    handler = None
    try:
        narrator.intro(
            "tpd demo: the PagerDuty access-request guide, end to end, on this machine.\n"
            "A fake Teleport Auth Service (gRPC, mutual TLS) and a fake PagerDuty (HTTP) run on "
            "127.0.0.1;\nthe plugin is the real one, reading a real config file. Nothing leaves "
            "this machine."
        )
        async with _fakes(directory) as env:
            report.environment = {
                "teleport_auth": env.auth.address,
                "pagerduty_api": env.pagerduty_url,
                "config": str(env.config_path),
                "identity": str(env.identity_path),
                "log": str(env.log_path),
                "admin_identity": str(env.admin_identity_path),
            }
            _tell_setup(narrator, env)
            if customize is not None:
                customize(env.auth, env.pagerduty)
            config, _warnings = load_config(env.config_path)
            if log_to_stderr:
                handler = setup_logging("stderr", "debug", secrets=config.secrets())
            else:
                handler = setup_logging(str(env.log_path), "debug", secrets=config.secrets())
            narrator.step("Start the plugin (guide step 7: tpd run -c <config>)")
            ready_at = time.monotonic()
            async with _plugin(config, step_timeout) as daemon:
                info = daemon.server_info
                narrator.saw(
                    f"plugin ready as {daemon.plugin_user!r}: cluster "
                    f"{info.cluster_name if info else '?'}, Teleport "
                    f"{info.server_version if info else '?'} ({_seconds(ready_at)})"
                )
                await _editor_request(narrator, env, step_timeout)
                await _auto_approval(narrator, env, step_timeout)
                await _not_on_call(narrator, env, step_timeout)
                await _routed_by_rule(narrator, env, daemon, step_timeout)
                report.ok = True
                report.elapsed = time.monotonic() - started
                narrator.intro(
                    f"\nDone: every step observed in {report.elapsed:.1f}s. The plugin did "
                    "all of it; the demo only watched."
                )
                if as_json:
                    _print_json(report, out, keep_running=keep_running)
                if keep_running:
                    await _serve_until_stopped(narrator, env, stop)
    except DemoFailed as exc:
        narrator.failed(exc)
        keep_directory = True
        report.elapsed = time.monotonic() - started
        narrator.intro(f"\nThe plugin's log and config are kept in {directory}")
        if as_json:
            _print_json(report, out, keep_running=False)
    finally:
        if handler is not None:
            import logging

            logging.getLogger().removeHandler(handler)
            handler.close()
        if not keep_directory:
            shutil.rmtree(directory, ignore_errors=True)
    return report


def _print_json(report: DemoReport, out: TextIO, *, keep_running: bool) -> None:
    document = report.to_json()
    document["keep_running"] = keep_running
    print(json.dumps(document, indent=2), file=out, flush=True)


def _tell_setup(narrator: _Narrator, env: _Environment) -> None:
    pd = env.pd_seed
    narrator.step("PagerDuty services (guide step 1)")
    narrator.saw(
        f'service "{pd.notify_service.name}" ({pd.notify_service.id}), escalation policy '
        f'"{pd.notify_policy_name}": {pd.reviewer.name} <{pd.reviewer.email}>',
    )
    narrator.saw(
        f'service "{pd.critical_service.name}" ({pd.critical_service.id}), escalation policy '
        f'"{pd.critical_policy_name}": schedule "{pd.schedule_name}", where '
        f"{pd.on_call.name} <{pd.on_call.email}> is on call now (level 1, until "
        f"{pd.shift_end:%H:%M} UTC)",
    )
    narrator.saw(
        f"{pd.off_call.name} <{pd.off_call.email}> exists but is on no schedule; the plugin "
        f"writes as {pd.bot.name} <{pd.bot.email}>"
    )
    narrator.step("Teleport roles and users (guide step 2)")
    for role, purpose in seed.ROLE_SUMMARY:
        narrator.saw(f"role {role}: {purpose}")
    for user, roles in seed.USERS:
        narrator.saw(f"user {user} with role {', '.join(roles)}")
    narrator.step("The plugin's identity, API key and config (guide steps 4 to 6)")
    narrator.saw(
        f"identity file for {seed.PLUGIN_USER}, valid 12h like tctl auth sign's: "
        f"{env.identity_path}"
    )
    narrator.saw(
        f"config {env.config_path}",
        teleport=f"addr = {env.auth.address}, identity = <the file above>",
        pagerduty=f"api_endpoint = {env.pagerduty_url}, user_email = {seed.BOT_EMAIL}, "
        "api_key = <kept in the file>",
    )


def _incident_for(env: _Environment, request_id: str) -> Incident | None:
    from teleport_pd_cli.policy import incident_key

    key = incident_key(request_id)
    return next((i for i in env.pagerduty.incidents if i.incident_key == key), None)


def _describe_request(env: _Environment, request_id: str) -> str:
    request = env.auth.get_request(request_id)
    if request is None:
        return f"request {request_id} no longer exists"
    reviews = ", ".join(f"{r.author}: {r.proposed_state.name}" for r in request.reviews)
    return f"request {request_id} is {request.state.name} (reviews: {reviews or 'none'})"


def _incident_details(env: _Environment, incident_id: str) -> str:
    details = env.pagerduty.incident_details(incident_id)
    if isinstance(details, dict):
        details = details.get("details", details)
    return details if isinstance(details, str) else json.dumps(details)


async def _editor_request(narrator: _Narrator, env: _Environment, wait: float) -> None:
    from teleport_access import RequestState

    pd = env.pd_seed
    narrator.step(f"{seed.REQUESTER} requests the editor role (guide: Create an Access Request)")
    async with _as_user(env, seed.REQUESTER) as client:
        request: AccessRequest = await client.create_access_request(
            seed.REQUESTER, ["editor"], reason=EDITOR_REASON
        )
    narrator.act(
        f'{seed.REQUESTER}: tsh request create --roles=editor --reason="{EDITOR_REASON}"',
        request=request.id,
        annotations=json.dumps({k: list(v) for k, v in request.system_annotations.items()}),
    )
    started = time.monotonic()
    incident = await _until(
        lambda: _incident_for(env, request.id),
        timeout=wait,
        expected=f'a PagerDuty incident for request {request.id} in "{seed.NOTIFY_SERVICE}"',
        observed=lambda: f"{len(env.pagerduty.incidents)} incident(s), none for this request",
    )
    if incident.service.id != pd.notify_service.id:
        raise DemoFailed(
            f'the incident in service "{seed.NOTIFY_SERVICE}"',
            f"it was opened in {incident.service.summary or incident.service.id}",
        )
    assignees = ", ".join(a.assignee.summary or a.assignee.id for a in incident.assignments)
    narrator.saw(
        f"incident {incident.id} opened in {incident.service.summary} ({_seconds(started)})",
        data={"incident_id": incident.id, "request_id": request.id},
        title=incident.title,
        status=incident.status,
        assigned=assignees or "nobody",
        incident_key=incident.incident_key or "",
        body=_incident_details(env, incident.id),
    )
    data = await _until(
        lambda: _recorded(env, request.id),
        timeout=wait,
        expected=f"the plugin to record incident {incident.id} in the request's plugin data",
        observed=lambda: f"plugin data {env.auth.plugin_data(request.id, 'pagerduty')}",
    )
    narrator.saw(
        f"plugin data 'pagerduty' on the request records incident_id={data['incident_id']}"
    )

    narrator.step(f"{seed.REVIEWER} approves it (guide: Resolve the request)")
    async with _as_user(env, seed.REVIEWER) as client:
        after = await client.submit_review(
            request.id, proposed_state=RequestState.APPROVED, reason=REVIEW_REASON
        )
    narrator.act(
        f'{seed.REVIEWER}: tsh request review --approve --reason="{REVIEW_REASON}" {request.id}'
    )
    narrator.saw(f"Teleport: the request is {after.state.name} (threshold approve: 1)")
    started = time.monotonic()
    resolved = await _until(
        lambda: _resolved(env, incident.id),
        timeout=wait,
        expected=f"incident {incident.id} to be resolved",
        observed=lambda: (
            f"its status is {env.pagerduty.incident(incident.id).status}, notes: "
            f"{[n.content for n in env.pagerduty.notes(incident.id)]}"
        ),
    )
    notes = env.pagerduty.notes(incident.id)
    review_notes = [n for n in notes if f"{seed.REVIEWER} reviewed the request" in n.content]
    resolution_notes = [n for n in notes if n.content.startswith("Access request has been")]
    if not review_notes or "Resolution: APPROVED." not in review_notes[0].content:
        raise DemoFailed(
            f"a note on {incident.id} for the review by {seed.REVIEWER}",
            f"notes {[n.content for n in notes]}",
        )
    if not resolution_notes or "approved" not in resolution_notes[0].content:
        raise DemoFailed(
            f'a resolution note "Access request has been approved" on {incident.id}',
            f"notes {[n.content for n in notes]}",
        )
    for note in notes:
        author = note.user.summary if note.user is not None else "unknown"
        kind = "review note" if note in review_notes else "note"
        if note in resolution_notes:
            kind = "resolution note"
        narrator.saw(f"{kind} added by {author}", content=note.content)
    narrator.saw(
        f"incident {resolved.id} {resolved.status} ({_seconds(started)} after the review)",
        data={"incident_id": resolved.id, "status": resolved.status},
    )


def _recorded(env: _Environment, request_id: str) -> dict[str, str] | None:
    data = env.auth.plugin_data(request_id, "pagerduty")
    return data if data and data.get("incident_id") else None


def _resolved(env: _Environment, incident_id: str) -> Incident | None:
    incident = env.pagerduty.incident(incident_id)
    return incident if incident.is_resolved else None


async def _auto_approval(narrator: _Narrator, env: _Environment, wait: float) -> None:
    from teleport_access import RequestState

    narrator.step(f"{seed.ON_CALL}, on call, requests demo-role (guide: Trigger auto-approval)")
    incidents_before = len(env.pagerduty.incidents)
    async with _as_user(env, seed.ON_CALL) as client:
        request = await client.create_access_request(
            seed.ON_CALL, ["demo-role"], reason=ON_CALL_REASON
        )
    narrator.act(
        f'{seed.ON_CALL}: tsh request create --roles=demo-role --reason="{ON_CALL_REASON}"',
        request=request.id,
        annotations=json.dumps({k: list(v) for k, v in request.system_annotations.items()}),
    )
    started = time.monotonic()
    review = await _until(
        lambda: next((r for r in _reviews(env, request.id) if r.author == seed.PLUGIN_USER), None),
        timeout=wait,
        expected=f"an approving review by {seed.PLUGIN_USER}",
        observed=lambda: _describe_request(env, request.id),
    )
    if review.proposed_state is not RequestState.APPROVED:
        raise DemoFailed("an APPROVED review", f"a {review.proposed_state.name} review")
    narrator.saw(
        f"review by {review.author}: {review.proposed_state.name} ({_seconds(started)})",
        data={"request_id": request.id, "author": review.author, "reason": review.reason},
        reason=review.reason,
    )
    approved = await _until(
        lambda: _in_state(env, request.id, RequestState.APPROVED),
        timeout=wait,
        expected=f"request {request.id} to be APPROVED",
        observed=lambda: _describe_request(env, request.id),
    )
    narrator.saw(f"Teleport: the request is {approved.state.name}; tsh requests ls shows it")
    if len(env.pagerduty.incidents) != incidents_before:
        raise DemoFailed(
            "no incident for demo-role (its role has no pagerduty_notify_service)",
            f"{len(env.pagerduty.incidents) - incidents_before} new incident(s)",
        )
    narrator.saw("no incident opened: demo-role-requester has no pagerduty_notify_service")


def _reviews(env: _Environment, request_id: str) -> tuple[Any, ...]:
    request = env.auth.get_request(request_id)
    return request.reviews if request is not None else ()


def _in_state(env: _Environment, request_id: str, state: Any) -> AccessRequest | None:
    request = env.auth.get_request(request_id)
    return request if request is not None and request.state == state else None


async def _not_on_call(narrator: _Narrator, env: _Environment, wait: float) -> None:
    from teleport_access import RequestState

    pd = env.pd_seed
    narrator.step(f"{seed.OFF_CALL}, not on call, requests demo-role")
    async with _as_user(env, seed.OFF_CALL) as client:
        request = await client.create_access_request(
            seed.OFF_CALL, ["demo-role"], reason=OFF_CALL_REASON
        )
    narrator.act(f"{seed.OFF_CALL}: tsh request create --roles=demo-role", request=request.id)

    def looked_up() -> bool | None:
        calls = env.pagerduty.requests_to("GET", "/oncalls")
        hit = any(("user_ids[]", pd.off_call.id) in call.query for call in calls)
        return True if hit else None

    await _until(
        looked_up,
        timeout=wait,
        expected=f"the plugin to ask PagerDuty whether {seed.OFF_CALL} is on call",
        observed=lambda: _describe_request(env, request.id),
    )
    narrator.saw(f"the plugin asked PagerDuty for {pd.off_call.name}'s on-call entries: none")
    await asyncio.sleep(_QUIET_PERIOD)
    current = env.auth.get_request(request.id)
    if current is None or current.state is not RequestState.PENDING or current.reviews:
        raise DemoFailed(
            f"request {request.id} to stay PENDING with no review",
            _describe_request(env, request.id),
        )
    narrator.saw(
        "no review: the request stays PENDING for a human reviewer",
        state=_describe_request(env, request.id),
    )


async def _routed_by_rule(
    narrator: _Narrator, env: _Environment, daemon: Daemon, wait: float
) -> None:
    """An Access Monitoring Rule sends myuser's next editor request to My Critical Service,
    whatever the role's annotation says (docs/access-monitoring-rules.md)."""
    pd = env.pd_seed
    narrator.step(
        f"An Access Monitoring Rule routes {seed.REQUESTER}'s editor requests to "
        f"{seed.CRITICAL_SERVICE} (docs/access-monitoring-rules.md)"
    )
    rule = env.auth.create_rule(seed.routing_rule())
    assert rule.notification is not None
    narrator.act(
        f"admin: tctl create {rule.name}.yaml",
        condition=rule.condition,
        recipients=", ".join(rule.notification.recipients),
    )
    await _until(
        lambda: True if any(r.name == rule.name for r in daemon.rules.rules) else None,
        timeout=wait,
        expected=f"the plugin to receive rule {rule.name} from its watch stream",
        observed=lambda: f"the plugin follows {daemon.rules_cached} rule(s)",
    )
    narrator.saw(f"the plugin follows rule {rule.name} (from its watch stream, no restart)")
    async with _as_user(env, seed.REQUESTER) as client:
        request = await client.create_access_request(
            seed.REQUESTER, ["editor"], reason=EDITOR_REASON
        )
    narrator.act(f"{seed.REQUESTER}: tsh request create --roles=editor", request=request.id)
    started = time.monotonic()
    incident = await _until(
        lambda: _incident_for(env, request.id),
        timeout=wait,
        expected=f'a PagerDuty incident for request {request.id} in "{seed.CRITICAL_SERVICE}"',
        observed=lambda: _describe_request(env, request.id),
    )
    if incident.service.id != pd.critical_service.id:
        raise DemoFailed(
            f'the incident in "{seed.CRITICAL_SERVICE}" (the rule\'s recipient)',
            f"it was opened in {incident.service.summary or incident.service.id}",
        )
    narrator.saw(
        f"incident {incident.id} opened in {incident.service.summary}, not in "
        f"{seed.NOTIFY_SERVICE} as the role's annotation says ({_seconds(started)})",
        data={"incident_id": incident.id, "request_id": request.id},
        status=incident.status,
    )


async def _serve_until_stopped(
    narrator: _Narrator, env: _Environment, stop: asyncio.Event | None
) -> None:
    loop = asyncio.get_running_loop()
    event = stop or asyncio.Event()
    installed: list[signal.Signals] = []
    if stop is None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, event.set)
                installed.append(signum)
    config = env.config_path
    text = (
        "\nThe fakes and the plugin keep running; press Ctrl-C to stop them.\n"
        f"  Teleport Auth Service  {env.auth.address}  (mutual TLS; admin identity "
        f"{env.admin_identity_path})\n"
        f"  PagerDuty API          {env.pagerduty_url}\n"
        f"  plugin config          {config}\n"
        f"  plugin identity        {env.identity_path}\n"
        f"  plugin log             {env.log_path}\n"
        "Try, in another terminal:\n"
        f"  tpd doctor -c {config}\n"
        f'  tpd check-oncall -c {config} {seed.ON_CALL} "{seed.CRITICAL_SERVICE}"\n'
        f'  tpd check-oncall -c {config} {seed.OFF_CALL} "{seed.CRITICAL_SERVICE}"'
    )
    narrator.intro(text)
    try:
        await event.wait()
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)
    narrator.intro("Stopping the plugin and the fakes.")
