"""`tpd run` with `[metrics] listen`, as a real subprocess against the fake Auth Service and the
fake PagerDuty: /healthz, /readyz and /metrics after an access request is handled, readiness
while Teleport is away, and the port released at exit."""

from __future__ import annotations

import asyncio
import re
import signal
from collections.abc import Callable

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from teleport_access.testing import FakeAuthServer
from tests.e2e.world import REQUESTER_OSS, TIMEOUT, PagerDutyWorld, StartTpd, TpdProcess
from tests.teleport_pd_cli.served_metrics import free_port

pytestmark = pytest.mark.slow


def sample(text: str, name: str, **labels: str) -> float:
    """One series of a scrape, read with prometheus_client's parser (fails if it is absent)."""
    for family in text_string_to_metric_families(text):
        for found in family.samples:
            if found.name == name and found.labels == labels:
                return found.value
    raise AssertionError(f"{name}{labels} not in the scrape")


async def scrape(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        return await client.get(path)


async def wait_for_scrape(
    base: str, path: str, check: Callable[[httpx.Response], bool]
) -> httpx.Response:
    """Scrape until `check(response)` is true (at most TIMEOUT seconds)."""
    last: httpx.Response | None = None
    try:
        async with asyncio.timeout(TIMEOUT):
            while True:
                last = await scrape(base, path)
                if check(last):
                    return last
                await asyncio.sleep(0.05)
    except TimeoutError:
        seen = "nothing" if last is None else f"{last.status_code} {last.text[:300]}"
        raise TimeoutError(f"{path}: still {seen}") from None


async def start_with_metrics(start_tpd: StartTpd) -> tuple[TpdProcess, str]:
    port = free_port()
    tpd = await start_tpd(extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    return tpd, f"http://127.0.0.1:{port}"


async def test_metrics_and_readiness_after_an_access_request_is_handled(
    start_tpd: StartTpd, fake_auth: FakeAuthServer, pagerduty: PagerDutyWorld
) -> None:
    _, base = await start_with_metrics(start_tpd)
    assert (await scrape(base, "/healthz")).status_code == 200
    ready = await wait_for_scrape(base, "/readyz", lambda r: r.status_code == 200)
    assert ready.text == "ready\n"

    request = fake_auth.create_request(REQUESTER_OSS, ["editor"], reason="metrics e2e")
    await pagerduty.wait_for_incident(request.id)
    scraped = await wait_for_scrape(
        base,
        "/metrics",
        lambda r: (
            sample(r.text, "tpd_events_handled_total", op="put", result="ok") >= 1
            and sample(r.text, "tpd_incidents_created_total") == 1
        ),
    )
    text = scraped.text
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert sample(text, "tpd_handler_duration_seconds_count", op="put") >= 1
    created = {"method": "POST", "endpoint": "/incidents", "status": "201"}
    assert sample(text, "tpd_pagerduty_requests_total", **created) == 1
    assert sample(text, "tpd_teleport_watch_connected") == 1
    assert sample(text, "tpd_pagerduty_reachable") == 1
    assert sample(text, "tpd_ready") == 1
    assert sample(text, "tpd_events_in_flight") == 0
    assert sample(text, "tpd_events_queued") == 0
    assert re.search(r'^tpd_build_info\{python="[^"]+",version="[^"]+"\} 1\.0$', text, re.M)
    assert "e2e-pd-key" not in text  # the API key never appears


async def test_readyz_is_503_while_the_auth_service_is_away_and_200_again_after(
    start_tpd: StartTpd, fake_auth: FakeAuthServer
) -> None:
    _, base = await start_with_metrics(start_tpd)
    await wait_for_scrape(base, "/readyz", lambda r: r.status_code == 200)
    fake_auth.fail_next("WatchEvents", times=3)  # the reconnections fail for a while
    fake_auth.drop_watch_streams()
    await wait_for_scrape(
        base,
        "/readyz",
        lambda r: r.status_code == 503 and "Teleport watch stream not connected" in r.text,
    )
    await wait_for_scrape(base, "/readyz", lambda r: r.status_code == 200)
    text = (await scrape(base, "/metrics")).text
    assert sample(text, "tpd_teleport_watch_reconnects_total") >= 1


async def test_the_metrics_port_is_released_when_tpd_stops(start_tpd: StartTpd) -> None:
    tpd, base = await start_with_metrics(start_tpd)
    tpd.send(signal.SIGTERM)
    assert await tpd.wait_exit() == 0
    with pytest.raises(httpx.ConnectError):
        await scrape(base, "/healthz")
