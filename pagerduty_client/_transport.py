"""What the clients and the token providers share around httpx: configuration, headers,
request/answer conversion, translation of httpx exceptions (the only place that happens), pacing
and per-call logging.

`HttpCore` holds everything except the `await`s; `ClientCore` adds the REST API client's
credentials and `From`, `TokenCore` the token endpoint's. `AsyncPagerDutyClient`,
`AsyncOAuthTokenProvider` and their synchronous twins are therefore thin drivers that differ
only in how they send and sleep (`_sync.py` is generated from `_client.py` by
`scripts/gen_sync.py`).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import os
import random as _random
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Literal, TypeAlias
from urllib.parse import urlencode

import attrs
import httpx

from pagerduty_client._exceptions import ConfigurationError, TransportError, TransportTimeout
from pagerduty_client._oauth import AccessToken, ClientCredentials
from pagerduty_client._pacing import Pacer
from pagerduty_client._plans import Context
from pagerduty_client._requests import ApiRequest, ApiResponse
from pagerduty_client._retry import RetryPolicy, rate_limit_wait
from pagerduty_client._version import __version__

__all__ = [
    "ACCEPT",
    "DEFAULT_BASE_URL",
    "EU_BASE_URL",
    "USER_AGENT",
    "AsyncLock",
    "AsyncSleep",
    "CallAttempt",
    "CallObserver",
    "CallRetry",
    "ClientCore",
    "HttpCore",
    "SyncLock",
    "SyncSleep",
    "TokenCore",
    "Verify",
]

log = logging.getLogger("pagerduty_client")

DEFAULT_BASE_URL = "https://api.pagerduty.com"
EU_BASE_URL = "https://api.eu.pagerduty.com"
#: PagerDuty's versioning header (REST API v2).
ACCEPT = "application/vnd.pagerduty+json;version=2"
USER_AGENT = f"tpd-pagerduty_client/{__version__} python-httpx/{httpx.__version__}"

TokenType = Literal["token", "bearer"]

#: httpx exceptions raised before a single byte of the request can have reached PagerDuty.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@attrs.frozen(kw_only=True)
class CallAttempt:
    """One HTTP attempt, reported to a client's `observer` when it ends (for metrics)."""

    method: str
    #: The documented path with placeholders ("/incidents/{id}/notes"): few distinct values.
    endpoint: str
    #: The HTTP status; None when no answer came (timeout, connection failure).
    status: int | None
    #: Seconds from sending the request to its answer or failure.
    elapsed: float


@attrs.frozen(kw_only=True)
class CallRetry:
    """A failed attempt of this request will be repeated after `delay` seconds."""

    method: str
    endpoint: str
    delay: float


#: The injectable sleep of each client. The pair is named so that unasync's `Async*` -> `Sync*`
#: rule maps one onto the other when `scripts/gen_sync.py` writes the synchronous client.
AsyncSleep: TypeAlias = Callable[[float], Awaitable[None]]
SyncSleep: TypeAlias = Callable[[float], None]
#: The token provider's lock (one fetch at a time), named for unasync likewise.
AsyncLock = asyncio.Lock
SyncLock = threading.Lock

#: How to check the server's TLS certificate: True (the system's CAs), a CA bundle's path (e.g.
#: `FakePagerDuty.ca_file`), an `ssl.SSLContext`, or False (never in production).
Verify: TypeAlias = ssl.SSLContext | str | os.PathLike[str] | bool

#: A client's per-call hook. It runs synchronously on every attempt, so it must be quick; an
#: exception it raises is logged and otherwise ignored.
CallObserver: TypeAlias = Callable[[CallAttempt | CallRetry], object]


