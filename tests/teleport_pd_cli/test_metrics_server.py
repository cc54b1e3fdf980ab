"""The metrics and health endpoints over a real loopback socket: what each path answers, HTTP/1.1
details and limits of the h11-based server, and `serve_metrics`."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from pagerduty_client import CallAttempt
from pagerduty_client.testing import FakePagerDuty
from teleport_pd_cli._exceptions import TpdError
from teleport_pd_cli.config import MetricsSettings, PagerDutySettings
from teleport_pd_cli.daemon.events import IncidentCreated
from teleport_pd_cli.ops._http import HttpServer, Response
from teleport_pd_cli.ops.endpoints import MetricsServer, serve_metrics
from teleport_pd_cli.ops.metrics import Metrics
from tests.teleport_pd_cli.daemon_view import FakeDaemon


@pytest.fixture
def daemon() -> FakeDaemon:
    return FakeDaemon()


@pytest.fixture
async def server(daemon: FakeDaemon) -> AsyncIterator[MetricsServer]:
    async with MetricsServer(Metrics(daemon), "127.0.0.1", 0) as server:
        yield server


async def exchange(port: int, data: bytes) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read()
    finally:
        writer.close()
        await writer.wait_closed()


# -- the endpoints -----------------------------------------------------------------------------


async def test_metrics_are_served_with_the_exposition_content_type(
    server: MetricsServer, daemon: FakeDaemon
) -> None:
    daemon.emit(IncidentCreated(request_id="r1", incident_id="P1", service_name="S"))
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "\ntpd_incidents_created_total 1.0\n" in response.text
    assert response.text.startswith("# HELP tpd_events_handled_total ")


async def test_healthz_answers_200_ok(server: MetricsServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


async def test_readyz_answers_503_with_the_reasons_then_200_once_ready(
    server: MetricsServer, daemon: FakeDaemon
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = await client.get("/readyz")
        daemon.make_ready()
        after = await client.get("/readyz")
    assert before.status_code == 503
    assert before.text == (
        "not ready: Teleport watch stream not connected yet; PagerDuty not reached yet\n"
    )
    assert (after.status_code, after.text) == (200, "ready\n")


async def test_unknown_paths_are_404_and_the_root_lists_the_endpoints(
    server: MetricsServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        missing = await client.get("/nope")
        root = await client.get("/")
    assert missing.status_code == 404
    assert "/metrics" in root.text


async def test_a_query_string_is_ignored_and_the_path_is_percent_decoded(
    server: MetricsServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        query = await client.get("/healthz?verbose=1")
        encoded = await client.get("/health%7A")
    assert (query.status_code, encoded.status_code) == (200, 200)


async def test_the_absolute_form_of_a_target_is_served(server: MetricsServer) -> None:
    answer = await exchange(
        server.port,
        b"GET http://tpd:9090/healthz?x HTTP/1.1\r\nHost: tpd\r\nConnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")


# -- HTTP/1.1 ----------------------------------------------------------------------------------


async def test_one_connection_serves_several_requests(server: MetricsServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = await exchange(server.port, request * 2 + last)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answer.lower().count(b"connection: close") == 1


async def test_http_1_0_gets_one_answer_and_the_connection_closes(server: MetricsServer) -> None:
    answer = await exchange(server.port, b"GET /healthz HTTP/1.0\r\n\r\n" * 2)
    assert answer.count(b"200 OK") == 1
    assert b"connection: close" in answer.lower()


async def test_head_sends_the_headers_of_get_without_the_body(server: MetricsServer) -> None:
    answer = await exchange(
        server.port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"content-length: 3" in head.lower()
    assert body == b""


async def test_other_methods_get_405_with_allow_and_the_connection_closes(
    server: MetricsServer,
) -> None:
    answer = await exchange(
        server.port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert b"allow: get, head" in answer.lower()
    assert b"connection: close" in answer.lower()


async def test_a_get_with_a_body_is_answered_and_the_connection_closes(
    server: MetricsServer,
) -> None:
    answer = await exchange(
        server.port,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    assert answer.count(b"200 OK") == 1
    assert b"connection: close" in answer.lower()


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
        (b"GET /healthz HTTP/x\r\n\r\n", b"400"),
        (b"GET healthz HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\n\r\n", b"400"),  # HTTP/1.1 requires Host
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nbad header\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n", b"400"),
    ],
)
async def test_a_malformed_request_gets_an_error_and_the_connection_closes(
    server: MetricsServer, head: bytes, status: bytes
) -> None:
    answer = await exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 " + status)
    assert b"connection: close" in answer.lower()


async def test_an_oversized_request_head_gets_431(server: MetricsServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 32_000 + b"\r\n\r\n"
    answer = await exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_a_slow_client_does_not_hold_up_another(server: MetricsServer) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: sl")  # and nothing more for now
        await writer.drain()
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as client:
            assert (await client.get("/healthz")).status_code == 200
        writer.write(b"ow\r\nConnection: close\r\n\r\n")
        async with asyncio.timeout(10):
            assert (await reader.read()).startswith(b"HTTP/1.1 200 OK\r\n")
    finally:
        writer.close()
        await writer.wait_closed()


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    async with HttpServer(
        lambda path: Response(status=200), "127.0.0.1", 0, idle_timeout=0.2
    ) as http:
        reader, writer = await asyncio.open_connection("127.0.0.1", http.port)
        try:
            async with asyncio.timeout(10):
                assert await reader.read() == b""
        finally:
            writer.close()
            await writer.wait_closed()


async def test_a_handler_that_raises_gives_500_and_the_server_goes_on() -> None:
    def handler(path: str) -> Response:
        if path == "/boom":
            raise RuntimeError("boom")
        return Response(status=204)

    async with HttpServer(handler, "127.0.0.1", 0) as http, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{http.port}"
        assert (await client.get(f"{base}/boom")).status_code == 500
        assert (await client.get(f"{base}/fine")).status_code == 204


async def test_closing_the_server_closes_open_connections() -> None:
    http = HttpServer(lambda path: Response(status=200), "127.0.0.1", 0)
    await http.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", http.port)
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # an answer proves it was accepted
        await reader.readuntil(b"\r\n\r\n")
        await http.aclose()
        async with asyncio.timeout(10):
            assert await reader.read() == b""
    finally:
        writer.close()
        await writer.wait_closed()


async def test_a_busy_port_is_a_tpd_error_naming_the_key(daemon: FakeDaemon) -> None:
    async with MetricsServer(Metrics(daemon), "127.0.0.1", 0) as first:
        second = MetricsServer(Metrics(daemon), "127.0.0.1", first.port)
        with pytest.raises(TpdError, match=r"\[metrics\] listen: cannot listen on 127\.0\.0\.1:"):
            await second.start()


# -- serve_metrics -----------------------------------------------------------------------------


async def test_serve_metrics_returns_none_when_disabled(daemon: FakeDaemon) -> None:
    assert await serve_metrics(MetricsSettings(listen=""), daemon) is None


async def test_serve_metrics_counts_the_daemons_events_until_closed(daemon: FakeDaemon) -> None:
    server = await serve_metrics(MetricsSettings(listen="127.0.0.1:0"), daemon)
    assert server is not None
    assert server.url.startswith("http://127.0.0.1:")
    try:
        daemon.emit(IncidentCreated(request_id="r1", incident_id="P1", service_name="S"))
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert "\ntpd_incidents_created_total 1.0\n" in (await client.get("/metrics")).text
    finally:
        await server.aclose()
    seen: list[object] = []
    daemon.subscribe(seen.append)
    daemon.emit(IncidentCreated(request_id="r2", incident_id="P2", service_name="S"))
    assert "\ntpd_incidents_created_total 1.0\n" in server.metrics.render().decode()


async def test_serve_metrics_checks_pagerduty_with_a_client_of_its_own(daemon: FakeDaemon) -> None:
    fake = FakePagerDuty(strict=True, api_key="probe-key")
    async with fake.serve() as url:
        settings = PagerDutySettings(api_key="probe-key", user_email="", api_endpoint=url)
        server = await serve_metrics(
            MetricsSettings(listen="127.0.0.1:0"), daemon, pagerduty=settings
        )
        assert server is not None
        try:
            async with asyncio.timeout(10):
                # Polled: the check reports to Health, which has nothing to await.
                while daemon.health.pagerduty_reachable is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await server.aclose()
    assert [(r.method, r.path) for r in fake.requests] == [("GET", "/abilities")]
    labels = 'endpoint="/abilities",method="GET",status="200"'
    assert f"tpd_pagerduty_requests_total{{{labels}}} 1.0" in server.metrics.render().decode()


async def test_a_pagerduty_attempt_reported_after_close_is_not_counted(daemon: FakeDaemon) -> None:
    server = await serve_metrics(MetricsSettings(listen="127.0.0.1:0"), daemon)
    assert server is not None
    await server.aclose()
    daemon.emit(CallAttempt(method="GET", endpoint="/abilities", status=200, elapsed=0.1))
    assert "tpd_pagerduty_requests_total{" not in server.metrics.render().decode()
