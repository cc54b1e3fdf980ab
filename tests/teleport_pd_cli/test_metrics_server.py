"""The metrics HTTP server over a real loopback socket: endpoints, HTTP/1.1 details, limits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from teleport_pd_cli._exceptions import TpdError
from teleport_pd_cli.config import MetricsSettings
from teleport_pd_cli.ops._httpserve import HttpRequest, HttpResponse, HttpServer, parse_head
from teleport_pd_cli.ops.metrics import Metrics, MetricsServer, start_metrics_server


class Watcher:
    def __init__(self, connected: bool = True) -> None:
        self.connected = connected
        self.reconnects = 0
        self.last_error: object = None


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def server(metrics: Metrics) -> AsyncIterator[MetricsServer]:
    async with MetricsServer(metrics, "127.0.0.1", 0) as server:
        yield server


async def exchange(port: int, data: bytes, *, read_all: bool = True) -> bytes:
    """Send raw bytes, then read until the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read() if read_all else await reader.read(65536)
    finally:
        writer.close()
        await writer.wait_closed()


async def test_metrics_are_served_with_the_exposition_content_type(
    server: MetricsServer, metrics: Metrics
) -> None:
    metrics.incident_created()
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert "tpd_incidents_created_total 1\n" in response.text
    assert response.text.startswith("# HELP tpd_events_handled_total ")


async def test_healthz_answers_200_ok(server: MetricsServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/healthz")
    assert (response.status_code, response.text) == (200, "ok\n")


async def test_readyz_answers_503_with_the_reasons_then_200_once_ready(
    server: MetricsServer, metrics: Metrics
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        before = await client.get("/readyz")
        metrics.track_watcher(Watcher(connected=True))
        metrics.record_pagerduty(True)
        after = await client.get("/readyz")
    assert before.status_code == 503
    assert before.text.startswith("not ready: Teleport watch stream not started; ")
    assert "PagerDuty not reached yet" in before.text
    assert (after.status_code, after.text) == (200, "ready\n")


async def test_unknown_paths_are_404_and_the_root_lists_the_endpoints(
    server: MetricsServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        missing = await client.get("/nope")
        root = await client.get("/")
    assert missing.status_code == 404
    assert "/metrics" in root.text


async def test_a_query_string_is_ignored(server: MetricsServer) -> None:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.get("/healthz?verbose=1")
    assert response.status_code == 200


async def test_one_connection_serves_several_requests(server: MetricsServer) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    answer = await exchange(server.port, request * 2 + last)
    assert answer.count(b"HTTP/1.1 200 OK\r\n") == 3
    assert answer.count(b"Connection: close") == 1


async def test_http_1_0_closes_after_one_answer_unless_asked_to_keep_alive(
    server: MetricsServer,
) -> None:
    answer = await exchange(server.port, b"GET /healthz HTTP/1.0\r\n\r\n" * 2)
    assert answer.count(b"200 OK") == 1
    assert b"Connection: close" in answer
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    try:
        writer.write(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        head = await reader.readuntil(b"\r\n\r\n")
        assert b"Connection: keep-alive" in head
    finally:
        writer.close()
        await writer.wait_closed()


async def test_head_sends_the_headers_of_get_without_the_body(server: MetricsServer) -> None:
    answer = await exchange(server.port, b"HEAD /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Length: 3" in head
    assert body == b""


async def test_other_methods_get_405_with_allow_and_the_connection_closes(
    server: MetricsServer,
) -> None:
    answer = await exchange(
        server.port, b"POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"
    )
    assert answer.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n")
    assert b"Allow: GET, HEAD" in answer
    assert b"Connection: close" in answer


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /healthz HTTP/x\r\n\r\n", b"400"),
        (b"GET healthz HTTP/1.1\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\nbad header\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", b"400"),
        (b"GET /healthz HTTP/1.1\r\nContent-Length: nope\r\n\r\n", b"400"),
    ],
)
async def test_a_malformed_request_gets_an_error_and_the_connection_closes(
    server: MetricsServer, head: bytes, status: bytes
) -> None:
    answer = await exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 " + status)
    assert b"Connection: close" in answer


async def test_an_oversized_request_head_gets_431(server: MetricsServer) -> None:
    head = b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 20000 + b"\r\n\r\n"
    answer = await exchange(server.port, head)
    assert answer.startswith(b"HTTP/1.1 431 ")


async def test_an_idle_connection_is_closed_after_the_idle_timeout() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        return HttpResponse(status=200)

    async with HttpServer(handler, "127.0.0.1", 0, idle_timeout=0.2) as http:
        reader, writer = await asyncio.open_connection("127.0.0.1", http.port)
        try:
            async with asyncio.timeout(10):
                assert await reader.read() == b""
        finally:
            writer.close()
            await writer.wait_closed()


async def test_a_handler_that_raises_gives_500_and_the_server_goes_on() -> None:
    def handler(request: HttpRequest) -> HttpResponse:
        if request.path == "/boom":
            raise RuntimeError("boom")
        return HttpResponse(status=204)

    async with HttpServer(handler, "127.0.0.1", 0) as http, httpx.AsyncClient() as client:
        base = f"http://127.0.0.1:{http.port}"
        assert (await client.get(f"{base}/boom")).status_code == 500
        assert (await client.get(f"{base}/fine")).status_code == 204


async def test_closing_the_server_closes_open_connections() -> None:
    http = HttpServer(lambda request: HttpResponse(status=200), "127.0.0.1", 0)
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


async def test_a_busy_port_is_a_tpd_error_naming_the_key(metrics: Metrics) -> None:
    async with MetricsServer(metrics, "127.0.0.1", 0) as first:
        second = MetricsServer(metrics, "127.0.0.1", first.port)
        with pytest.raises(TpdError, match=r"\[metrics\] listen: cannot listen on 127\.0\.0\.1:"):
            await second.start()


async def test_start_metrics_server_returns_none_when_disabled(metrics: Metrics) -> None:
    assert await start_metrics_server(MetricsSettings(listen=""), metrics) is None


async def test_start_metrics_server_listens_where_the_settings_say(metrics: Metrics) -> None:
    server = await start_metrics_server(MetricsSettings(listen="127.0.0.1:0"), metrics)
    assert server is not None
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{server.url}/healthz")
        assert response.status_code == 200
        assert server.url.startswith("http://127.0.0.1:")
    finally:
        await server.aclose()


def test_parse_head_reads_the_request_line_headers_and_query() -> None:
    request = parse_head(
        b"\r\nGET /metrics%2Fx?a=1 HTTP/1.1\r\nHost: h\r\nX-Two:  v \r\nx-two: w\r\n\r\n"
    )
    assert (request.method, request.path, request.query) == ("GET", "/metrics/x", "a=1")
    assert request.version == (1, 1)
    assert request.header("x-two") == "v"
    assert request.header("HOST") == "h"


def test_parse_head_accepts_the_absolute_form() -> None:
    request = parse_head(b"GET http://127.0.0.1:9090/readyz?x HTTP/1.1\r\n\r\n")
    assert (request.path, request.query) == ("/readyz", "x")