class _Secret:
    """Holds the Authorization header value; its repr and str never show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__


def _check_api_key(api_key: object) -> str:
    # Never echo the key in these messages: a wrong value may still be a real secret.
    if not isinstance(api_key, str):
        raise ConfigurationError(f"api_key must be a string, got {type(api_key).__name__}")
    if not api_key:
        raise ConfigurationError("api_key is empty")
    if any(not ("!" <= ch <= "~") for ch in api_key):
        raise ConfigurationError(
            "api_key contains whitespace or non-ASCII characters (a stray newline from a file?)"
        )
    return api_key


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_url(value: str, name: str = "base_url") -> httpx.URL:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"{name} {value!r} is not a URL: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"{name} {value!r} must be an https:// URL")
    if url.scheme == "http" and not _is_loopback(url.host):
        # Credentials travel in it: plain HTTP is only acceptable to a local test server.
        raise ConfigurationError(
            f"{name} {value!r} uses plain http; PagerDuty needs https "
            "(http is accepted only for 127.0.0.1/localhost test servers)"
        )
    if url.query or url.fragment:
        raise ConfigurationError(f"{name} {value!r} must not have a query or fragment")
    return url


def _check_email(user_email: str | None) -> str | None:
    if user_email is None:
        return None
    email = user_email.strip()
    if "@" not in email or any(ch.isspace() for ch in email) or not email.isascii():
        raise ConfigurationError(f"user_email {user_email!r} is not an email address")
    return email


def _check_common(timeout: float, retry: RetryPolicy) -> None:
    if not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(f"timeout must be a positive number of seconds: {timeout!r}")
    if not isinstance(retry, RetryPolicy):
        raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}")


class HttpCore:
    """Configuration and per-request bookkeeping of one httpx client (API or token endpoint).

    `authorization` is a fixed `Authorization` header (an API key's); `secrets` are the values
    scrubbed from foreign exception texts (the API key, the client secret). The token a request
    carried is passed along with that request.
    """

    def __init__(
        self,
        *,
        base_url: httpx.URL,
        headers: dict[str, str],
        timeout: float,
        retry: RetryPolicy,
        requests_per_minute: float | None,
        clock: Callable[[], float] | None,
        observer: CallObserver | None,
        verify: Verify,
        authorization: str | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        _check_common(timeout, retry)
        try:
            self.pacer = Pacer(requests_per_minute)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if isinstance(verify, str | os.PathLike):
            # httpx takes a context; it deprecates paths.
            try:
                verify = ssl.create_default_context(cafile=os.fspath(verify))
            except (OSError, ssl.SSLError) as exc:
                raise ConfigurationError(
                    f"verify: cannot load the CA bundle {verify}: {exc}"
                ) from None
        if not isinstance(verify, ssl.SSLContext | bool):
            raise ConfigurationError(
                f"verify must be True, False, a CA bundle path or an SSLContext, got "
                f"{type(verify).__name__}"
            )
        self.base_url = base_url
        self.timeout = float(timeout)
        self.retry = retry
        self.clock = clock or time.monotonic
        self.observer = observer
        self._headers = headers
        self._authorization = _Secret(authorization) if authorization is not None else None
        self._verify = verify
        self._secrets = tuple(_Secret(value) for value in secrets if value)

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments for the httpx client."""
        headers = dict(self._headers)
        if self._authorization is not None:
            headers["Authorization"] = self._authorization.reveal()
        return {
            "base_url": self.base_url,
            "headers": headers,
            "timeout": self.timeout,
            "follow_redirects": False,
            "verify": self._verify,
        }

    def pacing_delay(self) -> float:
        return self.pacer.reserve(self.clock())

    def hold_delay(self) -> float:
        return self.pacer.held(self.clock())

    def headers_for(self, request: ApiRequest) -> dict[str, str]:
        """Headers this request adds to the client's defaults."""
        if request.form is not None:
            return {"Content-Type": "application/x-www-form-urlencoded"}
        return {}

    def build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        request: ApiRequest,
        token: AccessToken | None = None,
    ) -> httpx.Request:
        headers = self.headers_for(request)
        if token is not None:
            headers["Authorization"] = token.authorization
        content = None
        if request.form is not None:
            content = urlencode(request.form).encode()
        elif request.body is not None:
            content = json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode()
        return http.build_request(
            request.method,
            request.path,
            params=request.params,
            headers=headers or None,
            content=content,
        )

    def finish(self, request: ApiRequest, response: httpx.Response, elapsed: float) -> ApiResponse:
        """Convert httpx's answer, log it, and hold all requests if it was a 429 with a reset."""
        headers = dict(response.headers.items())
        body: Any = None
        text = ""
        if response.content:
            try:
                body = json.loads(response.content)
            except ValueError:
                text = self.scrub(response.content[:500].decode("utf-8", errors="replace"))
        answer = ApiResponse(
            status=response.status_code,
            headers=headers,
            body=body,
            text=text,
            request_id=headers.get("x-request-id"),
            elapsed=elapsed,
        )
        self.notify(
            CallAttempt(
                method=request.method,
                endpoint=request.template,
                status=answer.status,
                elapsed=elapsed,
            )
        )
        if answer.status == 429 and (wait := rate_limit_wait(headers)) is not None:
            self.pacer.hold(self.clock() + min(wait[0], self.retry.max_rate_limit_wait))
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "PagerDuty %s %s -> %d in %.1f ms [x-request-id %s]",
                request.method,
                request.template,
                answer.status,
                elapsed * 1000,
                answer.request_id,
                extra={
                    "pd_method": request.method,
                    "pd_path": request.template,
                    "pd_status": answer.status,
                    "pd_request_id": answer.request_id,
                    "pd_duration_ms": round(elapsed * 1000, 3),
                },
            )
        return answer

    def translate(
        self,
        request: ApiRequest,
        exc: Exception,
        elapsed: float,
        token: AccessToken | None = None,
    ) -> TransportError:
        """The one place httpx exceptions become ours. Secrets are scrubbed from their text."""
        detail = self.scrub(str(exc), token) or "(no detail)"
        cls = TransportTimeout if isinstance(exc, httpx.TimeoutException) else TransportError
        error = cls(
            f"{request.method} {request.template}: no answer from PagerDuty "
            f"({type(exc).__name__}: {detail})",
            method=request.method,
            path=request.template,
            maybe_processed=not isinstance(exc, _NOT_SENT),
        )
        self.notify(
            CallAttempt(
                method=request.method, endpoint=request.template, status=None, elapsed=elapsed
            )
        )
        log.debug(
            "PagerDuty %s %s -> no answer after %.1f ms: %s",
            request.method,
            request.template,
            elapsed * 1000,
            error,
            extra={
                "pd_method": request.method,
                "pd_path": request.template,
                "pd_status": None,
                "pd_duration_ms": round(elapsed * 1000, 3),
            },
        )
        return error

    def retrying(self, request: ApiRequest | None, delay: float) -> None:
        """Report that the plan will repeat `request` (its latest attempt failed)."""
        if request is not None:
            self.notify(CallRetry(method=request.method, endpoint=request.template, delay=delay))

    def notify(self, event: CallAttempt | CallRetry) -> None:
        if self.observer is None:
            return
        try:
            self.observer(event)
        except Exception:
            log.exception("PagerDuty client observer failed on %r", event)

    def _secret_values(self, token: AccessToken | None) -> list[str]:
        values = [secret.reveal() for secret in self._secrets]
        if token is not None:
            values.append(token.value)
        return values

    def cause(self, exc: Exception, token: AccessToken | None = None) -> Exception | None:
        """The exception to chain (`raise ours from cause`): None if its text holds a secret."""
        text = f"{exc!s} {exc!r} {exc.args!r}"
        return None if any(value in text for value in self._secret_values(token)) else exc

    def scrub(self, text: str, token: AccessToken | None = None) -> str:
        for value in self._secret_values(token):
            text = text.replace(value, "<redacted>")
        return text


