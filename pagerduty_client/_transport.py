"""What both clients share around httpx: configuration, headers, request/answer conversion,
translation of httpx exceptions (the only place that happens), pacing and per-call logging.

`ClientCore` holds everything except the `await`s, so `AsyncPagerDutyClient` and
`PagerDutyClient` are thin drivers that differ only in how they send and sleep (`_sync.py` is
generated from `_client.py` by `scripts/gen_sync.py`).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import random as _random
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeAlias

import attrs
import httpx

from pagerduty_client._exceptions import ConfigurationError, TransportError, TransportTimeout
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
    "AsyncSleep",
    "CallAttempt",
    "CallObserver",
    "CallRetry",
    "ClientCore",
    "SyncSleep",
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


def _check_base_url(base_url: str) -> httpx.URL:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url {base_url!r} is not a URL: {exc}") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ConfigurationError(f"base_url {base_url!r} must be an https:// URL")
    if url.scheme == "http" and not _is_loopback(url.host):
        # The API key travels in a header: plain HTTP is only acceptable to a local test server.
        raise ConfigurationError(
            f"base_url {base_url!r} uses plain http; PagerDuty needs https "
            "(http is accepted only for 127.0.0.1/localhost test servers)"
        )
    if url.query or url.fragment:
        raise ConfigurationError(f"base_url {base_url!r} must not have a query or fragment")
    return url


def _check_email(user_email: str | None) -> str | None:
    if user_email is None:
        return None
    email = user_email.strip()
    if "@" not in email or any(ch.isspace() for ch in email) or not email.isascii():
        raise ConfigurationError(f"user_email {user_email!r} is not an email address")
    return email


class ClientCore:
    """Configuration and per-request bookkeeping shared by the async and the sync client."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str,
        user_email: str | None,
        token_type: TokenType,
        timeout: float,
        retry: RetryPolicy,
        requests_per_minute: float | None,
        clock: Callable[[], float] | None = None,
        random: Callable[[], float] | None = None,
        observer: CallObserver | None = None,
    ) -> None:
        key = _check_api_key(api_key)
        if token_type not in ("token", "bearer"):
            raise ConfigurationError(f'token_type must be "token" or "bearer", got {token_type!r}')
        if not isinstance(timeout, int | float) or not timeout > 0:
            raise ConfigurationError(f"timeout must be a positive number of seconds: {timeout!r}")
        if not isinstance(retry, RetryPolicy):
            raise ConfigurationError(f"retry must be a RetryPolicy, got {type(retry).__name__}")
        try:
            self.pacer = Pacer(requests_per_minute)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        self.base_url = _check_base_url(base_url)
        self.user_email = _check_email(user_email)
        self.token_type: TokenType = token_type
        self.timeout = float(timeout)
        self.retry = retry
        self.clock = clock or time.monotonic
        self.observer = observer
        header = f"Token token={key}" if token_type == "token" else f"Bearer {key}"
        self._authorization = _Secret(header)
        self._key = _Secret(key)
        self.context = Context(
            policy=retry,
            clock=self.clock,
            random=random or _random.random,
            has_from=self.user_email is not None,
        )

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments for the httpx client. The spec lists Accept and Content-Type as
        required headers of every operation, GETs included, so every request carries both."""
        return {
            "base_url": self.base_url,
            "headers": {
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Authorization": self._authorization.reveal(),
            },
            "timeout": self.timeout,
            "follow_redirects": False,
        }

    def pacing_delay(self) -> float:
        return self.pacer.reserve(self.clock())

    def hold_delay(self) -> float:
        return self.pacer.held(self.clock())

    def build(self, http: httpx.Client | httpx.AsyncClient, request: ApiRequest) -> httpx.Request:
        headers = {"From": self.user_email} if request.needs_from and self.user_email else None
        content = None
        if request.body is not None:
            content = json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode()
        return http.build_request(
            request.method, request.path, params=request.params, headers=headers, content=content
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
                text = response.content[:500].decode("utf-8", errors="replace")
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

    def translate(self, request: ApiRequest, exc: Exception, elapsed: float) -> TransportError:
        """The one place httpx exceptions become ours. The key is scrubbed from their text."""
        detail = self.scrub(str(exc)) or "(no detail)"
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

    def cause(self, exc: Exception) -> Exception | None:
        """The exception to chain (`raise ours from cause`): None if its text holds the key."""
        text = f"{exc!s} {exc!r} {exc.args!r}"
        return None if self._key.reveal() in text else exc

    def scrub(self, text: str) -> str:
        return text.replace(self._key.reveal(), "<redacted>")

    def describe(self, cls_name: str) -> str:
        return (
            f"{cls_name}(base_url={str(self.base_url)!r}, user_email={self.user_email!r}, "
            f"token_type={self.token_type!r}, timeout={self.timeout!r}, "
            f"requests_per_minute={self.pacer.rate!r})"
        )


def now() -> float:
    """Wall time for measuring call durations (never injected: it is not used to wait)."""
    return time.perf_counter()
