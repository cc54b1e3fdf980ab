"""Proxy-route benchmark: what the local tunnel costs compared with a direct mTLS channel.

The fake Auth Service and the fake Proxy run in this process and event loop. For each route a
grpc.aio channel makes `Ping` calls:

* `direct`: grpc's own TLS straight to the fake Auth Service (the ``auth`` route);
* `tls-routing`: through the Unix-socket tunnel and the fake Proxy (ALPN routing, raw copy);
* `upgrade-websocket` / `upgrade-alpn-ping`: the fake Proxy as an L7 load balancer, so the
  tunnel runs TLS to the balancer, the connection upgrade, the framing, and the inner TLS
  session with Auth (two TLS layers in Python, one in the fake).

Printed per route: sequential calls per second, calls per second with 32 in flight, and the
time to open the first connection (route already resolved). Every byte of the proxied routes is
handled in Python twice (tunnel and fake Proxy) on the same core, so the figures are a
conservative bound for a real deployment, where the Proxy is another machine.

    .venv/bin/python benchmarks/proxy_tunnel.py [--calls 2000] [--json results.json] [--no-pin]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from teleport_access._channel import channel_credentials  # noqa: E402
from teleport_access._credentials import StaticIdentity  # noqa: E402
from teleport_access._proto import authservice_pb2, authservice_pb2_grpc  # noqa: E402
from teleport_access._route import Route, RouteKind  # noqa: E402
from teleport_access._tunnel import AuthTunnel  # noqa: E402
from teleport_access.testing._fake_auth import FakeAuthServer  # noqa: E402
from teleport_access.testing._fake_proxy import FakeProxy  # noqa: E402

CLUSTER = "bench.example.com"
CONCURRENCY = 32


@asynccontextmanager
async def direct_channel(
    auth: FakeAuthServer, identity: StaticIdentity
) -> AsyncIterator[grpc.aio.Channel]:
    options = [("grpc.ssl_target_name_override", "teleport.cluster.local")]
    credentials = channel_credentials(identity.current())
    async with grpc.aio.secure_channel(auth.address, credentials, options=options) as channel:
        yield channel


@asynccontextmanager
async def proxied_channel(
    auth: FakeAuthServer, identity: StaticIdentity, **proxy_options: Any
) -> AsyncIterator[grpc.aio.Channel]:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER, **proxy_options) as proxy:
        kind = (
            RouteKind.PROXY_ALPN_UPGRADE
            if proxy_options.get("l7_load_balancer")
            else RouteKind.PROXY_TLS_ROUTING
        )
        route = Route(kind=kind, address=proxy.address, cluster_name=CLUSTER)
        tunnel = AuthTunnel(route, identity, proxy.connect_options())
        async with (
            tunnel,
            grpc.aio.insecure_channel(tunnel.grpc_target, options=tunnel.grpc_options) as channel,
        ):
            yield channel


async def measure(channel: grpc.aio.Channel, calls: int) -> dict[str, float]:
    stub = authservice_pb2_grpc.AuthServiceStub(channel)
    request = authservice_pb2.PingRequest()
    started = time.perf_counter()
    await stub.Ping(request, timeout=30)
    first_call = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(calls):
        await stub.Ping(request, timeout=30)
    sequential = calls / (time.perf_counter() - started)

    async def worker(count: int) -> None:
        for _ in range(count):
            await stub.Ping(request, timeout=30)

    started = time.perf_counter()
    await asyncio.gather(*(worker(calls // CONCURRENCY) for _ in range(CONCURRENCY)))
    concurrent = (calls // CONCURRENCY) * CONCURRENCY / (time.perf_counter() - started)
    return {
        "first_call_ms": round(first_call * 1000, 1),
        "sequential_calls_per_s": round(sequential),
        "concurrent_calls_per_s": round(concurrent),
    }


async def run(calls: int) -> dict[str, dict[str, float]]:
    results: dict[str, dict[str, float]] = {}
    async with FakeAuthServer(cluster_name=CLUSTER) as auth:
        identity = StaticIdentity(auth.issue_identity("bench", roles=["access-plugin"]))
        setups: dict[str, Callable[[], Any]] = {
            "direct": lambda: direct_channel(auth, identity),
            "tls-routing": lambda: proxied_channel(auth, identity),
            "upgrade-websocket": lambda: proxied_channel(auth, identity, l7_load_balancer=True),
            "upgrade-alpn-ping": lambda: proxied_channel(
                auth, identity, l7_load_balancer=True, upgrade_types=("alpn-ping",)
            ),
        }
        for name, setup in setups.items():
            async with setup() as channel:
                results[name] = await measure(channel, calls)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--no-pin", action="store_true", help="do not pin to one CPU")
    args = parser.parse_args()
    if not args.no_pin and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    results = asyncio.run(run(args.calls))
    direct = results["direct"]
    print(f"Python {platform.python_version()}, grpcio {grpc.__version__}, {args.calls} calls")
    print(
        f"{'route':<20}{'first call':>12}{'sequential/s':>15}{f'{CONCURRENCY} in flight/s':>18}"
        f"{'vs direct':>11}"
    )
    for name, figures in results.items():
        ratio = figures["sequential_calls_per_s"] / direct["sequential_calls_per_s"]
        print(
            f"{name:<20}{figures['first_call_ms']:>10.1f}ms"
            f"{figures['sequential_calls_per_s']:>15,.0f}"
            f"{figures['concurrent_calls_per_s']:>18,.0f}"
            f"{ratio:>10.0%}"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
