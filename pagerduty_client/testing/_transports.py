"""In-process front end of the fake PagerDuty: httpx transports that call the core directly.

No sockets, so fast (the client's own overhead can be measured against it), yet the client runs
its full stack: headers, JSON, status handling, retries. Failures are translated the way httpx's
network transport would report them: a dropped connection is `httpx.RemoteProtocolError`, and a
response delay at least as long as the request's read timeout is `httpx.ReadTimeout` (after the
core has processed the request, like a slow server whose answer arrives too late).
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl

import httpx

from pagerduty_client.testing._app import FakeApp, FakeRequest, FakeResponse

__all__ = ["FakeAsyncTransport", "FakeSyncTransport"]


def _to_fake(request: httpx.Request, body: bytes) -> FakeRequest:
    raw_path, _, _ = request.url.raw_path.partition(b"?")
    return FakeRequest(
        method=request.method,
        path=raw_path.decode("ascii"),
        query=tuple(parse_qsl(request.url.query.decode("ascii"), keep_blank_values=True)),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return float(value) if value is not None else None


def _too_late(request: httpx.Request, response: FakeResponse) -> bool:
    """Whether the answer's delay reaches the request's read timeout (the client gives up)."""
    timeout = _read_timeout(request)
    return bool(response.delay) and timeout is not None and response.delay >= timeout


def _wait(request: httpx.Request, response: FakeResponse) -> float:
    """Seconds until the answer arrives or the client gives up, whichever comes first."""
    timeout = _read_timeout(request)
    return response.delay if timeout is None else min(response.delay, timeout)


def _to_httpx(request: httpx.Request, response: FakeResponse) -> httpx.Response:
    """The answer as httpx's network transport would give it, after `_wait`."""
    if _too_late(request, response):
        raise httpx.ReadTimeout("fake PagerDuty answered too late", request=request)
    if response.disconnect:
        raise httpx.RemoteProtocolError(
            "Server disconnected without sending a response.", request=request
        )
    return httpx.Response(
        response.status, headers=list(response.headers), content=response.body, request=request
    )


class FakeAsyncTransport(httpx.AsyncBaseTransport):
    """For `httpx.AsyncClient(transport=...)` / `AsyncPagerDutyClient(transport=...)`."""

    def __init__(self, app: FakeApp) -> None:
        self._app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = self._app.handle(_to_fake(request, await request.aread()))
        if wait := _wait(request, response):
            await asyncio.sleep(wait)
        return _to_httpx(request, response)


class FakeSyncTransport(httpx.BaseTransport):
    """For `httpx.Client(transport=...)` / `PagerDutyClient(transport=...)`."""

    def __init__(self, app: FakeApp) -> None:
        self._app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._app.handle(_to_fake(request, request.read()))
        if wait := _wait(request, response):
            time.sleep(wait)
        return _to_httpx(request, response)
