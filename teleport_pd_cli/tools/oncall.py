"""`tpd check-oncall`: is a user on call right now for any of some PagerDuty services?

The same question the plugin asks before it approves a request, asked from the command line with
the plugin's own `[pagerduty]` settings, so an operator can see why a request was (or was not)
auto-approved. Three outcomes, which the CLI maps to exit codes:

* an `OnCallAnswer` with `on_call` True (exit 0): the services, escalation policies and levels;
* an `OnCallAnswer` with `on_call` False (exit 1): the user and every service exist, but the user
  is not on call for any of them now;
* `OnCallError` (exit 2): the question cannot be answered as asked: the email is not an exact
  address, no PagerDuty user has it, a service name matches no service, the API key is refused,
  or PagerDuty cannot be reached. The message is one line saying which.

Only `[pagerduty]` is used: a config whose `[teleport]` (or `[log]`, ...) part is missing or
incomplete still works (`load_pagerduty_settings`).
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from teleport_pd_cli._email import is_exact_email, same_email
from teleport_pd_cli._exceptions import ConfigError, OnCallError
from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client
from teleport_pd_cli.config import (
    ConfigWarning,
    PagerDutySettings,
    config_from_document,
    load_config,
    read_config_document,
)
from teleport_pd_cli.tools.evidence import reference_json, rota_text, time_json

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient, OnCallMatch, Reference, Service, User

__all__ = [
    "JSON_VERSION",
    "OnCallAnswer",
    "OnCallEntry",
    "OnCallError",
    "check_oncall",
    "describe_failure",
    "error_json",
    "load_pagerduty_settings",
]

#: Bumped only when a key of the `--json` document changes meaning or disappears.
JSON_VERSION = 1
#: How many users of PagerDuty's fuzzy search are compared for a "did you mean" hint.
_SUGGESTION_SCAN = 100


# -- config ---------------------------------------------------------------------------------------


def load_pagerduty_settings(
    path: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None
) -> tuple[PagerDutySettings, list[ConfigWarning]]:
    """The `[pagerduty]` settings of the config at `path`, and the warnings about them.

    The whole file is validated first (so its errors read exactly as `tpd run` would print
    them); when the only problem lies outside `[pagerduty]`, such as an incomplete `[teleport]`
    section, the file is read again with the `[pagerduty]` table alone. Raises ConfigError.
    """
    try:
        config, warnings = load_config(path, environ=environ)
    except ConfigError as exc:
        if exc.key is None or exc.key.split(".")[0] == "pagerduty":
            raise
        return _load_pagerduty_only(os.fspath(path), environ)
    return config.pagerduty, [w for w in warnings if w.key.split(".")[0] == "pagerduty"]


def _load_pagerduty_only(
    path: str, environ: Mapping[str, str] | None
) -> tuple[PagerDutySettings, list[ConfigWarning]]:
    # load_config has read and parsed this file already, so this succeeds here.
    document = read_config_document(path)
    only = {"pagerduty": document["pagerduty"]} if "pagerduty" in document else {}
    env = dict(os.environ if environ is None else environ)
    for name in [name for name in env if not name.startswith("TPD_PAGERDUTY_")]:
        if name.startswith("TPD_"):
            del env[name]
    config, warnings = config_from_document(only, path=path, environ=env)
    return config.pagerduty, warnings


# -- the answer -----------------------------------------------------------------------------------


def _policy_name(service: Service) -> str:
    return service.escalation_policy.summary or service.escalation_policy.id


@attrs.frozen(kw_only=True)
class OnCallEntry:
    """One reason the user is on call: `service`, through `escalation_policy` at `level`."""

    service: Service
    escalation_policy: Reference
    level: int
    schedule: Reference | None = None
    start: datetime | None = None
    end: datetime | None = None
    #: False when `[pagerduty.auto_approval] max_escalation_level` excludes this level.
    approvable: bool = True

    @classmethod
    def from_match(cls, match: OnCallMatch, max_escalation_level: int) -> OnCallEntry:
        return cls(
            service=match.service,
            escalation_policy=match.escalation_policy,
            level=match.escalation_level,
            schedule=match.schedule,
            start=match.start,
            end=match.end,
            approvable=max_escalation_level == 0 or match.escalation_level <= max_escalation_level,
        )

    def describe(self) -> str:
        policy = self.escalation_policy.summary or self.escalation_policy.id
        text = f'{self.service.name}: escalation policy "{policy}", level {self.level}'
        text += rota_text(self.schedule, self.end)
        if not self.approvable:
            text += " (above max_escalation_level: tpd would not auto-approve)"
        return text

    def to_json(self) -> dict[str, Any]:
        return {
            "service": {"id": self.service.id, "name": self.service.name},
            "escalation_policy": reference_json(self.escalation_policy),
            "escalation_level": self.level,
            "schedule": reference_json(self.schedule),
            "start": time_json(self.start),
            "end": time_json(self.end),
            "auto_approval_allowed": self.approvable,
        }


@attrs.frozen(kw_only=True)
class OnCallAnswer:
    """Whether `user` is on call now for any of `services` (all of which exist)."""

    email: str
    user: User
    services: tuple[Service, ...]
    entries: tuple[OnCallEntry, ...]
    #: `[pagerduty.auto_approval] max_escalation_level` (0: any level).
    max_escalation_level: int = 0

    @property
    def on_call(self) -> bool:
        return bool(self.entries)

    def lines(self) -> list[str]:
        """The human-readable answer, one line each."""
        who = f"{self.user.email} ({self.user.name}, PagerDuty user {self.user.id})"
        if not self.on_call:
            names = ", ".join(
                f'{s.name} (escalation policy "{_policy_name(s)}")' for s in self.services
            )
            return [f"{who} is not on call now for {names}."]
        lines = [f"{who} is on call now:"]
        lines += [f"  {entry.describe()}" for entry in self.entries]
        covered = {entry.service.id for entry in self.entries}
        for service in self.services:
            if service.id not in covered:
                lines.append(f"  {service.name}: not on call")
        return lines

    def to_json(self) -> dict[str, Any]:
        """The `--json` document (stable keys; see docs/cli.md)."""
        return {
            "version": JSON_VERSION,
            "email": self.email,
            "on_call": self.on_call,
            "user": {"id": self.user.id, "name": self.user.name, "email": self.user.email},
            "services": [
                {
                    "id": service.id,
                    "name": service.name,
                    "escalation_policy": reference_json(service.escalation_policy),
                }
                for service in self.services
            ],
            "on_call_for": [entry.to_json() for entry in self.entries],
            "max_escalation_level": self.max_escalation_level,
            "error": None,
        }


def error_json(email: str, message: str) -> dict[str, Any]:
    """The `--json` document of a question that could not be answered."""
    return {
        "version": JSON_VERSION,
        "email": email,
        "on_call": None,
        "user": None,
        "services": [],
        "on_call_for": [],
        "max_escalation_level": None,
        "error": message,
    }


# -- the check ------------------------------------------------------------------------------------


async def check_oncall(
    settings: PagerDutySettings,
    email: str,
    service_names: Sequence[str],
    *,
    client: AsyncPagerDutyClient | None = None,
) -> OnCallAnswer:
    """Ask PagerDuty whether `email` is on call now for any of `service_names`.

    Uses `client` if given (it is not closed), else one built from `settings`. Raises
    OnCallError for every question that cannot be answered as asked.
    """
    if not service_names:
        raise OnCallError("name at least one PagerDuty service")
    if not is_exact_email(email):
        raise OnCallError(
            f"{email!r} is not an exact email address; the plugin approves only requesters "
            "whose Teleport user name is their PagerDuty email"
        )
    own = client is None
    pd = pagerduty_client(settings, PagerDutyUse.CHECK) if client is None else client
    try:
        return await _check(pd, settings, email, service_names)
    finally:
        if own:
            await pd.aclose()


async def _check(
    pd: AsyncPagerDutyClient,
    settings: PagerDutySettings,
    email: str,
    service_names: Sequence[str],
) -> OnCallAnswer:
    from pagerduty_client import NotOnCallReason, PagerDutyError

    try:
        check = await pd.check_on_call(email, service_names)
        if check.reason is NotOnCallReason.USER_NOT_FOUND or (
            # PagerDuty (and the client) fold case with full Unicode rules; the plugin folds
            # ASCII only, so a look-alike such as the Kelvin sign is not the same address.
            check.user is not None and not same_email(check.user.email, email)
        ):
            raise OnCallError(await _no_such_user(pd, email))
    except PagerDutyError as exc:
        raise OnCallError(describe_failure(exc, settings)) from None
    if check.missing_services:
        missing = ", ".join(repr(name) for name in check.missing_services)
        noun = "service is" if len(check.missing_services) == 1 else "services are"
        raise OnCallError(f"no PagerDuty {noun} named {missing} (names match exactly, any case)")
    assert check.user is not None  # set whenever the user was found
    level = settings.auto_approval.max_escalation_level
    return OnCallAnswer(
        email=email,
        user=check.user,
        services=check.services,
        entries=tuple(OnCallEntry.from_match(match, level) for match in check.matches),
        max_escalation_level=level,
    )


async def _no_such_user(pd: AsyncPagerDutyClient, email: str) -> str:
    """ "no PagerDuty user has the email X", with close addresses PagerDuty's search finds."""
    from pagerduty_client import PagerDutyError

    message = f"no PagerDuty user has the email {email!r}"
    found: list[str] = []
    try:
        query = email.split("@", 1)[0]
        async for item in pd.iterate("/users", {"query": query}):
            address = item.get("email")
            if isinstance(address, str):
                found.append(address)
            if len(found) >= _SUGGESTION_SCAN:
                break
    except PagerDutyError:
        return message  # the hint is a courtesy; the answer stands without it
    close = difflib.get_close_matches(email.lower(), [a.lower() for a in found], n=3, cutoff=0.75)
    similar = [a for a in found if a.lower() in close and not same_email(a, email)]
    if similar:
        message += f" (similar: {', '.join(similar)})"
    return message