class ClientCore(HttpCore):
    """The REST API client's configuration: its credentials, `From`, and what plans need."""

    def __init__(
        self,
        api_key: str | None,
        *,
        has_provider: bool,
        base_url: str,
        user_email: str | None,
        token_type: TokenType,
        timeout: float,
        retry: RetryPolicy,
        requests_per_minute: float | None,
        clock: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
        verify: Verify = True,
    ) -> None:
        if has_provider and api_key is not None:
            raise ConfigurationError(
                "give either api_key or auth (an OAuth token provider), not both"
            )
        if not has_provider and api_key is None:
            raise ConfigurationError("give api_key, or auth=<an OAuth token provider>")
        if token_type not in ("token", "bearer"):
            raise ConfigurationError(f'token_type must be "token" or "bearer", got {token_type!r}')
        headers = {"Accept": ACCEPT, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        key = authorization = None
        if api_key is not None:
            key = _check_api_key(api_key)
            authorization = f"Token token={key}" if token_type == "token" else f"Bearer {key}"
        # The spec lists Accept and Content-Type as required headers of every operation, GETs
        # included, so every request carries both.
        super().__init__(
            base_url=_check_url(base_url),
            headers=headers,
            timeout=timeout,
            retry=retry,
            requests_per_minute=requests_per_minute,
            clock=clock,
            observer=observer,
            verify=verify,
            authorization=authorization,
            secrets=[key] if key is not None else [],
        )
        self.user_email = _check_email(user_email)
        self.token_type: TokenType = "bearer" if has_provider else token_type
        self.context = Context(
            policy=retry,
            clock=self.clock,
            random=random or _random.random,
            has_from=self.user_email is not None,
            oauth=self.token_type == "bearer",
            renewable=has_provider,
        )

    def headers_for(self, request: ApiRequest) -> dict[str, str]:
        if request.needs_from and self.user_email:
            return {"From": self.user_email}
        return {}

    def describe(self, cls_name: str) -> str:
        return (
            f"{cls_name}(base_url={str(self.base_url)!r}, user_email={self.user_email!r}, "
            f"token_type={self.token_type!r}, timeout={self.timeout!r}, "
            f"requests_per_minute={self.pacer.rate!r})"
        )


class TokenCore(HttpCore):
    """A token provider's configuration: the token endpoint, the credentials and the scopes."""

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        subdomain: str,
        region: str,
        scopes: Iterable[str],
        token_url: str,
        renew_after: float,
        timeout: float,
        retry: RetryPolicy,
        clock: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
        verify: Verify = True,
    ) -> None:
        url = _check_url(token_url, "token_url")
        self.credentials = ClientCredentials.create(
            client_id,
            client_secret,
            subdomain=subdomain,
            region=region,
            scopes=scopes,
            token_path=url.raw_path.decode("ascii") or "/",
            renew_after=renew_after,
        )
        super().__init__(
            base_url=url.copy_with(raw_path=b"/"),
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            timeout=timeout,
            retry=retry,
            requests_per_minute=None,
            clock=clock,
            observer=observer,
            verify=verify,
            secrets=[client_secret],
        )
        self.token_url = str(url)
        self.context = Context(
            policy=retry, clock=self.clock, random=random or _random.random, has_from=False
        )

    def describe(self, cls_name: str) -> str:
        credentials = self.credentials
        return (
            f"{cls_name}(client_id={credentials.client_id!r}, "
            f"scope={credentials.scope!r}, token_url={self.token_url!r})"
        )


def now() -> float:
    """Wall time for measuring call durations (never injected: it is not used to wait)."""
    return time.perf_counter()
