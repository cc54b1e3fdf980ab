# ruff: noqa: ASYNC109  (the harness waits take plain seconds, like the fakes' wait_for*)
"""The end-to-end world: the Go acceptance suite's Teleport users and roles and PagerDuty
services (reference §6.1/§6.2), a `tpd run` subprocess wrapper, and helpers to wait on effects.

Used by tests/e2e (as fixtures in conftest.py) and by the daemon's in-process tests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import attrs

from pagerduty_client import EscalationPolicy, Incident, Service
from pagerduty_client.testing import FakePagerDuty
from teleport_access import (
    AccessReviewThreshold,
    RequestConditions,
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
    auth.add_user(User(name=REQUESTER_OSS, roles=("oss-requester",)))
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
) -> str:
    return (
        f'[teleport]\naddr = "{teleport_address}"\nidentity = "{identity}"\n\n'
        f'[pagerduty]\napi_key = "{api_key}"\nuser_email = "{BOT_EMAIL}"\n'
        f'api_endpoint = "{pagerduty_url}"\n\n'
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