def describe_failure(exc: Exception, settings: PagerDutySettings) -> str:
    """One line saying why PagerDuty could not answer (refused credentials, unreachable, ...)."""
    from pagerduty_client import Forbidden, OAuthError, TransportError, Unauthorized

    endpoint = settings.api_endpoint
    if isinstance(exc, OAuthError):
        return f"PagerDuty did not issue an OAuth token: {exc}"
    oauth = bool(settings.oauth_client_id)
    if isinstance(exc, Unauthorized):
        if oauth:
            return (
                f"PagerDuty at {endpoint} refused the OAuth token (401 Unauthorized); check "
                "[pagerduty] account_subdomain and region"
            )
        return (
            f"PagerDuty at {endpoint} refused the API key (401 Unauthorized); "
            "check [pagerduty] api_key (or TPD_PAGERDUTY_API_KEY) and the region"
        )
    if isinstance(exc, Forbidden):
        if oauth:
            return f"PagerDuty at {endpoint} refused the OAuth token (403 Forbidden): {exc}"
        return (
            f"PagerDuty at {endpoint} does not let this API key read users, "
            "services and on-calls (403 Forbidden)"
        )
    if isinstance(exc, TransportError):
        return f"cannot reach PagerDuty at {endpoint}: {exc}"
    return f"PagerDuty at {endpoint}: {exc}"
