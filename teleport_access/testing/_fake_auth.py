"""`FakeAuthServer`: a real gRPC Auth Service with mutual TLS on 127.0.0.1, for tests.

It serves the `proto.AuthService` methods an access-request plugin uses over TLS with client
certificates signed by its own `TestCertificateAuthority`, exactly as a Teleport Auth Service
does: the caller's user name is the client certificate's common name. Behind it is
`FakeAuthState` (the access-request state machine and plugin-data compare-and-swap); this module
adds the gRPC surface, watch streams, fault switches, call recording and the in-process helpers
a test uses to play the cluster's admin.

    async with FakeAuthServer() as fake:
        fake.write_identity_file(tmp_path / "identity", "access-plugin")
        request = fake.create_request("alice", ["admin"], reason="incident 42")
        async with AuthClient(fake.address, load_identity_file(tmp_path / "identity")) as client:
            await client.submit_review(request.id, proposed_state=RequestState.APPROVED)
        await fake.wait_for_state(request.id, RequestState.APPROVED)

See docs/testing-fake-auth.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import attrs
import grpc
import grpc.aio
from cryptography import x509
from cryptography.x509.oid import NameOID
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from teleport_access import _convert as convert
from teleport_access._credentials import Identity
from teleport_access._exceptions import BadParameter, TeleportError
from teleport_access._grpc_errors import status_code_for
from teleport_access._models import (
    AccessMonitoringRule,
    AccessRequest,
    AccessReview,
    AccessReviewThreshold,
    PluginData,
    RequestState,
    Role,
    ServerInfo,
    User,
)
from teleport_access._proto import (
    access_monitoring_rules_pb2,
    access_monitoring_rules_service_pb2_grpc,
    authservice_pb2,
    authservice_pb2_grpc,
    event_pb2,
    types_pb2,
    users_service_pb2,
    users_service_pb2_grpc,
)
from teleport_access.testing._fake_rules import VERBS
from teleport_access.testing._fake_state import Caller, FakeAuthState, WatchFilter
from teleport_access.testing._pki import TestCertificateAuthority

__all__ = ["METHODS", "FakeAuthServer", "RecordedCall"]

logger = logging.getLogger(__name__)

_T = TypeVar("_T")

#: The RPCs the fake serves (names as in proto.AuthService).
METHODS = (
    "Ping",
    "WatchEvents",
    "GetAccessRequestsV2",
    "ListAccessRequests",
    "CreateAccessRequestV2",
    "DeleteAccessRequest",
    "SetAccessRequestState",
    "SubmitAccessReview",
    "GetPluginData",
    "UpdatePluginData",
    "GetUser",
    "GetRole",
    "ListAccessMonitoringRules",
    "ListAccessMonitoringRulesWithFilter",
    "GetAccessMonitoringRule",
    "CreateAccessMonitoringRule",
    "UpdateAccessMonitoringRule",
    "UpsertAccessMonitoringRule",
    "DeleteAccessMonitoringRule",
    "UsersService/GetUser",
)
#: The gRPC service of each method that is not `proto.AuthService`'s.
_SERVICES = {
    **{
        name: "teleport.accessmonitoringrules.v1.AccessMonitoringRulesService"
        for name in METHODS
        if "AccessMonitoringRule" in name
    },
    "UsersService/GetUser": "teleport.users.v1.UsersService",
}
#: Kinds a watch may ask for; access_request is the one plugins use.
WATCHABLE_KINDS = (
    convert.KIND_ACCESS_REQUEST,
    convert.KIND_ACCESS_MONITORING_RULE,
    "role",
    "user",
)
#: The name the in-process helpers act under (an admin, like `tctl` on the Auth host).
RULER = "fake-auth-admin"


@attrs.frozen(kw_only=True)
class RecordedCall:
    """One RPC the fake received: method name, caller's user name, request message, outcome."""

    method: str
    caller: str
    request: Message
    at: datetime
    #: "OK" or the status code name the fake answered with.
    code: str = "OK"


@attrs.define
class _StreamEnd:
    code: grpc.StatusCode
    message: str


