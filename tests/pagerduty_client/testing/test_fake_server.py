"""The fake as a real HTTP server on 127.0.0.1: on the test's loop, or in its own thread."""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest

from pagerduty_client import AsyncPagerDutyClient, RetryPolicy, TransportError, TransportTimeout
from pagerduty_client.testing import FakePagerDuty
from tests.pagerduty_client.conftest import BOT_EMAIL, World
from tests.pagerduty_client.testing.conftest import HEADERS


def server_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "fake-pagerduty-server"]


def refuses_connections(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


async def test_the_client_runs_a_whole_flow_over_real_http(
    fake: FakePagerDuty, world: World
) -> None:
    async with fake.serve() as url:
        assert url.startswith("http://127.0.0.1:")
        async with AsyncPagerDutyClient(fake.api_key, base_url=url, user_email=BOT_EMAIL) as pd:
            assert (await pd.check_on_call("alice@example.com", ["Payments"])).on_call
            incident = await pd.create_incident(world.payments.id, "T", "D", "key")
            await pd.add_note(incident.id, "note")
            assert (await pd.resolve_incident(incident.id)).status == "resolved"
    assert refuses_connections(url)


async def test_a_dropped_connection_over_http_creates_no_duplicate(
    fake: FakePagerDuty, world: World
) -> None:
    fake.fail_next(after_processing=True, disconnect=True)
    async with (
        fake.serve() as url,
        AsyncPagerDutyClient(
            fake.api_key,
            base_url=url,
            user_email=BOT_EMAIL,
            retry=RetryPolicy(backoff_initial=0.01),
        ) as pd,
    ):
        incident = await pd.create_incident(world.payments.id, "T", "D", "key")
    assert [i.id for i in fake.incidents] == [incident.id]


async def test_a_slow_server_times_out(fake: FakePagerDuty) -> None:
    fake.faults.delay = 2.0  # far beyond the timeout, even on a loaded machine
    async with (
        fake.serve() as url,
        AsyncPagerDutyClient(
            fake.api_key, base_url=url, timeout=0.05, retry=RetryPolicy(max_attempts=1)
        ) as pd,
    ):
        with pytest.raises(TransportTimeout):
            await pd.abilities()


async def test_a_stopped_server_refuses_and_the_client_says_it_was_never_reached(
    fake: FakePagerDuty,
) -> None:
    async with fake.serve() as url:
        pass
    async with AsyncPagerDutyClient(fake.api_key, base_url=url,
                                    retry=RetryPolicy(max_attempts=1)) as pd:  # fmt: skip
        with pytest.raises(TransportError) as caught:
            await pd.abilities()
    assert caught.value.maybe_processed is False


async def test_one_connection_serves_many_requests(fake: FakePagerDuty) -> None:
    async with fake.serve() as url, httpx.AsyncClient(base_url=url, headers=HEADERS) as http:
        statuses = [(await http.get("/abilities")).status_code for _ in range(20)]
    assert statuses == [200] * 20


async def test_concurrent_clients_are_served(fake: FakePagerDuty, world: World) -> None:
    async with fake.serve() as url, AsyncPagerDutyClient(fake.api_key, base_url=url) as pd:
        checks = await asyncio.gather(
            *(pd.check_on_call("bob@example.com", ["Billing"]) for _ in range(20))
        )
    assert all(check.on_call for check in checks)


def test_the_thread_server_starts_serves_and_stops_without_leaking_its_thread(
    fake: FakePagerDuty,
) -> None:
    url = fake.start()
    try:
        assert fake.url == url
        assert len(server_threads()) == 1
        with httpx.Client(base_url=url, headers=HEADERS) as http:
            assert http.get("/abilities").status_code == 200
    finally:
        fake.stop()
    assert server_threads() == []
    assert refuses_connections(url)
    fake.stop()  # stopping twice is harmless
    assert fake.url is None


def test_the_thread_server_refuses_to_start_twice(fake: FakePagerDuty) -> None:
    with fake.serve_in_thread(), pytest.raises(RuntimeError, match="already running"):
        fake.start()
    assert server_threads() == []


def test_a_port_in_use_is_reported_by_start(fake: FakePagerDuty) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError):
            fake.start(port=port)
    assert server_threads() == []


async def test_an_awaiting_test_sees_incidents_made_through_the_thread_server(
    fake: FakePagerDuty, world: World
) -> None:
    with fake.serve_in_thread() as url:

        def post() -> None:
            service = {"id": world.payments.id, "type": "service_reference"}
            body = {"incident": {"type": "incident", "title": "via thread", "service": service}}
            with httpx.Client(base_url=url, headers={**HEADERS, "From": BOT_EMAIL}) as http:
                assert http.post("/incidents", json=body).status_code == 201

        await asyncio.sleep(0)
        poster = threading.Thread(target=post)
        poster.start()
        incident = await fake.next_incident(timeout=5)
        poster.join()
    assert incident.title == "via thread"


def test_both_front_ends_share_one_state(fake: FakePagerDuty, world: World) -> None:
    with fake.serve_in_thread() as url, httpx.Client(base_url=url, headers=HEADERS) as http:
        created = fake.add_incident(world.payments, "seeded")
        assert http.get(f"/incidents/{created.id}").json()["incident"]["title"] == "seeded"
    with httpx.Client(base_url="https://api.pagerduty.com", headers=HEADERS,
                      transport=fake.sync_transport()) as local:  # fmt: skip
        assert local.get(f"/incidents/{created.id}").status_code == 200
