"""`SyncAuthClient`: the blocking twin of `AuthClient`, for scripts.

It owns a private event loop running in a background thread and submits every call to it, so it
works the same from plain scripts, from threads, and from code that already runs an event loop
(where `asyncio.run` would fail). Each method blocks until the call finished and raises the same
`teleport_access` exceptions as `AuthClient`.

    with SyncAuthClient("auth.example.com:3025", load_identity_file("identity")) as client:
        for request in client.list_access_requests():
            print(request.id, request.state.name)
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Generator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self, TypeVar

from teleport_access._client import AuthClient, LabelsArg
from teleport_access._credentials import Identity, IdentitySource
from teleport_access._models import (
    AccessMonitoringRule,
    AccessMonitoringRuleFilter,
    AccessRequest,
    AccessRequestFilter,
    PluginData,
    RequestState,
    Role,
    ServerInfo,
    User,
    WatchMessage,
)
from teleport_access._plugindata import CasResult, Modifier, modify_plugin_data

__all__ = ["SyncAuthClient"]

_T = TypeVar("_T")


class SyncAuthClient:
    """Blocking `AuthClient`: same constructor arguments, same methods, no `await`."""

    def __init__(self, address: str, identity: Identity | IdentitySource, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="teleport-access-sync-client", daemon=True
        )
        self._thread.start()
        self._client = AuthClient(address, identity, **options)
        self._closed = False

    @property
    def address(self) -> str:
        return self._client.address

    def __repr__(self) -> str:
        return f"SyncAuthClient({self._client.address!r})"

    def _run(self, coroutine: Coroutine[Any, Any, _T]) -> _T:
        if self._closed:
            coroutine.close()
            raise RuntimeError("the client is closed")
        if threading.current_thread() is self._thread:
            coroutine.close()
            raise RuntimeError("SyncAuthClient cannot be called from its own event loop")
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result()

    def close(self) -> None:
        """Close the connections and stop the private event loop. Safe to call twice."""
        if self._closed:
            return
        try:
            self._run(self._client.close())
        finally:
            self._closed = True
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._loop.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- the AuthClient methods -------------------------------------------------------------------

    def ping(self) -> ServerInfo:
        return self._run(self._client.ping())

    def get_role(self, name: str) -> Role:
        return self._run(self._client.get_role(name))

    def get_user(self, name: str) -> User:
        return self._run(self._client.get_user(name))

    def list_access_monitoring_rules(
        self, filter: AccessMonitoringRuleFilter | None = None, *, page_size: int = 1000
    ) -> list[AccessMonitoringRule]:
        return self._run(self._client.list_access_monitoring_rules(filter, page_size=page_size))

    def get_access_monitoring_rule(self, name: str) -> AccessMonitoringRule:
        return self._run(self._client.get_access_monitoring_rule(name))

    def create_access_monitoring_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        return self._run(self._client.create_access_monitoring_rule(rule))

    def update_access_monitoring_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        return self._run(self._client.update_access_monitoring_rule(rule))

    def upsert_access_monitoring_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        return self._run(self._client.upsert_access_monitoring_rule(rule))

    def delete_access_monitoring_rule(self, name: str) -> None:
        self._run(self._client.delete_access_monitoring_rule(name))

    def list_access_requests(
        self, filter: AccessRequestFilter | None = None, *, page_size: int = 500
    ) -> list[AccessRequest]:
        return self._run(self._client.list_access_requests(filter, page_size=page_size))

    def get_access_request(self, request_id: str) -> AccessRequest:
        return self._run(self._client.get_access_request(request_id))

    def create_access_request(
        self,
        user: str,
        roles: Sequence[str],
        *,
        reason: str = "",
        request_id: str | None = None,
        suggested_reviewers: Sequence[str] = (),
        expires: datetime | None = None,
        resource_expires: datetime | None = None,
        max_duration: datetime | None = None,
        dry_run: bool = False,
    ) -> AccessRequest:
        return self._run(
            self._client.create_access_request(
                user,
                roles,
                reason=reason,
                request_id=request_id,
                suggested_reviewers=suggested_reviewers,
                expires=expires,
                resource_expires=resource_expires,
                max_duration=max_duration,
                dry_run=dry_run,
            )
        )

    def delete_access_request(self, request_id: str) -> None:
        self._run(self._client.delete_access_request(request_id))

    def submit_review(
        self,
        request_id: str,
        *,
        proposed_state: RequestState,
        reason: str = "",
        author: str = "",
        annotations: LabelsArg | None = None,
        created: datetime | None = None,
    ) -> AccessRequest:
        return self._run(
            self._client.submit_review(
                request_id,
                proposed_state=proposed_state,
                reason=reason,
                author=author,
                annotations=annotations,
                created=created,
            )
        )

    def set_state(
        self,
        request_id: str,
        state: RequestState,
        *,
        reason: str = "",
        delegator: str = "",
        annotations: LabelsArg | None = None,
        roles: Sequence[str] | None = None,
    ) -> None:
        self._run(
            self._client.set_state(
                request_id,
                state,
                reason=reason,
                delegator=delegator,
                annotations=annotations,
                roles=roles,
            )
        )

    def get_plugin_data(self, request_id: str, plugin: str) -> PluginData | None:
        return self._run(self._client.get_plugin_data(request_id, plugin))

    def list_plugin_data(self, plugin: str) -> list[PluginData]:
        return self._run(self._client.list_plugin_data(plugin))

    def update_plugin_data(
        self,
        request_id: str,
        plugin: str,
        *,
        set: Mapping[str, str],
        expect: Mapping[str, str] | None,
    ) -> None:
        self._run(self._client.update_plugin_data(request_id, plugin, set=set, expect=expect))

    def modify_plugin_data(
        self, request_id: str, plugin: str, fn: Modifier, *, timeout: float = 30.0
    ) -> CasResult:
        """`modify_plugin_data` (compare-and-swap with retries) through this client."""
        return self._run(modify_plugin_data(self._client, request_id, plugin, fn, timeout=timeout))

    def watch(
        self,
        kinds: Sequence[str] = ("access_request",),
        *,
        request_filter: AccessRequestFilter | None = None,
        allow_partial_success: bool = False,
    ) -> Generator[WatchMessage, None, None]:
        """One watch stream as a blocking iterator; close it (or break out) to end the stream."""
        stream = self._client.watch(
            kinds, request_filter=request_filter, allow_partial_success=allow_partial_success
        )

        async def step() -> WatchMessage:
            return await anext(stream)

        try:
            while True:
                try:
                    yield self._run(step())
                except StopAsyncIteration:
                    return
        finally:
            if not self._closed:
                self._run(stream.aclose())
