"""ALPN names of Teleport's TLS routing and the cluster-name encoding. Pure.

The client builds its ALPN list here; the fake Proxy (`teleport_access.testing`) decodes the
same names from the ClientHellos it reads.

A Teleport Proxy with TLS routing serves every protocol on one TLS port. It peeks at the
ClientHello: when the first ALPN protocol is
``teleport-auth@<hex of cluster name>.teleport.cluster.local`` it copies the raw TLS stream to
that cluster's Auth Service, so TLS stays end to end with Auth.
"""

from __future__ import annotations

#: The name every Teleport-issued host certificate carries (``constants.APIDomain``); the SNI
#: and the TLS server name a client uses to reach the Auth Service.
API_DOMAIN = "teleport.cluster.local"

#: ALPN prefix that asks the Proxy to forward the connection to an Auth Service.
ALPN_AUTH_PREFIX = "teleport-auth@"
#: Every Teleport protocol name starts with this.
ALPN_TELEPORT_PREFIX = "teleport-"
#: Suffix of a protocol wrapped in the Ping framing (``<protocol>-ping``).
ALPN_PING_SUFFIX = "-ping"
ALPN_H2 = "h2"
ALPN_HTTP11 = "http/1.1"


def encode_cluster_name(cluster_name: str) -> str:
    """``<lowercase hex of the UTF-8 name>.teleport.cluster.local`` (``utils.EncodeClusterName``).

    Hex hides the dots of the name, so a ``*.teleport.cluster.local`` certificate still matches.
    """
    if not cluster_name:
        raise ValueError("the cluster name is empty")
    return f"{cluster_name.encode('utf-8').hex()}.{API_DOMAIN}"


def decode_cluster_name(server_name: str) -> str | None:
    """The cluster name encoded by `encode_cluster_name`, or None when *server_name* has none.

    Raises ValueError when the name has the suffix but its first label is not valid hex UTF-8.
    """
    suffix = "." + API_DOMAIN
    if not server_name.endswith(suffix):
        return None
    encoded = server_name[: -len(suffix)]
    if not encoded:
        return None
    try:
        return bytes.fromhex(encoded).decode("utf-8")
    except ValueError as exc:
        raise ValueError(f"{server_name!r} does not encode a cluster name in hex") from exc


def auth_alpn_protocol(cluster_name: str) -> str:
    """The ALPN protocol that routes a connection to *cluster_name*'s Auth Service."""
    return ALPN_AUTH_PREFIX + encode_cluster_name(cluster_name)


def auth_alpn_protocols(cluster_name: str) -> tuple[str, str]:
    """The ALPN list of a client of the Auth Service through the Proxy: the route entry, then h2.

    The route entry must come first: the Proxy reads the cluster from ``ALPN[0]``; Auth itself
    ignores it and selects ``h2``.
    """
    return (auth_alpn_protocol(cluster_name), ALPN_H2)


def cluster_from_auth_protocol(protocol: str) -> str | None:
    """The cluster a ``teleport-auth@...`` protocol routes to; None for any other protocol.

    Raises ValueError when the protocol has the prefix but a malformed cluster encoding.
    """
    if not protocol.startswith(ALPN_AUTH_PREFIX):
        return None
    cluster = decode_cluster_name(protocol[len(ALPN_AUTH_PREFIX) :])
    if cluster is None:
        raise ValueError(f"ALPN protocol {protocol!r} names no cluster")
    return cluster
