"""The daemon's start-up checks: credentials, Teleport reachable and new enough, PagerDuty key.

Each function either succeeds or raises `StartupError` with a message that says what to fix.
Connection problems (the Auth Service or PagerDuty not answering yet, a 5xx, a 429) are not
fatal: they are logged and retried with backoff until they pass, until the caller's `deadline`
(only when the operator asked for one), or until `stopping` is set (a signal during start-up).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from teleport_access import (
    AccessDenied,
    AccessRequestFilter,
    ConnectionProblem,
    CredentialsError,
    CredentialsExpired,
    DecorrelatedJitter,
    IdentitySource,
    NotImplementedByServer,
    RefreshingIdentityFile,
    ServerInfo,
    StaticIdentity,
    TeleportError,
    load_identity_file,
    load_tls_files,
)
from teleport_pd_cli._exceptions import TpdError

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient
    from teleport_access import AuthClient
    from teleport_pd_cli.config import TeleportSettings

__all__ = [
    "MIN_SERVER_VERSION",
    "StartupAborted",
    "StartupError",
    "check_pagerduty",
    "check_server_version",
    "check_teleport",
    "identity_source",
    "parse_version",
]

logger = logging.getLogger("teleport_pd_cli.daemon")

#: The oldest Teleport the plugin works with (as the Go plugin).
MIN_SERVER_VERSION = "6.1.0"

T = TypeVar("T")


class StartupError(TpdError):
    """A problem that stops the daemon from starting; the message says what to fix."""


class StartupAborted(TpdError):
    """A stop was requested (or the start-up deadline passed) before the daemon was ready."""


# -- credentials ----------------------------------------------------------------------------------


def identity_source(settings: TeleportSettings) -> IdentitySource:
    """The configured credentials: an identity file (re-read periodically with
    `refresh_identity`) or the three TLS files. Raises StartupError."""
    try:
        if settings.identity is not None:
            if settings.refresh_identity:
                return RefreshingIdentityFile(
                    settings.identity, interval=settings.refresh_identity_interval
                )
            return StaticIdentity(load_identity_file(settings.identity))
        if (
            settings.client_key is not None
            and settings.client_crt is not None
            and settings.root_cas is not None
        ):
            return StaticIdentity(
                load_tls_files(settings.client_key, settings.client_crt, settings.root_cas)
            )
    except CredentialsExpired as exc:
        raise StartupError(
            f"No valid credentials found, this likely means credentials are expired: {exc}"
        ) from None
    except CredentialsError as exc:
        raise StartupError(str(exc)) from None
    raise StartupError(
        "no credentials configured: set [teleport] identity (an identity file from "
        "`tctl auth sign --format=file`), or client_key, client_crt and root_cas"
    )


# -- retrying -------------------------------------------------------------------------------------


async def _retrying(
    what: str,
    attempt: Callable[[], Awaitable[T]],
    *,
    transient: Callable[[Exception], bool],
    deadline: float | None,
    stopping: asyncio.Event,
    clock: Callable[[], float] = time.monotonic,
) -> T:
    """Call `attempt` until it succeeds; transient failures are logged and retried with
    decorrelated-jitter backoff (0.25 s to 10 s). Others propagate."""
    backoff = DecorrelatedJitter(0.25, 10.0, multiplier=3.0)
    failures = 0
    while True:
        try:
            return await attempt()
        except Exception as exc:
            if not transient(exc):
                raise
            failures += 1
            delay = backoff.next_delay()
            if deadline is not None:
                left = deadline - clock()
                if left <= 0:
                    raise StartupError(
                        f"{what} failed until the start-up deadline: {exc}"
                    ) from None
                delay = min(delay, left)
            log = logger.warning if failures <= 3 or failures % 10 == 0 else logger.debug
            log(
                "%s failed (%s). Retrying in %.1f s.",
                what,
                exc,
                delay,
                extra={"attempt": failures},
            )
        waiter = asyncio.ensure_future(stopping.wait())
        try:
            await asyncio.wait({waiter}, timeout=delay)
        finally:
            waiter.cancel()
        if stopping.is_set():
            raise StartupAborted(f"stopped while waiting: {what}")


# -- Teleport -------------------------------------------------------------------------------------

_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?")


def parse_version(text: str) -> tuple[int, int, int, tuple[int | str, ...] | None] | None:
    """Semantic version parts (major, minor, patch, pre-release or None); None if unparsable."""
    match = _VERSION.fullmatch(text.strip())
    if match is None:
        return None
    pre = None
    if match.group(4):
        pre = tuple(int(p) if p.isdigit() else p for p in match.group(4).split("."))
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), pre


def _version_key(parts: tuple[int, int, int, tuple[int | str, ...] | None]) -> tuple[object, ...]:
    major, minor, patch, pre = parts
    # A pre-release sorts before its release; identifiers compare numbers before words.
    pre_key: tuple[object, ...] = (
        (1,)
        if pre is None
        else (0, *((0, p, "") if isinstance(p, int) else (1, 0, p) for p in pre))
    )
    return (major, minor, patch, pre_key)


def check_server_version(version: str, minimum: str = MIN_SERVER_VERSION) -> None:
    """Raise StartupError when `version` is older than `minimum`; an unparsable version is
    logged and accepted (a custom build should not stop the plugin)."""
    parsed = parse_version(version)
    wanted = parse_version(minimum)
    assert wanted is not None
    if parsed is None:
        logger.warning(
            "Cannot parse the Teleport server version %r; assuming it is at least %s",
            version,
            minimum,
        )
        return
    if _version_key(parsed) < _version_key(wanted):
        raise StartupError(
            f"Teleport server version {version} is too old: server version must be at least "
            f"{minimum}"
        )


async def check_teleport(
    auth: AuthClient,
    *,
    deadline: float | None,
    stopping: asyncio.Event,
    clock: Callable[[], float] = time.monotonic,
) -> ServerInfo:
    """Ping (retrying connection problems), check the version and the plugin's right to list
    access requests. Returns what Ping said."""

    def transient(exc: Exception) -> bool:
        return isinstance(exc, ConnectionProblem)

    logger.debug("Checking Teleport server version")
    try:
        info = await _retrying(
            f"Connecting to the Teleport Auth Service at {auth.address}",
            auth.ping,
            transient=transient,
            deadline=deadline,
            stopping=stopping,
            clock=clock,
        )
    except NotImplementedByServer:
        raise StartupError(
            f"server version must be at least {MIN_SERVER_VERSION} (the Teleport Auth Service "
            f"at {auth.address} does not implement Ping)"
        ) from None
    except TeleportError as exc:
        raise StartupError(f"Unable to get Teleport server version: {exc}") from None
    check_server_version(info.server_version)

    async def probe() -> object:
        # The plugin cannot work without listing requests (catch-up after every connect).
        return await auth.list_access_requests(AccessRequestFilter(id="tpd-permission-check"))

    try:
        await _retrying(
            "Listing access requests",
            probe,
            transient=transient,
            deadline=deadline,
            stopping=stopping,
            clock=clock,
        )
    except AccessDenied as exc:
        raise StartupError(
            f"the plugin's Teleport user {auth.identity.username!r} may not list access "
            f"requests ({exc}): give its role the rules access_request: [list, read, update] "
            "and access_plugin_data: [update]"
        ) from None
    except TeleportError as exc:
        raise StartupError(f"Unable to list access requests: {exc}") from None
    return info


# -- PagerDuty ------------------------------------------------------------------------------------


async def check_pagerduty(
    pagerduty: AsyncPagerDutyClient,
    *,
    deadline: float | None,
    stopping: asyncio.Event,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """`GET /abilities`: a rejected key (401, 403) is fatal; no answer, 429 and 5xx are
    retried; any other refusal is logged and tolerated (calls will tell)."""
    from pagerduty_client import (
        APIError,
        Forbidden,
        RateLimited,
        ServerError,
        TransportError,
        Unauthorized,
    )

    def transient(exc: Exception) -> bool:
        return isinstance(exc, TransportError | RateLimited | ServerError)

    logger.debug("Starting PagerDuty API health check...")
    try:
        await _retrying(
            f"Reaching the PagerDuty API at {pagerduty.base_url}",
            pagerduty.abilities,
            transient=transient,
            deadline=deadline,
            stopping=stopping,
            clock=clock,
        )
    except Unauthorized:
        raise StartupError(
            "PagerDuty rejected the API key (401): check [pagerduty] api_key (or "
            "TPD_PAGERDUTY_API_KEY); it must be a REST API key of your account"
        ) from None
    except Forbidden:
        raise StartupError(
            "PagerDuty refused the API key (403): the key may not use the REST API; "
            "use a full-access (not read-only) REST API key in [pagerduty] api_key"
        ) from None
    except APIError as exc:
        logger.warning("PagerDuty API health check answered %s; continuing", exc)
        return
    logger.debug("PagerDuty API health check finished ok")
