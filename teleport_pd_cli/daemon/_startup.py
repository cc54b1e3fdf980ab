"""The daemon's start-up checks: credentials, Teleport reachable and new enough, PagerDuty key.

Each function either succeeds or raises `StartupError` with a message that says what to fix.
Connection problems (the Auth Service or PagerDuty not answering yet, a 5xx, a 429) are not
fatal: they are logged and retried with backoff until they pass, until the caller's `deadline`
(only when the operator asked for one), or until `stopping` is set (a signal during start-up).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from teleport_access import (
    AccessDenied,
    AccessRequestFilter,
    ConnectionProblem,
    DecorrelatedJitter,
    NotImplementedByServer,
    ServerInfo,
    TeleportError,
)
from teleport_pd_cli._exceptions import StartupAborted, StartupError
from teleport_pd_cli.policy._compat import MIN_SERVER_VERSION, server_version_supported

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient
    from teleport_access import AuthClient

__all__ = [
    "StartupAborted",
    "StartupError",
    "check_pagerduty",
    "check_server_version",
    "check_teleport",
]

logger = logging.getLogger(__name__)


T = TypeVar("T")


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


def check_server_version(version: str, minimum: str = MIN_SERVER_VERSION) -> None:
    """Raise StartupError when `version` is older than `minimum`; an unparsable version is
    logged and accepted (a custom build should not stop the plugin)."""
    supported = server_version_supported(version, minimum)
    if supported is None:
        logger.warning(
            "Cannot parse the Teleport server version %r; assuming it is at least %s",
            version,
            minimum,
        )
        return
    if not supported:
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
    """The PagerDuty credentials work: with Scoped OAuth, a token is issued and carries every
    scope tpd needs (before anything else); then `GET /abilities`. Refused credentials (401,
    403, an OAuth error) and a missing scope are fatal; no answer, 429 and 5xx are retried; any
    other refusal is logged and tolerated (calls will tell)."""
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

    oauth = pagerduty.auth is not None
    if oauth:
        await _check_oauth_token(pagerduty, transient, deadline, stopping, clock)
    credentials = "the OAuth token" if oauth else "the API key"
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
        if oauth:
            raise StartupError(
                "PagerDuty rejected the OAuth token (401): check that [pagerduty] "
                "account_subdomain and region name the account the app is registered in"
            ) from None
        raise StartupError(
            "PagerDuty rejected the API key (401): check [pagerduty] api_key (or "
            "TPD_PAGERDUTY_API_KEY); it must be a REST API key of your account"
        ) from None
    except Forbidden as exc:
        if oauth:
            raise StartupError(f"PagerDuty refused {credentials} (403): {exc}") from None
        raise StartupError(
            "PagerDuty refused the API key (403): the key may not use the REST API; "
            "use a full-access (not read-only) REST API key in [pagerduty] api_key"
        ) from None
    except APIError as exc:
        logger.warning("PagerDuty API health check answered %s; continuing", exc)
        return
    logger.debug("PagerDuty API health check finished ok")


async def _check_oauth_token(
    pagerduty: AsyncPagerDutyClient,
    transient: Callable[[Exception], bool],
    deadline: float | None,
    stopping: asyncio.Event,
    clock: Callable[[], float],
) -> None:
    """A token can be had and carries the scopes of every call tpd makes (`oauth_scopes`'
    default, derived from PagerDuty's OpenAPI document)."""
    from pagerduty_client import OAuthError
    from teleport_pd_cli.config import DEFAULT_OAUTH_SCOPES

    auth = pagerduty.auth
    assert auth is not None
    try:
        token = await _retrying(
            "Getting a PagerDuty OAuth token",
            auth.token,
            transient=transient,
            deadline=deadline,
            stopping=stopping,
            clock=clock,
        )
    except OAuthError as exc:
        raise StartupError(f"PagerDuty did not issue an OAuth token: {exc}") from None
    account = sorted(scope for scope in token.scopes if scope.startswith("as_account-"))
    granted = ", ".join(sorted(token.scopes - set(account))) or "no API scope"
    missing = sorted(token.missing(DEFAULT_OAUTH_SCOPES))
    if missing:
        raise StartupError(
            f"the PagerDuty OAuth token lacks the scope(s) {', '.join(missing)} that tpd "
            f"needs (granted: {granted}); tick them for the app in PagerDuty (Integrations > "
            "App Registration) and keep them in [pagerduty] oauth_scopes"
        )
    logger.info(
        "PagerDuty OAuth token issued for %s with the scopes %s", ", ".join(account), granted
    )
