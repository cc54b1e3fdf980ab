"""Route selection: which way to the Auth Service works for a configured ``addr``."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import AsyncIterator

import attrs
import pytest

from teleport_access._credentials import Identity, StaticIdentity
from teleport_access._exceptions import ConnectionProblem
from teleport_access._route import (
    ConnectOptions,
    Route,
    RouteDialer,
    RouteKind,
    fetch_proxy_info,
    resolve_route,
    route_candidates,
    split_address,
)
from teleport_access.testing._fake_proxy import FakeProxy
from teleport_access.testing._pki import TestCertificateAuthority
from tests.teleport_access.proxy_backends import (
    EchoAuthServer,
    closed_port_address,
    silent_listener,
)

CLUSTER = "example.com"
AUTO, TLS_ROUTING, UPGRADE = (
    RouteKind.AUTH,
    RouteKind.PROXY_TLS_ROUTING,
    RouteKind.PROXY_ALPN_UPGRADE,
)


@pytest.fixture
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority(CLUSTER)


@pytest.fixture
def identity(ca: TestCertificateAuthority) -> StaticIdentity:
    return StaticIdentity(ca.issue_identity("access-plugin", roles=["access-plugin"]))


@pytest.fixture
async def auth(ca: TestCertificateAuthority) -> AsyncIterator[EchoAuthServer]:
    server = EchoAuthServer(ca)
    await server.start()
    yield server
    await server.stop()


class ClusterlessIdentity:
    """An identity source whose certificate names no cluster (e.g. a foreign issuer)."""

    def __init__(self, identity: Identity) -> None:
        self._identity = identity
        self.private_key_pem = identity.private_key_pem
        self.certificate_pem = identity.certificate_pem
        self.ca_pems = identity.ca_pems
        self.cluster_name = ""

    def current(self) -> Identity:
        return self  # type: ignore[return-value]  # duck-typed: has every attribute used

    @property
    def generation(self) -> int:
        return 0


# --- pure decisions -------------------------------------------------------------------------------


@pytest.mark.parametrize("port", [443, 3080])
def test_on_a_proxy_port_the_proxy_routes_are_tried_first(port: int) -> None:
    assert route_candidates(port) == (TLS_ROUTING, UPGRADE, AUTO)


def test_on_any_other_port_direct_auth_is_tried_first_then_the_proxy() -> None:
    assert route_candidates(3025) == (AUTO, TLS_ROUTING, UPGRADE)


def test_a_forced_mode_tries_only_its_routes() -> None:
    assert route_candidates(443, "auth") == (AUTO,)
    assert route_candidates(3025, "proxy") == (TLS_ROUTING, UPGRADE)


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("proxy.example.com:443", ("proxy.example.com", 443)),
        ("[::1]:3025", ("::1", 3025)),
        (" 127.0.0.1:3080 ", ("127.0.0.1", 3080)),
    ],
)
def test_addresses_split_into_host_and_port(address: str, expected: tuple[str, int]) -> None:
    assert split_address(address) == expected


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("proxy.example.com", "no port"),
        (":443", "no host"),
        ("proxy:http", "invalid port"),
        ("proxy:70000", "invalid port"),
        ("[::1]", "ipv6"),
    ],
)
def test_malformed_addresses_are_named(address: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        split_address(address)


def test_a_route_describes_itself_for_logs_and_doctor() -> None:
    route = Route(kind=UPGRADE, address="p:443", cluster_name=CLUSTER, upgrade="websocket")
    assert route.describe() == (
        "proxy-alpn-upgrade via the Teleport Proxy at p:443 (upgrade: websocket), "
        "cluster 'example.com'"
    )
    assert route.alpn_protocols[0].startswith("teleport-auth@")
    assert Route(kind=AUTO, address="a:3025").alpn_protocols == ("h2",)


def test_a_proxy_route_without_a_cluster_name_cannot_be_dialed(identity: StaticIdentity) -> None:
    with pytest.raises(ValueError, match="cluster name"):
        RouteDialer(Route(kind=TLS_ROUTING, address="p:443"), identity)


# --- resolving against real sockets ---------------------------------------------------------------


async def test_a_proxy_with_tls_routing_gets_the_tls_routing_route(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = await resolve_route(proxy.address, identity, mode="proxy")
    assert route == Route(kind=TLS_ROUTING, address=proxy.address, cluster_name=CLUSTER)


async def test_the_auth_attempt_failing_falls_back_to_the_proxy(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = await resolve_route(proxy.address, identity)  # not a Proxy port: auth first
        [auth_try, *_] = proxy.connections
    assert route.kind is TLS_ROUTING
    assert auth_try.alpn_protocols == ("h2",)  # the direct attempt, answered as plain HTTPS


async def test_behind_an_l7_load_balancer_the_upgrade_route_is_chosen(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, l7_load_balancer=True
    ) as proxy:
        route = await resolve_route(
            proxy.address, identity, mode="proxy", options=proxy.connect_options()
        )
    assert route.kind is UPGRADE
    assert route.upgrade == "websocket"


@pytest.mark.parametrize(("offered", "ping"), [("alpn-ping", True), ("alpn", False)])
async def test_an_older_proxy_gets_the_legacy_upgrade_it_offers(
    auth: EchoAuthServer, identity: StaticIdentity, offered: str, ping: bool
) -> None:
    async with FakeProxy(
        auth_address=auth.address,
        cluster_name=CLUSTER,
        l7_load_balancer=True,
        upgrade_types=(offered,),
    ) as proxy:
        route = await resolve_route(
            proxy.address,
            identity,
            mode="proxy",
            options=proxy.connect_options(upgrade_ping=ping),
        )
    assert (route.kind, route.upgrade) == (UPGRADE, offered)


async def test_a_direct_auth_address_gets_the_auth_route(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    route = await resolve_route(auth.address, identity)
    assert route == Route(kind=AUTO, address=auth.address, cluster_name=CLUSTER)


async def test_the_chosen_route_is_logged_with_stable_fields(
    auth: EchoAuthServer, identity: StaticIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="teleport_access._route")
    await resolve_route(auth.address, identity)
    [record] = [r for r in caplog.records if "route" in r.getMessage()]
    assert record.teleport_route == "auth"  # type: ignore[attr-defined]
    assert record.teleport_address == auth.address  # type: ignore[attr-defined]
    assert record.teleport_cluster == CLUSTER  # type: ignore[attr-defined]


async def test_without_a_cluster_in_the_identity_the_cluster_comes_from_webapi_find(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    source = ClusterlessIdentity(identity.current())
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        route = await resolve_route(
            proxy.address,
            source,
            mode="proxy",
            options=proxy.connect_options(),
        )
    assert (route.kind, route.cluster_name) == (TLS_ROUTING, CLUSTER)


async def test_a_clear_error_when_neither_identity_nor_proxy_names_the_cluster(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    source = ClusterlessIdentity(identity.current())
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, find_cluster_name=""
    ) as proxy:
        with pytest.raises(ConnectionProblem, match="neither the identity nor /webapi/find"):
            await resolve_route(
                proxy.address,
                source,
                mode="proxy",
                options=proxy.connect_options(),
            )


async def test_an_identity_of_another_cluster_is_explained(auth: EchoAuthServer) -> None:
    stranger = StaticIdentity(TestCertificateAuthority("other.example.com").issue_identity("bot"))
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        with pytest.raises(ConnectionProblem) as caught:
            await resolve_route(
                proxy.address, stranger, mode="proxy", options=proxy.connect_options()
            )
    message = str(caught.value)
    assert "the Proxy closed the connection" in message
    assert "serves cluster 'example.com', but the identity was issued by cluster" in message
    assert caught.value.address == proxy.address


async def test_a_proxy_without_tls_routing_is_explained(
    auth: EchoAuthServer, ca: TestCertificateAuthority
) -> None:
    stranger = StaticIdentity(TestCertificateAuthority(CLUSTER).issue_identity("bot"))
    async with FakeProxy(
        auth_address=auth.address,
        cluster_name="elsewhere",
        tls_routing_enabled=False,
        find_cluster_name=CLUSTER,
    ) as proxy:
        with pytest.raises(ConnectionProblem, match="TLS routing disabled"):
            await resolve_route(
                proxy.address, stranger, mode="proxy", options=proxy.connect_options()
            )


async def test_nothing_listening_fails_fast_after_one_attempt(identity: StaticIdentity) -> None:
    address = closed_port_address()
    started = time.monotonic()
    with pytest.raises(ConnectionProblem) as caught:
        await resolve_route(address, identity)
    assert time.monotonic() - started < 5
    assert "cannot connect" in str(caught.value)
    assert str(caught.value).count("\n  - ") == 1  # the other routes share the dead address
    assert caught.value.address == address


async def test_a_silent_server_times_out_with_the_address_in_the_error(
    identity: StaticIdentity,
) -> None:
    async with silent_listener() as address:
        with pytest.raises(ConnectionProblem, match=r"timed out after 0\.3 s") as caught:
            await resolve_route(
                address, identity, mode="proxy", options=ConnectOptions(connect_timeout=0.3)
            )
    assert address in str(caught.value)


async def test_the_proxy_web_certificate_is_verified_with_system_roots_by_default(
    auth: EchoAuthServer, identity: StaticIdentity
) -> None:
    async with FakeProxy(
        auth_address=auth.address, cluster_name=CLUSTER, l7_load_balancer=True
    ) as proxy:
        with pytest.raises(ConnectionProblem, match="certificate verification failed"):
            await resolve_route(proxy.address, identity, mode="proxy")


async def test_fetch_proxy_info_reads_webapi_find(auth: EchoAuthServer) -> None:
    async with FakeProxy(auth_address=auth.address, cluster_name=CLUSTER) as proxy:
        info = await fetch_proxy_info(proxy.address, proxy.connect_options())
    assert (info.cluster_name, info.tls_routing_enabled) == (CLUSTER, True)


async def test_fetch_proxy_info_names_the_address_when_it_fails() -> None:
    address = closed_port_address()
    with pytest.raises(ConnectionProblem, match=f"/webapi/find on the Teleport Proxy at {address}"):
        await fetch_proxy_info(address)


async def test_each_dial_rereads_the_identity(
    auth: EchoAuthServer, ca: TestCertificateAuthority
) -> None:
    identities = [ca.issue_identity("first"), ca.issue_identity("second")]

    class Rotating:
        generation = 0

        def current(self) -> Identity:
            return identities[0]

    source = Rotating()
    dialer = RouteDialer(Route(kind=AUTO, address=auth.address), source)
    first = await dialer.open()
    identities.pop(0)
    second = await dialer.open()
    try:
        certs = [first.peer_certificate_der(), second.peer_certificate_der()]
        assert all(certs)
    finally:
        await first.aclose()
        await second.aclose()
    assert dialer._cached is not None
    assert dialer._cached[0] is identities[0]


def test_auth_tls_trusts_only_the_identity_cas(identity: StaticIdentity) -> None:
    from teleport_access._route import auth_ssl_context

    context = auth_ssl_context(identity.current(), ["h2"])
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert len(context.get_ca_certs()) == len(identity.current().ca_pems)


def test_the_client_key_is_loaded_without_a_file_when_memfd_is_missing(
    identity: StaticIdentity, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import os
    import tempfile

    from teleport_access._route import auth_ssl_context

    made: list[str] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: object, **kwargs: object) -> str:
        path = real_mkdtemp(*args, **kwargs)  # type: ignore[call-overload]
        made.append(path)
        return str(path)

    monkeypatch.delattr(os, "memfd_create", raising=False)
    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    context = auth_ssl_context(identity.current(), ["h2"])
    assert context is not None
    assert made
    assert not any(os.path.exists(path) for path in made)


def test_routes_are_frozen_values() -> None:
    route = Route(kind=AUTO, address="a:3025")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        route.kind = TLS_ROUTING  # type: ignore[misc]


def test_a_route_kind_may_be_given_as_its_string_value() -> None:
    route = Route(kind="proxy-tls-routing", address="p:443", cluster_name=CLUSTER)
    assert route.kind is TLS_ROUTING
    assert route.via_proxy