class _WatchStream:
    """One open WatchEvents stream: its queue and what it asked for."""

    def __init__(self, loop: asyncio.AbstractEventLoop, kinds: Mapping[str, WatchFilter]) -> None:
        self.loop = loop
        self.kinds = kinds
        self.queue: asyncio.Queue[event_pb2.Event | _StreamEnd] = asyncio.Queue()
        self.initialized = False

    def wants(self, event: event_pb2.Event) -> bool:
        resource = event.WhichOneof("Resource")
        if resource == "AccessRequest":
            flt = self.kinds.get(convert.KIND_ACCESS_REQUEST)
            if flt is None:
                return False
            if flt == WatchFilter():
                return True
            return flt.matches(convert.access_request_from_proto(event.AccessRequest))
        if resource == "ResourceHeader":  # DELETE: never filtered
            return event.ResourceHeader.Kind in self.kinds
        if resource == "AccessMonitoringRule":
            return convert.KIND_ACCESS_MONITORING_RULE in self.kinds
        if resource == "Role":
            return "role" in self.kinds
        if resource == "User":
            return "user" in self.kinds
        return False

    def offer(self, item: event_pb2.Event | _StreamEnd) -> None:
        """Thread-safe: called by the state (under its lock) from any thread."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _status(code: grpc.StatusCode | str) -> grpc.StatusCode:
    if isinstance(code, grpc.StatusCode):
        return code
    try:
        return grpc.StatusCode[code.upper()]
    except KeyError:
        raise ValueError(f"unknown gRPC status code {code!r}") from None


class FakeAuthServer:
    """A fake Teleport Auth Service: real gRPC, real mutual TLS, Teleport's access-request rules.

    Construct, then `await start()` (or `async with`). `address` is `127.0.0.1:<port>`; clients
    connect with identities from `issue_identity` / `write_identity_file` and the default TLS
    server name `teleport.cluster.local`.

    `clock` (a callable returning an aware UTC datetime) drives created/expiry times; requests
    whose resource expiry passes are deleted (DELETE event) by a sweep every `expiry_interval`
    seconds, and their plugin data is kept `plugin_data_grace` longer.
    """

    def __init__(
        self,
        *,
        cluster_name: str = "teleport.example.com",
        ca: TestCertificateAuthority | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        server_version: str = "17.4.2",
        proxy_public_addr: str = "teleport.example.com:443",
        advanced_access_workflows: bool = True,
        send_watch_status: bool = True,
        clock: Callable[[], datetime] = _utcnow,
        pending_ttl: timedelta = timedelta(weeks=1),
        access_ttl: timedelta = timedelta(hours=12),
        plugin_data_grace: timedelta = timedelta(hours=1),
        expiry_interval: float = 0.25,
    ) -> None:
        self.ca = ca if ca is not None else TestCertificateAuthority(cluster_name)
        self.cluster_name = self.ca.cluster_name
        self.server_version = server_version
        self.proxy_public_addr = proxy_public_addr
        self.advanced_access_workflows = advanced_access_workflows
        #: False emulates older servers whose INIT event carries no WatchStatus.
        self.send_watch_status = send_watch_status
        #: The kinds a watch may ask for; remove `access_monitoring_rule` to emulate a Teleport
        #: older than 16 (a partial-success watch then drops it from INIT).
        self.watchable_kinds: set[str] = set(WATCHABLE_KINDS)
        self.state = FakeAuthState(
            clock=clock,
            pending_ttl=pending_ttl,
            access_ttl=access_ttl,
            plugin_data_grace=plugin_data_grace,
        )
        self._host = host
        self._requested_port = port
        self._expiry_interval = expiry_interval
        self._server: grpc.aio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._port = 0
        self._streams: set[_WatchStream] = set()
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._failures: dict[str, deque[tuple[grpc.StatusCode, str]]] = {}
        self._delays: dict[str, float] = {}
        self._unimplemented: set[str] = set()
        self._locks: dict[str, str] = {}
        self._cert_roles: dict[bytes, tuple[str, ...]] = {}

    # --- lifecycle --------------------------------------------------------------------------------

    @property
    def address(self) -> str:
        """`host:port` to dial; valid once started."""
        if self._server is None:
            raise RuntimeError("the fake Auth Service is not started")
        return f"{self._host}:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    async def start(self) -> None:
        if self._server is not None:
            raise RuntimeError("already started")
        self._loop = asyncio.get_running_loop()
        server = grpc.aio.server()
        authservice_pb2_grpc.add_AuthServiceServicer_to_server(_Servicer(self), server)
        access_monitoring_rules_service_pb2_grpc.add_AccessMonitoringRulesServiceServicer_to_server(
            _RulesServicer(self), server
        )
        users_service_pb2_grpc.add_UsersServiceServicer_to_server(_UsersServicer(self), server)
        key_pem, cert_pem = self.ca.issue_server_credentials()
        credentials = grpc.ssl_server_credentials(
            [(key_pem, cert_pem)],
            root_certificates=self.ca.user_ca_pem,
            require_client_auth=True,
        )
        self._port = server.add_secure_port(f"{self._host}:{self._requested_port}", credentials)
        if self._port == 0:
            raise OSError(f"cannot listen on {self._host}:{self._requested_port}")
        await server.start()
        self._server = server
        self._sweeper = asyncio.create_task(self._sweep(), name="fake-auth-expiry")
        logger.debug("Fake Auth Service listening on %s", self.address)

    async def stop(self, grace: float | None = 0.2) -> None:
        """End every watch stream and stop serving. Safe to call twice."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        self.drop_watch_streams(grpc.StatusCode.UNAVAILABLE, "the fake Auth Service is stopping")
        if self._server is not None:
            await self._server.stop(grace)
            self._server = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @contextlib.contextmanager
    def run_in_thread(self, *, timeout: float = 30.0) -> Iterator[Self]:
        """Serve from a private event loop in a background thread (for synchronous tests).

        The in-process helpers (seeding, `create_request`, faults, ...) are thread-safe and may
        be called from the test's thread; the `wait_for*` coroutines belong to that private loop.
        """
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name="fake-auth-server", daemon=True)
        thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self.start(), loop).result(timeout)
            yield self
        finally:
            try:
                asyncio.run_coroutine_threadsafe(self.stop(), loop).result(timeout)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout)
                loop.close()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self._expiry_interval)
            for request_id in self.state.expire_due():
                logger.debug("Fake Auth Service expired access request %s", request_id)

    # --- identities -------------------------------------------------------------------------------

    def issue_identity(
        self,
        username: str,
        *,
        roles: Sequence[str] = (),
        admin: bool = False,
        ttl: timedelta = timedelta(hours=1),
        not_before: datetime | None = None,
        key_type: str = "ecdsa",
        key_format: str = "pkcs8",
    ) -> Identity:
        """An identity for `username` signed by this cluster's user CA.

        A user with `roles` is created unless one is stored already; `admin=True` lets the user
        act for others (create requests for anyone, review as anyone), like Teleport's builtin
        Admin role.
        """
        identity = self.ca.issue_identity(
            username,
            roles=roles,
            ttl=ttl,
            not_before=not_before,
            key_type=key_type,
            key_format=key_format,
        )
        self.state.ensure_user(username, roles)
        if admin:
            self.state.set_admin(username)
        return identity

    def write_identity_file(
        self,
        path: str | os.PathLike[str],
        username: str,
        *,
        roles: Sequence[str] = (),
        admin: bool = False,
        ttl: timedelta = timedelta(hours=1),
        not_before: datetime | None = None,
    ) -> Path:
        """Issue an identity and write it as an identity file (mode 0600); return the path."""
        identity = self.issue_identity(
            username, roles=roles, admin=admin, ttl=ttl, not_before=not_before
        )
        return self.ca.write_identity_file(path, identity)

    def write_tls_files(
        self,
        directory: str | os.PathLike[str],
        username: str,
        *,
        roles: Sequence[str] = (),
        admin: bool = False,
        ttl: timedelta = timedelta(hours=1),
    ) -> tuple[Path, Path, Path]:
        """Issue an identity and write `identity.key/.crt/.cas` into `directory`."""
        identity = self.issue_identity(username, roles=roles, admin=admin, ttl=ttl)
        return self.ca.write_tls_files(directory, identity)

    # --- seeding ----------------------------------------------------------------------------------

    def add_role(self, role: Role) -> None:
        """Store (or replace) a role; requesters' and reviewers' roles are looked up here."""
        self.state.add_role(role)

    def add_user(self, user: User, *, admin: bool = False) -> None:
        """Store (or replace) a user; their stored roles and traits are what the fake uses."""
        self.state.add_user(user, admin=admin)

    def set_admin(self, username: str, admin: bool = True) -> None:
        self.state.set_admin(username, admin)

    # --- the admin's in-process helpers -----------------------------------------------------------

    def _ruler(self) -> Caller:
        return Caller(name=RULER, admin=True)

    def create_request(
        self,
        user: str,
        roles: Sequence[str],
        *,
        reason: str = "",
        request_id: str = "",
        suggested_reviewers: Sequence[str] = (),
        thresholds: Sequence[AccessReviewThreshold] | None = None,
        system_annotations: Mapping[str, Sequence[str]] | None = None,
        expires: datetime | None = None,
        resource_expires: datetime | None = None,
        max_duration: datetime | None = None,
    ) -> AccessRequest:
        """Create a PENDING request as `user` (watchers see a PUT).

        Thresholds and system annotations come from the user's stored roles, as in Teleport;
        `thresholds` / `system_annotations` override them for tests that need no roles.
        """
        message = self.state.create_request(
            self._ruler(),
            user=user,
            roles=roles,
            reason=reason,
            request_id=request_id,
            suggested_reviewers=suggested_reviewers,
            thresholds=thresholds,
            system_annotations=system_annotations,
            expires=expires,
            resource_expires=resource_expires,
            max_duration=max_duration,
        )
        return convert.access_request_from_proto(message)

    def submit_review(
        self,
        request_id: str,
        author: str,
        proposed_state: RequestState,
        *,
        reason: str = "",
    ) -> AccessRequest:
        """Submit a review as `author` would, with every check Teleport applies."""
        caller = Caller(name=author, admin=self.state.is_admin(author))
        review = AccessReview(author=author, proposed_state=proposed_state, reason=reason)
        return convert.access_request_from_proto(
            self.state.submit_review(caller, request_id, review)
        )

    def set_state(
        self,
        request_id: str,
        state: RequestState,
        *,
        reason: str = "",
        annotations: Mapping[str, Sequence[str]] | None = None,
        roles: Sequence[str] = (),
    ) -> AccessRequest:
        """Change a request's state as an admin (`tctl request approve/deny`)."""
        message = self.state.set_state(
            self._ruler(), request_id, state, reason=reason, annotations=annotations, roles=roles
        )
        return convert.access_request_from_proto(message)

    def approve(self, request_id: str, *, reason: str = "") -> AccessRequest:
        return self.set_state(request_id, RequestState.APPROVED, reason=reason)

    def deny(self, request_id: str, *, reason: str = "") -> AccessRequest:
        return self.set_state(request_id, RequestState.DENIED, reason=reason)

    def delete_request(self, request_id: str) -> None:
        """Delete a request (watchers see a DELETE); its plugin data stays readable a while."""
        self.state.delete_request(self._ruler(), request_id)

    def expire(self, request_id: str) -> None:
        """Expire a request now, as reaching its resource expiry would."""
        self.state.expire(request_id)

    def get_request(self, request_id: str) -> AccessRequest | None:
        return self.state.get_request(request_id)

    def requests(self) -> list[AccessRequest]:
        return self.state.requests()

    def plugin_data(self, request_id: str, plugin: str) -> dict[str, str] | None:
        """A plugin's data for a request, as stored (None when there is none)."""
        return self.state.plugin_data(request_id, plugin)

    def set_plugin_data(self, request_id: str, plugin: str, data: Mapping[str, str]) -> None:
        """Overwrite a plugin's data without expectations (it must exist or its request must)."""
        current = self.state.plugin_data(request_id, plugin) or {}
        changes = dict.fromkeys(current, "") | dict(data)
        self.state.update_plugin_data(
            kind=convert.KIND_ACCESS_REQUEST,
            resource=request_id,
            plugin=plugin,
            set_=changes,
            expect={},
        )

    def all_plugin_data(self, plugin: str) -> list[PluginData]:
        """A plugin's data for every request, including deleted ones still kept."""
        out: list[PluginData] = []
        for item in self.state.get_plugin_data(kind=convert.KIND_ACCESS_REQUEST, plugin=plugin):
            out.extend(d for d in convert.plugin_data_from_proto(item) if d.plugin == plugin)
        return out

    # --- faults -----------------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        code: grpc.StatusCode | str = grpc.StatusCode.UNAVAILABLE,
        message: str = "injected failure",
    ) -> None:
        """Answer the next `times` calls of `method` with `code` (default UNAVAILABLE)."""
        self._check_method(method)
        status = _status(code)
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend([(status, message)] * times)

    def delay(self, method: str | None, seconds: float) -> None:
        """Delay every answer of `method` (None: of every method) by `seconds`; 0 removes it."""
        key = "*" if method is None else method
        if method is not None:
            self._check_method(method)
        with self._lock:
            if seconds > 0:
                self._delays[key] = seconds
            else:
                self._delays.pop(key, None)

    def set_unimplemented(self, method: str, unimplemented: bool = True) -> None:
        """Answer `method` with UNIMPLEMENTED, like a Teleport version without it."""
        self._check_method(method)
        with self._lock:
            if unimplemented:
                self._unimplemented.add(method)
            else:
                self._unimplemented.discard(method)

    def drop_watch_streams(
        self,
        code: grpc.StatusCode | str = grpc.StatusCode.UNAVAILABLE,
        message: str = "watch stream dropped by the fake Auth Service",
    ) -> int:
        """End every open watch stream now with `code`; return how many were open."""
        status = _status(code)
        streams = list(self._streams)
        for stream in streams:
            stream.offer(_StreamEnd(status, message))
        return len(streams)

    def lock_user(self, username: str, message: str = "") -> None:
        """Refuse every call by `username` (PERMISSION_DENIED), like a Teleport lock."""
        with self._lock:
            self._locks[username] = message

    def unlock_user(self, username: str) -> None:
        with self._lock:
            self._locks.pop(username, None)

    def clear_faults(self) -> None:
        """Remove injected failures, delays, UNIMPLEMENTED methods and user locks."""
        with self._lock:
            self._failures.clear()
            self._delays.clear()
            self._unimplemented.clear()
            self._locks.clear()

    @staticmethod
    def _check_method(method: str) -> None:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; expected one of {', '.join(METHODS)}")

    # --- observation ------------------------------------------------------------------------------

    @property
    def calls(self) -> list[RecordedCall]:
        """Every call received so far, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    @property
    def watch_stream_count(self) -> int:
        """Watch streams that have sent INIT and are still open."""
        return sum(1 for s in list(self._streams) if s.initialized)

    async def wait_for(
        self,
        check: Callable[[], _T | None],
        *,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain seconds value reads best in tests
        what: str = "condition",
    ) -> _T:
        """Poll `check` until it returns something other than None/False; return that."""
        deadline = time.monotonic() + timeout
        while True:
            value = check()
            if value is not None and value is not False:
                return value
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            await asyncio.sleep(0.005)

    async def wait_for_watchers(
        self,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> int:
        """Until at least `count` watch streams are open and initialized."""
        return await self.wait_for(
            lambda: self.watch_stream_count if self.watch_stream_count >= count else None,
            timeout=timeout,
            what=f"{count} watch stream(s)",
        )

    async def wait_for_state(
        self,
        request_id: str,
        state: RequestState,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> AccessRequest:
        def check() -> AccessRequest | None:
            request = self.get_request(request_id)
            return request if request is not None and request.state == state else None

        return await self.wait_for(
            check, timeout=timeout, what=f"request {request_id} to be {state.name}"
        )

    async def wait_for_review(
        self,
        request_id: str,
        author: str | None = None,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> AccessReview:
        def check() -> AccessReview | None:
            request = self.get_request(request_id)
            for review in request.reviews if request else ():
                if author is None or review.author == author:
                    return review
            return None

        who = f" by {author}" if author else ""
        return await self.wait_for(
            check, timeout=timeout, what=f"a review{who} of request {request_id}"
        )

    async def wait_for_plugin_data(
        self,
        request_id: str,
        plugin: str,
        predicate: Callable[[Mapping[str, str]], bool] = lambda data: True,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> dict[str, str]:
        def check() -> dict[str, str] | None:
            data = self.plugin_data(request_id, plugin)
            return data if data is not None and predicate(data) else None

        return await self.wait_for(
            check, timeout=timeout, what=f"plugin data of {plugin} for request {request_id}"
        )

    async def wait_for_call(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedCall:
        """Until `method` was called `count` times; return the `count`-th call."""
        self._check_method(method)

        def check() -> RecordedCall | None:
            calls = self.calls_to(method)
            return calls[count - 1] if len(calls) >= count else None

        return await self.wait_for(check, timeout=timeout, what=f"{count} call(s) to {method}")

    # --- access monitoring rules and permissions -------------------------------------------------

    def create_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        """Create a rule as the admin would (`tctl create`); watchers see a PUT."""
        return convert.rule_from_proto(self.state.rules.create(convert.rule_to_proto(rule)))

    def update_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        return convert.rule_from_proto(self.state.rules.update(convert.rule_to_proto(rule)))

    def upsert_rule(self, rule: AccessMonitoringRule) -> AccessMonitoringRule:
        return convert.rule_from_proto(self.state.rules.upsert(convert.rule_to_proto(rule)))

    def delete_rule(self, name: str) -> None:
        """Delete a rule; watchers see a DELETE carrying only its name."""
        self.state.rules.delete(name)

    def get_rule(self, name: str) -> AccessMonitoringRule | None:
        try:
            return convert.rule_from_proto(self.state.rules.get(name))
        except TeleportError:
            return None

    def rules(self) -> list[AccessMonitoringRule]:
        """Every stored rule, by name."""
        return self.state.rules.models()

    def deny_resource(self, user: str, kind: str, verbs: Sequence[str] = VERBS) -> None:
        """Refuse `user` the `verbs` on resources of `kind`, as a role without that rule would:
        e.g. `deny_resource("access-plugin", "access_monitoring_rule")` (the watch then drops
        the kind with partial success, listing answers AccessDenied) or
        `deny_resource("access-plugin", "user", ["read"])` (GetUser answers AccessDenied)."""
        self.state.permissions.deny(user, kind, verbs)

    def allow_resource(self, user: str, kind: str, verbs: Sequence[str] = VERBS) -> None:
        """Undo `deny_resource`."""
        self.state.permissions.allow(user, kind, verbs)

    def _read_user(self, caller: Caller, name: str) -> User:
        if not caller.admin:
            self.state.permissions.check(caller.name, "user", "read")
        return self.state.get_user(name)

    # --- used by the servicer ---------------------------------------------------------------------

    def _caller(self, context: grpc.aio.ServicerContext[Any, Any]) -> Caller:
        auth = context.auth_context()
        name = next(iter(auth.get("x509_common_name") or ()), b"").decode()
        pem = next(iter(auth.get("x509_pem_cert") or ()), b"")
        roles = self._cert_roles.get(pem)
        if roles is None:
            roles = ()
            if pem:
                cert = x509.load_pem_x509_certificate(pem)
                values = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
                roles = tuple(str(v.value) for v in values)
            self._cert_roles[pem] = roles
        return Caller(name=name, cert_roles=roles, admin=self.state.is_admin(name))

    def _record(self, method: str, caller: Caller, request: Message, code: str) -> None:
        copy = type(request)()
        copy.CopyFrom(request)
        call = RecordedCall(
            method=method, caller=caller.name, request=copy, at=self.state.clock(), code=code
        )
        with self._lock:
            self._calls.append(call)

    async def _prelude(self, method: str, caller: Caller) -> tuple[grpc.StatusCode, str] | None:
        """Apply the fault switches; return the status to fail with, if any."""
        with self._lock:
            delay = self._delays.get(method, self._delays.get("*", 0.0))
            failure: tuple[grpc.StatusCode, str] | None
            if caller.name in self._locks:
                lock_message = self._locks[caller.name]
                failure = (
                    grpc.StatusCode.PERMISSION_DENIED,
                    f'lock targeting User:"{caller.name}" is in force'
                    + (f": {lock_message}" if lock_message else ""),
                )
            elif method in self._unimplemented:
                service = _SERVICES.get(method, "proto.AuthService")
                failure = (
                    grpc.StatusCode.UNIMPLEMENTED,
                    f"unknown method {method.rpartition('/')[2]} for service {service}",
                )
            else:
                queue = self._failures.get(method)
                failure = queue.popleft() if queue else None
        if delay:
            await asyncio.sleep(delay)
        return failure

    async def _unary(
        self,
        method: str,
        request: Message,
        context: grpc.aio.ServicerContext[Any, Any],
        handler: Callable[[Caller], _T | Awaitable[_T]],
    ) -> _T:
        caller = self._caller(context)
        failure = await self._prelude(method, caller)
        if failure is not None:
            self._record(method, caller, request, failure[0].name)
            await context.abort(failure[0], failure[1])
        try:
            result = handler(caller)
            if isinstance(result, Awaitable):
                result = await result
        except TeleportError as exc:
            code = status_code_for(exc)
            self._record(method, caller, request, code.name)
            await context.abort(code, exc.message)
        self._record(method, caller, request, "OK")
        return result

    def _parse_watch(
        self, request: authservice_pb2.Watch, caller: Caller
    ) -> dict[str, WatchFilter]:
        kinds: dict[str, WatchFilter] = {}
        for kind in request.Kinds:
            if kind.Kind not in self.watchable_kinds:
                if request.AllowPartialSuccess:
                    continue
                raise BadParameter(f"watching {kind.Kind!r} is not supported")
            if not caller.admin:
                try:
                    # Teleport checks read and list of the kind before it adds a watcher.
                    self.state.permissions.check(caller.name, kind.Kind, "read", "list")
                except TeleportError:
                    if request.AllowPartialSuccess:
                        continue
                    raise
            if kind.Kind == convert.KIND_ACCESS_REQUEST:
                kinds[kind.Kind] = WatchFilter.parse(dict(kind.Filter))
            else:
                kinds[kind.Kind] = WatchFilter()
        if not kinds:
            if request.AllowPartialSuccess and request.Kinds:
                raise BadParameter("none of the requested kinds can be watched")
            raise BadParameter("missing parameter Kinds")
        return kinds

    async def _watch(
        self, request: authservice_pb2.Watch, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[event_pb2.Event]:
        caller = self._caller(context)
        failure = await self._prelude("WatchEvents", caller)
        if failure is not None:
            self._record("WatchEvents", caller, request, failure[0].name)
            await context.abort(failure[0], failure[1])
        try:
            kinds = self._parse_watch(request, caller)
        except TeleportError as exc:
            code = status_code_for(exc)
            self._record("WatchEvents", caller, request, code.name)
            await context.abort(code, exc.message)
        self._record("WatchEvents", caller, request, "OK")
        stream = _WatchStream(asyncio.get_running_loop(), kinds)
        # Subscribe before INIT, so nothing that happens after INIT can be missed.
        unsubscribe = self.state.subscribe(
            lambda event: stream.offer(event) if stream.wants(event) else None
        )
        self._streams.add(stream)
        try:
            confirmed = [k for k in request.Kinds if k.Kind in kinds]
            yield convert.init_event(confirmed if self.send_watch_status else None)
            stream.initialized = True
            while True:
                item = await stream.queue.get()
                if isinstance(item, _StreamEnd):
                    await context.abort(item.code, item.message)
                yield item
        finally:
            unsubscribe()
            self._streams.discard(stream)

    def _ping(self, context: grpc.aio.ServicerContext[Any, Any]) -> authservice_pb2.PingResponse:
        peer = context.peer()
        for prefix in ("ipv4:", "ipv6:"):
            if peer.startswith(prefix):
                peer = peer[len(prefix) :]
        info = ServerInfo(
            cluster_name=self.cluster_name,
            server_version=self.server_version,
            proxy_public_addr=self.proxy_public_addr,
            advanced_access_workflows=self.advanced_access_workflows,
            remote_addr=peer,
        )
        return convert.server_info_to_proto(info)


class _Servicer(authservice_pb2_grpc.AuthServiceServicer):
    """Translates proto.AuthService calls into `FakeAuthState` operations."""

    def __init__(self, fake: FakeAuthServer) -> None:
        self.fake = fake
        self.state = fake.state

    async def Ping(
        self,
        request: authservice_pb2.PingRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> authservice_pb2.PingResponse:
        return await self.fake._unary("Ping", request, context, lambda _: self.fake._ping(context))

    async def WatchEvents(
        self,
        request: authservice_pb2.Watch,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[event_pb2.Event]:
        async for event in self.fake._watch(request, context):
            yield event

    async def GetAccessRequestsV2(
        self,
        request: types_pb2.AccessRequestFilter,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> AsyncIterator[types_pb2.AccessRequestV3]:
        items = await self.fake._unary(
            "GetAccessRequestsV2",
            request,
            context,
            lambda _: self.state.all_requests(convert.filter_from_proto(request)),
        )
        for item in items:
            yield item

    async def ListAccessRequests(
        self,
        request: authservice_pb2.ListAccessRequestsRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> authservice_pb2.ListAccessRequestsResponse:
        def handle(caller: Caller) -> authservice_pb2.ListAccessRequestsResponse:
            page = self.state.list_requests(
                convert.filter_from_proto(request.Filter),
                limit=request.Limit,
                start_key=request.StartKey,
                sort=request.Sort,
                descending=request.Descending,
                scope=request.Filter.Scope,
                requester=caller.name,
            )
            return authservice_pb2.ListAccessRequestsResponse(
                AccessRequests=page.requests, NextKey=page.next_key
            )

        return await self.fake._unary("ListAccessRequests", request, context, handle)

    async def CreateAccessRequestV2(
        self,
        request: types_pb2.AccessRequestV3,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> types_pb2.AccessRequestV3:
        def handle(caller: Caller) -> types_pb2.AccessRequestV3:
            model = convert.access_request_from_proto(request)
            return self.state.create_request(
                caller,
                user=model.user,
                roles=model.roles,
                reason=model.request_reason,
                request_id=model.id,
                suggested_reviewers=model.suggested_reviewers,
                expires=model.expires,
                resource_expires=model.resource_expires,
                max_duration=model.max_duration,
                dry_run=request.Spec.DryRun,
            )

        return await self.fake._unary("CreateAccessRequestV2", request, context, handle)

    async def DeleteAccessRequest(
        self,
        request: authservice_pb2.RequestID,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> empty_pb2.Empty:
        def handle(caller: Caller) -> empty_pb2.Empty:
            self.state.delete_request(caller, request.ID)
            return empty_pb2.Empty()

        return await self.fake._unary("DeleteAccessRequest", request, context, handle)

    async def SetAccessRequestState(
        self,
        request: authservice_pb2.RequestStateSetter,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> empty_pb2.Empty:
        def handle(caller: Caller) -> empty_pb2.Empty:
            self.state.set_state(
                caller,
                request.ID,
                RequestState(request.State),
                reason=request.Reason,
                delegator=request.Delegator,
                annotations=convert.labels_from_proto(request.Annotations),
                roles=tuple(request.Roles),
            )
            return empty_pb2.Empty()

        return await self.fake._unary("SetAccessRequestState", request, context, handle)

    async def SubmitAccessReview(
        self,
        request: types_pb2.AccessReviewSubmission,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> types_pb2.AccessRequestV3:
        def handle(caller: Caller) -> types_pb2.AccessRequestV3:
            review = convert.review_from_proto(request.Review)
            return self.state.submit_review(caller, request.RequestID, review)

        return await self.fake._unary("SubmitAccessReview", request, context, handle)

    async def GetPluginData(
        self,
        request: types_pb2.PluginDataFilter,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> authservice_pb2.PluginDataSeq:
        def handle(_: Caller) -> authservice_pb2.PluginDataSeq:
            items = self.state.get_plugin_data(
                kind=request.Kind, resource=request.Resource, plugin=request.Plugin
            )
            return authservice_pb2.PluginDataSeq(PluginData=items)

        return await self.fake._unary("GetPluginData", request, context, handle)

    async def UpdatePluginData(
        self,
        request: types_pb2.PluginDataUpdateParams,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> empty_pb2.Empty:
        def handle(_: Caller) -> empty_pb2.Empty:
            self.state.update_plugin_data(
                kind=request.Kind,
                resource=request.Resource,
                plugin=request.Plugin,
                set_=dict(request.Set),
                expect=dict(request.Expect),
            )
            return empty_pb2.Empty()

        return await self.fake._unary("UpdatePluginData", request, context, handle)

    async def GetUser(
        self,
        request: authservice_pb2.GetUserRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> types_pb2.UserV2:
        return await self.fake._unary(
            "GetUser",
            request,
            context,
            lambda caller: convert.user_to_proto(self.fake._read_user(caller, request.Name)),
        )

    async def GetRole(
        self,
        request: authservice_pb2.GetRoleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> types_pb2.RoleV6:
        return await self.fake._unary(
            "GetRole",
            request,
            context,
            lambda _: convert.role_to_proto(self.state.get_role(request.Name)),
        )


class _RulesServicer(access_monitoring_rules_service_pb2_grpc.AccessMonitoringRulesServiceServicer):
    """teleport.accessmonitoringrules.v1.AccessMonitoringRulesService over `FakeRuleStore`."""

    def __init__(self, fake: FakeAuthServer) -> None:
        self.fake = fake
        self.rules = fake.state.rules

    def _check(self, caller: Caller, *verbs: str) -> None:
        if not caller.admin:
            self.fake.state.permissions.check(
                caller.name, convert.KIND_ACCESS_MONITORING_RULE, *verbs
            )

    async def ListAccessMonitoringRules(
        self,
        request: access_monitoring_rules_pb2.ListAccessMonitoringRulesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.ListAccessMonitoringRulesResponse:
        def handle(caller: Caller) -> access_monitoring_rules_pb2.ListAccessMonitoringRulesResponse:
            self._check(caller, "list", "read")
            page = self.rules.page(None, request.page_size, request.page_token)
            return access_monitoring_rules_pb2.ListAccessMonitoringRulesResponse(
                rules=page.rules, next_page_token=page.next_page_token
            )

        return await self.fake._unary("ListAccessMonitoringRules", request, context, handle)

    async def ListAccessMonitoringRulesWithFilter(
        self,
        request: access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterResponse:
        def handle(
            caller: Caller,
        ) -> access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterResponse:
            self._check(caller, "list", "read")
            page = self.rules.page(
                convert.rule_filter_from_proto(request), request.page_size, request.page_token
            )
            return access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterResponse(
                rules=page.rules, next_page_token=page.next_page_token
            )

        return await self.fake._unary(
            "ListAccessMonitoringRulesWithFilter", request, context, handle
        )

    async def GetAccessMonitoringRule(
        self,
        request: access_monitoring_rules_pb2.GetAccessMonitoringRuleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        def handle(caller: Caller) -> access_monitoring_rules_pb2.AccessMonitoringRule:
            self._check(caller, "read")
            return self.rules.get(request.name)

        return await self.fake._unary("GetAccessMonitoringRule", request, context, handle)

    async def CreateAccessMonitoringRule(
        self,
        request: access_monitoring_rules_pb2.CreateAccessMonitoringRuleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        def handle(caller: Caller) -> access_monitoring_rules_pb2.AccessMonitoringRule:
            self._check(caller, "create")
            return self.rules.create(request.rule)

        return await self.fake._unary("CreateAccessMonitoringRule", request, context, handle)

    async def UpdateAccessMonitoringRule(
        self,
        request: access_monitoring_rules_pb2.UpdateAccessMonitoringRuleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        def handle(caller: Caller) -> access_monitoring_rules_pb2.AccessMonitoringRule:
            self._check(caller, "update")
            return self.rules.update(request.rule)

        return await self.fake._unary("UpdateAccessMonitoringRule", request, context, handle)

    async def UpsertAccessMonitoringRule(
        self,
        request: access_monitoring_rules_pb2.UpsertAccessMonitoringRuleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> access_monitoring_rules_pb2.AccessMonitoringRule:
        def handle(caller: Caller) -> access_monitoring_rules_pb2.AccessMonitoringRule:
            self._check(caller, "create", "update")
            return self.rules.upsert(request.rule)

        return await self.fake._unary("UpsertAccessMonitoringRule", request, context, handle)

    async def DeleteAccessMonitoringRule(
        self,
        request: access_monitoring_rules_pb2.DeleteAccessMonitoringRuleRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> empty_pb2.Empty:
        def handle(caller: Caller) -> empty_pb2.Empty:
            self._check(caller, "delete")
            self.rules.delete(request.name)
            return empty_pb2.Empty()

        return await self.fake._unary("DeleteAccessMonitoringRule", request, context, handle)


class _UsersServicer(users_service_pb2_grpc.UsersServiceServicer):
    """teleport.users.v1.UsersService/GetUser."""

    def __init__(self, fake: FakeAuthServer) -> None:
        self.fake = fake

    async def GetUser(
        self,
        request: users_service_pb2.GetUserRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> users_service_pb2.GetUserResponse:
        def handle(caller: Caller) -> users_service_pb2.GetUserResponse:
            name = caller.name if request.current_user else request.name
            user = self.fake._read_user(caller, name)
            return users_service_pb2.GetUserResponse(user=convert.user_to_proto(user))

        return await self.fake._unary("UsersService/GetUser", request, context, handle)
