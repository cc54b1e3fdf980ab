"""`[metrics] listen`: the metrics and health endpoints of `tpd run`.

`serve_metrics(settings, daemon, pagerduty=...)` is what the process calls: it counts the
daemon's events in a new `Metrics`, serves them and the daemon's health, and checks PagerDuty
itself while the daemon does not call it. `MetricsServer` serves, over HTTP/1.1:

* `/metrics`: every family, Prometheus text format 0.0.4;
* `/healthz`: 200 while the process answers (a blocked event loop cannot answer);
* `/readyz`: the daemon's `Health.readiness()`: 200 `ready`, or 503 `not ready: <reasons>`.

What ready means, and when PagerDuty counts as reachable, is decided in
`teleport_pd_cli.daemon.health`; this module only serves it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from teleport_pd_cli._exceptions import ConfigError, TpdError
from teleport_pd_cli.config import MetricsSettings, PagerDutySettings
from teleport_pd_cli.ops._http import HttpServer, Response
from teleport_pd_cli.ops.metrics import CONTENT_TYPE, DaemonView, Metrics

__all__ = ["MetricsServer", "serve_metrics"]

logger = logging.getLogger(__name__)

_NO_STORE = ("Cache-Control", "no-store")
_INDEX = b"tpd: /metrics (Prometheus), /healthz (alive), /readyz (ready)\n"


class MetricsServer:
    """`/metrics`, `/healthz` and `/readyz` for `metrics` (and its daemon's health) on host:port
    (host "": every interface; port 0: any free port).

    `pagerduty_probe` (e.g. a client's `abilities`), when given, is called whenever PagerDuty
    has not been heard from for 30 s, so readiness stays current while no request comes in
    (`Health.keep_checking`). `on_close` runs last in `aclose()`. Use `async with` or
    `start()` / `aclose()`.
    """

    def __init__(
        self,
        metrics: Metrics,
        host: str,
        port: int,
        *,
        pagerduty_probe: Callable[[], Awaitable[object]] | None = None,
        on_close: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.metrics = metrics
        self._health = metrics.daemon.health
        self._host = host
        self._http = HttpServer(self._handle, host, port)
        self._port = port
        self._probe = pagerduty_probe
        self._probe_task: asyncio.Task[None] | None = None
        self._on_close = on_close

    async def start(self) -> None:
        """Listen, and start checking PagerDuty. TpdError if the address cannot be bound."""
        try:
            await self._http.start()
        except OSError as exc:
            raise TpdError(
                f"[metrics] listen: cannot listen on {self._host or '*'}:{self._port}: "
                f"{exc.strerror or exc}"
            ) from None
        if self._probe is not None:
            self._probe_task = asyncio.create_task(
                self._health.keep_checking(self._probe), name="tpd-pagerduty-probe"
            )
        logger.info("Serving metrics and health checks on %s", self.url)

    @property
    def port(self) -> int:
        return self._http.port

    @property
    def url(self) -> str:
        """The base URL, e.g. http://127.0.0.1:9090 (the wildcard shown as 0.0.0.0)."""
        host = self._host or "0.0.0.0"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    async def aclose(self) -> None:
        if self._probe_task is not None:
            self._probe_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._probe_task
            self._probe_task = None
        await self._http.aclose()
        if self._on_close is not None:
            on_close, self._on_close = self._on_close, None
            await on_close()

    async def __aenter__(self) -> MetricsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def _handle(self, path: str) -> Response:
        if path == "/metrics":
            return Response(
                status=200,
                body=self.metrics.render(),
                content_type=CONTENT_TYPE,
                headers=(_NO_STORE,),
            )
        if path == "/healthz":
            return Response(status=200, body=b"ok\n", headers=(_NO_STORE,))
        if path == "/readyz":
            readiness = self._health.readiness()
            return Response(
                status=200 if readiness.ready else 503,
                body=f"{readiness}\n".encode(),
                headers=(_NO_STORE,),
            )
        if path == "/":
            return Response(status=200, body=_INDEX)
        return Response(status=404, body=b"not found: try /metrics, /healthz or /readyz\n")


async def serve_metrics(
    settings: MetricsSettings,
    daemon: DaemonView,
    *,
    pagerduty: PagerDutySettings | None = None,
) -> MetricsServer | None:
    """Serve `[metrics] listen` for `daemon`; None when it is disabled (empty).

    The daemon's events feed a new `Metrics`. With `pagerduty`, a client of the server's own
    (`PagerDutyUse.PROBE`: one attempt) checks `GET /abilities` whenever PagerDuty has not been
    heard from for 30 s; its attempts are counted too. Start it before the daemon, so /healthz
    answers during start-up; `await server.aclose()` stops serving, counting and checking.
    Raises TpdError when the address cannot be bound.
    """
    if not settings.enabled:
        return None
    from pagerduty_client import AsyncPagerDutyClient
    from teleport_pd_cli.clients import PagerDutyUse, pagerduty_client

    metrics = Metrics(daemon)
    probe_client: AsyncPagerDutyClient | None = None
    if pagerduty is not None:
        # Unusable settings: no checks; the daemon reports the problem as a fatal start-up error.
        with contextlib.suppress(ConfigError):
            probe_client = pagerduty_client(
                pagerduty, PagerDutyUse.PROBE, observer=metrics.on_event
            )

    async def close() -> None:
        metrics.close()
        if probe_client is not None:
            await probe_client.aclose()

    server = MetricsServer(
        metrics,
        settings.host,
        settings.port,
        pagerduty_probe=probe_client.abilities if probe_client is not None else None,
        on_close=close,
    )
    try:
        await server.start()
    except BaseException:
        await close()
        raise
    return server
