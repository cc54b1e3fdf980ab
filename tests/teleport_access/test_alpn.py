"""ALPN names of TLS routing and the cluster-name encoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_access._alpn import (
    auth_alpn_protocol,
    auth_alpn_protocols,
    cluster_from_auth_protocol,
    decode_cluster_name,
    encode_cluster_name,
)


def test_cluster_name_is_encoded_as_lowercase_hex_under_the_api_domain() -> None:
    assert encode_cluster_name("example.com") == "6578616d706c652e636f6d.teleport.cluster.local"


def test_cluster_name_encoding_uses_utf8_bytes() -> None:
    assert encode_cluster_name("é") == "c3a9.teleport.cluster.local"


def test_empty_cluster_name_cannot_be_encoded() -> None:
    with pytest.raises(ValueError, match="empty"):
        encode_cluster_name("")


def test_auth_alpn_list_puts_the_route_entry_before_h2() -> None:
    assert auth_alpn_protocols("example.com") == (
        "teleport-auth@6578616d706c652e636f6d.teleport.cluster.local",
        "h2",
    )


@given(st.text(min_size=1, max_size=80))
def test_cluster_name_survives_encode_and_decode(name: str) -> None:
    assert decode_cluster_name(encode_cluster_name(name)) == name
    assert cluster_from_auth_protocol(auth_alpn_protocol(name)) == name


def test_bare_api_domain_encodes_no_cluster() -> None:
    assert decode_cluster_name("teleport.cluster.local") is None
    assert decode_cluster_name("proxy.example.com") is None


def test_bad_hex_under_the_api_domain_is_an_error() -> None:
    with pytest.raises(ValueError, match="hex"):
        decode_cluster_name("zz.teleport.cluster.local")


def test_protocols_other_than_teleport_auth_name_no_cluster() -> None:
    assert cluster_from_auth_protocol("h2") is None
    assert cluster_from_auth_protocol("teleport-proxy-ssh") is None


def test_teleport_auth_without_a_cluster_is_an_error() -> None:
    with pytest.raises(ValueError, match="names no cluster"):
        cluster_from_auth_protocol("teleport-auth@teleport.cluster.local")
