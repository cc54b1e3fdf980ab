"""Building tpd's Teleport credentials and PagerDuty clients from its settings: the one place.

The daemon, the readiness probe and the command-line tools (`doctor`, `check-oncall`) all get
their clients here, so a new way to authenticate or a new endpoint rule is added once. What
differs between them is only how hard a client tries before it gives up (`PagerDutyUse`).
"""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from teleport_access import (
    CredentialsError,
    CredentialsExpired,
    IdentitySource,
    RefreshingIdentityFile,
    StaticIdentity,
    load_identity_file,
    load_tls_files,
)
from teleport_pd_cli._exceptions import ConfigError, CredentialsUnusable

if TYPE_CHECKING:
    import httpx

    from pagerduty_client import (
        AsyncOAuthTokenProvider,
        AsyncPagerDutyClient,
        CallObserver,
        RetryPolicy,
    )
    from teleport_access import AuthClient
    from teleport_pd_cli.config import PagerDutySettings, TeleportSettings

__all__ = [
    "CredentialsUnusable",
    "PagerDutyUse",
    "auth_client",
    "identity_source",
    "oauth_provider",
    "pagerduty_client",
]


class PagerDutyUse(enum.Enum):
    """Who the PagerDuty client is for, which sets its retry budget."""

    #: `tpd run`: retries end with the handler's time (`[tpd] handler_timeout`); the daemon
    #: re-attempts the request later.
    DAEMON = "daemon"
    #: A command-line check: a dead endpoint fails within seconds, not minutes.
    CHECK = "check"
    #: The readiness probe: one attempt, its outcome is the answer.
    PROBE = "probe"


def _retry(use: PagerDutyUse, handler_timeout: float) -> tuple[RetryPolicy, float]:
    """The retry policy and per-attempt timeout of `use`."""
    from pagerduty_client import RetryPolicy

    if use is PagerDutyUse.DAEMON:
        return RetryPolicy(max_elapsed=handler_timeout, max_rate_limit_wait=handler_timeout), 10.0
    if use is PagerDutyUse.CHECK:
        return RetryPolicy(max_attempts=3, max_elapsed=15.0, backoff_initial=0.25), 10.0
    return RetryPolicy(max_attempts=1), 10.0


def pagerduty_client(
    settings: PagerDutySettings,
    use: PagerDutyUse,
    *,
    handler_timeout: float = 30.0,
    observer: CallObserver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncPagerDutyClient:
    """An `AsyncPagerDutyClient` for `settings`, trying as hard as `use` calls for.

    `handler_timeout` bounds the daemon's retries; `observer` sees every attempt and retry (the
    metrics); `transport` replaces the network (tests). Raises ConfigError naming `[pagerduty]`
    when the settings cannot make a client (e.g. a malformed key or endpoint).
    """
    from pagerduty_client import AsyncPagerDutyClient, ConfigurationError

    retry, timeout = _retry(use, handler_timeout)
    try:
        auth = oauth_provider(settings, observer=observer, transport=transport)
        return AsyncPagerDutyClient(
            settings.api_key or None,
            auth=auth,
            base_url=settings.api_endpoint,
            user_email=settings.user_email or None,
            timeout=timeout,
            retry=retry,
            # Pacing shares one budget between the daemon's calls; a check makes a handful.
            requests_per_minute=(
                settings.requests_per_minute or None if use is PagerDutyUse.DAEMON else None
            ),
            observer=observer,
            transport=transport,
        )
    except ConfigurationError as exc:
        raise ConfigError(f"[pagerduty]: {exc}", key="pagerduty") from None


def oauth_provider(
    settings: PagerDutySettings,
    *,
    observer: CallObserver | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncOAuthTokenProvider | None:
    """The Scoped OAuth token provider of `settings` (None with an API key): the app's
    credentials, for the account `as_account-<region>.<account_subdomain>` (region "us" unless
    set), asking for `oauth_scopes`. Raises ConfigurationError (pagerduty_client's)."""
    from pagerduty_client import AsyncOAuthTokenProvider

    if not settings.oauth_client_id:
        return None
    return AsyncOAuthTokenProvider(
        settings.oauth_client_id,
        settings.oauth_client_secret,
        subdomain=settings.account_subdomain,
        region="eu" if settings.region == "eu" else "us",
        scopes=settings.oauth_scopes,
        token_url=settings.oauth_token_url,
        observer=observer,
        transport=transport,
    )


def identity_source(settings: TeleportSettings) -> IdentitySource:
    """The configured Teleport credentials: an identity file (re-read periodically with
    `refresh_identity`) or the three TLS files. Raises CredentialsUnusable saying what to fix."""
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
        raise CredentialsUnusable(
            f"No valid credentials found, this likely means credentials are expired: {exc}"
        ) from None
    except CredentialsError as exc:
        raise CredentialsUnusable(str(exc)) from None
    raise CredentialsUnusable(
        "no credentials configured: set [teleport] identity (an identity file from "
        "`tctl auth sign --format=file`), or client_key, client_crt and root_cas"
    )


def auth_client(settings: TeleportSettings, *, call_timeout: float = 10.0) -> AuthClient:
    """An `AuthClient` for a command-line tool: the configured credentials and address.
    Raises CredentialsUnusable, or ConfigError for an address that is not one."""
    from teleport_access import AuthClient

    source = identity_source(settings)
    try:
        return AuthClient(settings.addr, source, call_timeout=call_timeout)
    except ValueError as exc:
        raise ConfigError(f"[teleport] addr: {exc}", key="teleport.addr") from None
