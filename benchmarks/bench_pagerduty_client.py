"""pagerduty_client benchmarks: the client's own cost per call, and loopback throughput.

    .venv/bin/python benchmarks/bench_pagerduty_client.py [--seconds 3] [--concurrency 16]
        [--json out.json]

1. Overhead per call against the in-process fake (no sockets; OpenAPI validation off so the fake
   stays cheap). For `get_service` it prints the whole call, the time spent inside the fake's
   core, and their difference: the client's overhead (ours + httpx's), target < 0.5 ms. It also
   prints a bare `httpx.AsyncClient` request on the same transport, so our own layer (plans,
   retries bookkeeping, parsing into models) can be told apart from httpx's.
2. Requests per second against the fake's real HTTP server on 127.0.0.1, with the async client
   (N concurrent tasks) and with the sync client on the thread server.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from pagerduty_client import AsyncPagerDutyClient, PagerDutyClient, RetryPolicy
from pagerduty_client.testing import FakePagerDuty
from pagerduty_client.testing._app import FakeApp, FakeRequest, FakeResponse

BOT = "bot@example.com"


def seeded(openapi: bool = False) -> tuple[FakePagerDuty, str]:
    fake = FakePagerDuty(openapi=None if openapi else False)
    fake.add_user("Bot", BOT)
    alice = fake.add_user("Alice", "alice@example.com")
    policy = fake.add_escalation_policy("Ops", rules=[[alice]])
    service = fake.add_service("Payments", policy)
    return fake, service.id


class CoreTimer:
    """Wraps the fake's core to add up the time spent inside it."""

    def __init__(self, app: FakeApp) -> None:
        self.app = app
        self.inner = app.handle
        self.total = 0.0
        app.handle = self.handle  # type: ignore[method-assign]

    def handle(self, request: FakeRequest) -> FakeResponse:
        started = time.perf_counter()
        try:
            return self.inner(request)
        finally:
            self.total += time.perf_counter() - started


async def per_call(fn: Callable[[], Awaitable[object]], calls: int) -> float:
    for _ in range(min(200, calls)):  # warm up
        await fn()
    started = time.perf_counter()
    for _ in range(calls):
        await fn()
    return (time.perf_counter() - started) / calls


async def overhead(calls: int) -> list[dict[str, Any]]:
    fake, service_id = seeded()
    timer = CoreTimer(fake._app)
    headers = {
        "Accept": "application/vnd.pagerduty+json;version=2",
        "Content-Type": "application/json",
        "Authorization": f"Token token={fake.api_key}",
    }
    async with (
        fake.client(user_email=BOT) as client,
        httpx.AsyncClient(
            base_url="https://api.pagerduty.com", headers=headers, transport=fake.async_transport()
        ) as bare,
    ):
        rounds = []
        for _ in range(5):
            timer.total = 0.0
            total = await per_call(lambda: client.get_service(service_id), calls)
            core = timer.total / (calls + min(200, calls))
            timer.total = 0.0
            raw = await per_call(lambda: bare.get(f"/services/{service_id}"), calls)
            raw_core = timer.total / (calls + min(200, calls))
            rounds.append((total, core, raw, raw_core))
        total, core, raw, raw_core = (statistics.median(r[i] for r in rounds) for i in range(4))
        print("client overhead per call, in-process fake (median of 5 rounds):")
        print(f"  get_service, whole call            {total * 1e3:7.3f} ms")
        print(f"  ... inside the fake's core         {core * 1e3:7.3f} ms")
        print(f"  = client overhead (ours + httpx)   {(total - core) * 1e3:7.3f} ms   target < 0.5")
        print(f"  bare httpx on the same transport   {(raw - raw_core) * 1e3:7.3f} ms")
        print(
            f"  => pagerduty_client's own layer    {(total - core - raw + raw_core) * 1e3:7.3f} ms"
        )
        check = await per_call(lambda: client.check_on_call("alice@example.com", ["Payments"]),
                               calls // 4)  # fmt: skip
        print(f"  check_on_call (3 HTTP calls)       {check * 1e3:7.3f} ms")
    oauth = await oauth_overhead(fake, service_id, timer, calls)
    print(f"  with Scoped OAuth (cached token)   {oauth * 1e3:7.3f} ms   (vs API key above)")
    return [
        figure("client overhead per call (ours + httpx)", (total - core) * 1e3, "ms", 0.5),
        figure(
            "pagerduty_client's own layer per call", (total - core - raw + raw_core) * 1e3, "ms"
        ),
        figure("check_on_call, in-process fake (3 HTTP calls)", check * 1e3, "ms"),
        figure("client overhead per call, Scoped OAuth", oauth * 1e3, "ms", 0.5),
    ]


async def oauth_overhead(
    fake: FakePagerDuty, service_id: str, timer: CoreTimer, calls: int
) -> float:
    """The client's overhead per call with an OAuth token provider instead of the API key: the
    token is fetched once and then reused, so this is the cost of asking the provider for it."""
    fake.add_oauth_client("bench-client", "bench-secret")
    provider = fake.oauth_provider("bench-client", "bench-secret", scopes=["services.read"])
    async with provider, fake.client(auth=provider, user_email=BOT) as client:
        rounds = []
        for _ in range(5):
            timer.total = 0.0
            total = await per_call(lambda: client.get_service(service_id), calls)
            rounds.append(total - timer.total / (calls + min(200, calls)))
        return statistics.median(rounds)


def figure(name: str, value: float, unit: str, target: float | None = None) -> dict[str, Any]:
    """One figure for `--json`; a time target is an upper bound."""
    better = "lower" if unit == "ms" else "higher"
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "target": target,
        "better": better,
    }


async def async_throughput(seconds: float, concurrency: int, openapi: bool) -> float:
    fake, service_id = seeded(openapi)
    async with (
        fake.serve() as url,
        AsyncPagerDutyClient(
            fake.api_key, base_url=url, retry=RetryPolicy(max_attempts=1)
        ) as client,
    ):
        await client.get_service(service_id)
        done = 0
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                await client.get_service(service_id)
                done += 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.perf_counter() - started)


def sync_throughput(seconds: float) -> float:
    fake, service_id = seeded()
    with fake.serve_in_thread() as url, PagerDutyClient(fake.api_key, base_url=url) as client:
        client.get_service(service_id)
        done = 0
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            client.get_service(service_id)
            done += 1
        return done / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per throughput run")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--calls", type=int, default=2000, help="per overhead round")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()

    figures = asyncio.run(overhead(args.calls))
    print("\nrequests per second against the loopback HTTP server (GET /services/{id}):")
    rate = asyncio.run(async_throughput(args.seconds, 1, openapi=False))
    print(f"  async client, 1 task, one loop             {rate:8.0f} req/s")
    figures.append(figure("loopback: async client, 1 task", rate, "req/s"))
    rate = asyncio.run(async_throughput(args.seconds, args.concurrency, openapi=False))
    print(f"  async client, {args.concurrency:2d} tasks, one loop           {rate:8.0f} req/s")
    figures.append(figure(f"loopback: async client, {args.concurrency} tasks", rate, "req/s"))
    rate = asyncio.run(async_throughput(args.seconds, args.concurrency, openapi=True))
    print(f"  ... with OpenAPI validation on             {rate:8.0f} req/s")
    rate = sync_throughput(args.seconds)
    print(f"  sync client, one thread, thread server     {rate:8.0f} req/s")
    figures.append(figure("loopback: sync client, 1 thread", rate, "req/s"))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"benchmark": "pagerduty_client", "figures": figures}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
