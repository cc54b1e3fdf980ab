"""Shared fixtures: a fake Auth Service on 127.0.0.1 and clients connected to it over mTLS."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from teleport_access._client import AuthClient
from teleport_access._credentials import Identity
from teleport_access.testing import FakeAuthServer

PLUGIN_USER = "access-plugin"


@pytest.fixture
async def fake_auth() -> AsyncIterator[FakeAuthServer]:
    """A started fake Auth Service; stopped after the test."""
    async with FakeAuthServer() as fake:
        yield fake


@pytest.fixture
def plugin_identity(fake_auth: FakeAuthServer) -> Identity:
    """An identity for the plugin's user, issued by the fake's CA."""
    return fake_auth.issue_identity(PLUGIN_USER, roles=[PLUGIN_USER])


@pytest.fixture
async def auth_client(
    fake_auth: FakeAuthServer, plugin_identity: Identity
) -> AsyncIterator[AuthClient]:
    """An AuthClient connected to the fake as the plugin's user."""
    async with AuthClient(fake_auth.address, plugin_identity, call_timeout=5.0) as client:
        yield client
