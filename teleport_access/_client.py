"""`AuthClient`: the asyncio client of the Teleport Auth Service's access-request API.

Speaks the `proto.AuthService` gRPC API to an Auth Service address (`host:3025`), or through a
Teleport Proxy (`_route.py`, `_tunnel.py`), over mutual TLS (see `_channel.py`), converts every
message to and from the models in `_models.py` (see `_convert.py`), and turns every gRPC
failure into a `teleport_access` exception in one place (`_call` / `_stream` through
`_grpc_errors.py`): grpc exceptions never reach callers.

    async with AuthClient("auth.example.com:3025", RefreshingIdentityFile("identity")) as client:
        info = await client.ping()
        for request in await client.list_access_requests():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import grpc
import grpc.aio

from teleport_access import _convert as convert
from teleport_access._channel import DEFAULT_AUTH_PORT, DEFAULT_SERVER_NAME, ChannelPool, Stubs
from teleport_access._credentials import Identity, IdentitySource, StaticIdentity
from teleport_access._exceptions import (
    APIError,
    ConnectionProblem,
    NotFound,
    NotImplementedByServer,
    TeleportError,
)
from teleport_access._grpc_errors import translate_rpc_error, translate_usage_error
from teleport_access._models import (
    AccessMonitoringRule,
    AccessMonitoringRuleFilter,
    AccessRequest,
    AccessRequestFilter,
    AccessReview,
    PluginData,
    RequestState,
    Role,
    ServerInfo,
    User,
    WatchMessage,
)
from teleport_access._proto import (
    access_monitoring_rules_pb2,
    authservice_pb2,
    types_pb2,
    users_service_pb2,
)
from teleport_access._route import ConnectOptions, Route, RouteKind, RouteMode, resolve_route
from teleport_access._tunnel import AuthTunnel

if TYPE_CHECKING:  # the async stub class exists only in the .pyi
    from teleport_access._proto.authservice_pb2_grpc import AuthServiceAsyncStub

__all__ = ["AuthClient"]

logger = logging.getLogger(__name__)

_Resp = TypeVar("_Resp")
_Item = TypeVar("_Item")

#: Labels argument: Teleport's map<string, []string>.
LabelsArg = Mapping[str, Sequence[str]]


def _normalize_address(address: str) -> str:
    address = address.strip()
    if not address:
        raise ValueError("the Auth Service address is empty; expected host:port")
    if "://" in address:
        raise ValueError(
            f"the Auth Service address {address!r} must be host:port, without a URL scheme"
        )
    host_and_port = address.rsplit(":", 1)
    if address.startswith("["):  # [ipv6]:port or [ipv6]
        has_port = "]:" in address
    else:
        has_port = len(host_and_port) == 2 and address.count(":") == 1
    return address if has_port else f"{address}:{DEFAULT_AUTH_PORT}"


class AuthClient:
    """Asyncio client of the Teleport Auth Service (gRPC, mutual TLS).

    `identity` is an `Identity` or an `IdentitySource`; with a `RefreshingIdentityFile`, calls
    made after the file was renewed use the new certificate without a restart (calls and streams
    already running finish on the old connection). Use as an async context manager, or call
    `close()`.

    `address` may be the Auth Service or a Teleport Proxy (``proxy.example.com:443``): on first
    use the client finds the route (`connect()`, `route`; ``route="auth"`` / ``"proxy"`` or a
    `Route` skip the search) and, through a Proxy, runs a private local tunnel for gRPC.
    `connect_options` (`ConnectOptions`) tunes those connections. See docs/connecting.md.

    Every method raises `ConnectionProblem` when the Auth Service cannot be reached (worth
    retrying) and an `APIError` subclass when it refuses the call (`NotFound`, `AccessDenied`,
    `CompareFailed`, `BadParameter`, ...), with the server's message.
    """

    def __init__(
        self,
        address: str,
        identity: Identity | IdentitySource,
        *,
        server_name: str = DEFAULT_SERVER_NAME,
        call_timeout: float = 10.0,
        list_timeout: float = 60.0,
        keepalive_interval: float | None = 300.0,
        channel_options: Sequence[tuple[str, Any]] = (),
        route: Route | RouteMode = "auto",
        connect_options: ConnectOptions | None = None,
    ) -> None:
        self.address = _normalize_address(address)
        if isinstance(identity, Identity):
            self._source: IdentitySource = StaticIdentity(identity)
        elif isinstance(identity, IdentitySource):
            self._source = identity
        else:
            raise TypeError(
                f"identity must be an Identity or an IdentitySource, not {type(identity).__name__}"
                " (for a file, pass load_identity_file(path) or RefreshingIdentityFile(path))"
            )
        self._call_timeout = call_timeout
        self._list_timeout = list_timeout
        self._pool_settings: dict[str, Any] = {
            "server_name": server_name,
            "keepalive_interval": keepalive_interval,
            "extra_options": tuple(channel_options),
        }
        # The route (direct, or through a Proxy: docs/connecting.md) is found on first use.
        self._route_mode: RouteMode = "auto" if isinstance(route, Route) else route
        self._route: Route | None = route if isinstance(route, Route) else None
        self._connect_options = connect_options or ConnectOptions()
        self._pool: ChannelPool | None = None
        self._tunnel: AuthTunnel | None = None
        self._connecting: asyncio.Lock | None = None
        self._closed = False
        #: Set once the server answered ListAccessRequests with UNIMPLEMENTED (Teleport < 14).
        self._list_unimplemented = False
        self._users_service_unimplemented = False

    def __repr__(self) -> str:
        return f"AuthClient({self.address!r}, {self._source!r})"

    @property
    def identity(self) -> Identity:
        """The identity new calls use."""
        return self._source.current()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections; running calls and streams are cancelled."""
        self._closed = True
        if self._pool is not None:
            await self._pool.close()
        if self._tunnel is not None:
            await self._tunnel.aclose()

    # --- the route to the Auth Service (docs/connecting.md) ---------------------------------------

    @property
    def route(self) -> Route | None:
        """How the Auth Service is reached (direct, or through the Proxy); None until connected."""
        return self._route

    async def connect(self) -> Route:
        """Find the route to the Auth Service now (calls do this on first use) and return it.

        Raises ConnectionProblem listing why each route failed.
        """
        await self._ready()
        assert self._route is not None
        return self._route

    async def _ready(self) -> ChannelPool:
        if self._pool is not None:
            return self._pool
        if self._closed:
            raise RuntimeError("the client is closed")
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._pool is None:
                self._pool = await self._open_pool()
        return self._pool

    async def _open_pool(self) -> ChannelPool:
        route = self._route
        if route is None and self._route_mode == "auth":
            # Told it is the Auth Service: no probe; gRPC reports connection errors itself.
            route = Route(
                kind=RouteKind.AUTH,
                address=self.address,
                cluster_name=self._source.current().cluster_name,
            )
        if route is None:
            route = await resolve_route(
                self.address, self._source, mode=self._route_mode, options=self._connect_options
            )
        self._route = route
        if not route.via_proxy:
            return ChannelPool(self.address, self._source, **self._pool_settings)
        tunnel = AuthTunnel(route, self._source, self._connect_options)
        await tunnel.start()
        self._tunnel = tunnel
        settings = dict(self._pool_settings)
        settings["extra_options"] = (*settings["extra_options"], *tunnel.grpc_options)
        return ChannelPool(
            self.address, self._source, insecure_target=tunnel.grpc_target, **settings
        )

    def _translate(self, exc: grpc.RpcError, method: str) -> TeleportError:
        error = translate_rpc_error(exc, method=method, address=self.address)
        tunnel_error = self._tunnel.last_error if self._tunnel is not None else None
        if isinstance(error, ConnectionProblem) and tunnel_error is not None:
            # The tunnel knows why Auth could not be reached (the Proxy's address, the reason).
            return ConnectionProblem(f"{tunnel_error} ({method})", address=tunnel_error.address)
        return error

    # --- the one place grpc errors are caught -----------------------------------------------------

    async def _call(
        self,
        method: str,
        invoke: Callable[[AuthServiceAsyncStub], Awaitable[_Resp]],
    ) -> _Resp:
        """One unary call of `proto.AuthService`."""
        return await self._invoke(method, lambda stubs: invoke(stubs.auth))

    async def _invoke(self, method: str, invoke: Callable[[Stubs], Awaitable[_Resp]]) -> _Resp:
        """One unary call of any of the channel's services."""
        pool = await self._ready()
        async with pool.lease() as lease:
            try:
                response = await invoke(lease.stubs)
            except grpc.RpcError as exc:
                raise self._translate(exc, method) from exc
            except grpc.aio.UsageError as exc:
                raise translate_usage_error(exc, method=method, address=self.address) from exc
        if _undecodable(response):
            raise _undecodable_error(method)
        return response

    async def _stream(
        self,
        method: str,
        open_stream: Callable[[AuthServiceAsyncStub], grpc.aio.UnaryStreamCall[Any, _Item]],
    ) -> AsyncGenerator[_Item, None]:
        pool = await self._ready()
        lease = pool.acquire()
        try:
            call = open_stream(lease.stub)
            try:
                async for item in call:
                    if _undecodable(item):
                        raise _undecodable_error(method)
                    yield item
            except grpc.RpcError as exc:
                raise self._translate(exc, method) from exc
            except grpc.aio.UsageError as exc:
                raise translate_usage_error(exc, method=method, address=self.address) from exc
            finally:
                call.cancel()
        finally:
            await pool.release(lease)

    # --- cluster ----------------------------------------------------------------------------------

    async def ping(self) -> ServerInfo:
        """Cluster name, server version and features (`Ping`)."""
        response = await self._call(
            "Ping",
            lambda stub: stub.Ping(authservice_pb2.PingRequest(), timeout=self._call_timeout),
        )
        return convert.server_info_from_proto(response)

    async def get_role(self, name: str) -> Role:
        """A role by name (`GetRole`); `NotFound` if absent."""
        response = await self._call(
            "GetRole",
            lambda stub: stub.GetRole(
                authservice_pb2.GetRoleRequest(Name=name), timeout=self._call_timeout
            ),
        )
        return convert.role_from_proto(response)

    async def get_user(self, name: str) -> User:
        """A user's roles and traits, without secrets; `NotFound` if absent.

        Asks `teleport.users.v1.UsersService/GetUser` (Teleport 15 and newer), and the legacy
        `proto.AuthService/GetUser` on servers without it (UNIMPLEMENTED, remembered).
        """
        if not self._users_service_unimplemented:
            request = users_service_pb2.GetUserRequest(name=name)
            try:
                response = await self._invoke(
                    "UsersService/GetUser",
                    lambda stubs: stubs.users.GetUser(request, timeout=self._call_timeout),
                )
            except NotImplementedByServer:
                logger.info("The Auth Service has no UsersService; using AuthService/GetUser.")
                self._users_service_unimplemented = True
            else:
                return convert.user_from_proto(response.user)
        legacy = await self._call(
            "GetUser",
            lambda stub: stub.GetUser(
                authservice_pb2.GetUserRequest(Name=name), timeout=self._call_timeout
            ),
        )
        return convert.user_from_proto(legacy)

    # --- access monitoring rules ------------------------------------------------------------------

    async def iter_access_monitoring_rules(
        self, filter: AccessMonitoringRuleFilter | None = None, *, page_size: int = 1000
    ) -> AsyncGenerator[AccessMonitoringRule, None]:
        """Every access monitoring rule matching `filter` (all of them for None), page by page
        (`ListAccessMonitoringRulesWithFilter`, or `ListAccessMonitoringRules` without a filter),
        following `next_page_token`."""
        if page_size <= 0:
            raise ValueError(f"page_size must be positive, got {page_size}")
        method = "ListAccessMonitoringRules" + ("" if filter is None else "WithFilter")
        token = ""
        seen: set[str] = set()
        while True:
            page = await self._rules_page(filter, page_size, token)
            for message in page.rules:
                yield convert.rule_from_proto(message)
            if not page.next_page_token:
                return
            if page.next_page_token in seen:
                raise APIError(
                    f"{method} returned the page token {page.next_page_token!r} twice",
                    code="INTERNAL",
                    method=method,
                )
            seen.add(page.next_page_token)
            token = page.next_page_token

    async def _rules_page(
        self, filter: AccessMonitoringRuleFilter | None, page_size: int, token: str
    ) -> (
        access_monitoring_rules_pb2.ListAccessMonitoringRulesResponse
        | access_monitoring_rules_pb2.ListAccessMonitoringRulesWithFilterResponse
    ):
        if filter is None:
            plain = access_monitoring_rules_pb2.ListAccessMonitoringRulesRequest(
                page_size=page_size, page_token=token
            )
            return await self._invoke(
                "ListAccessMonitoringRules",
                lambda stubs: stubs.rules.ListAccessMonitoringRules(
                    plain, timeout=self._call_timeout
                ),
            )
        filtered = convert.rule_filter_to_proto(filter, page_size=page_size, page_token=token)
        return await self._invoke(
            "ListAccessMonitoringRulesWithFilter",
            lambda stubs: stubs.rules.ListAccessMonitoringRulesWithFilter(
                filtered, timeout=self._call_timeout
            ),
        )

    async def list_access_monitoring_rules(
        self, filter: AccessMonitoringRuleFilter | None = None, *, page_size: int = 1000
    ) -> list[AccessMonitoringRule]:
        """Every matching rule (all pages); see `iter_access_monitoring_rules`."""
        return [r async for r in self.iter_access_monitoring_rules(filter, page_size=page_size)]

    async def get_access_monitoring_rule(self, name: str) -> AccessMonitoringRule:
        """One rule by name; `NotFound` if there is none."""
        request = access_monitoring_rules_pb2.GetAccessMonitoringRuleRequest(name=name)
        response = await self._invoke(
            "GetAccessMonitoringRule",
            lambda stubs: stubs.rules.GetAccessMonitoringRule(request, timeout=self._call_timeout),
        )
        return convert.rule_from_proto(response)

    async def create_access_monitoring_rule(
        self, rule: AccessMonitoringRule
    ) -> AccessMonitoringRule:
        """Create a rule (`AlreadyExists` if the name is taken; `BadParameter` for an invalid
        one); returns it as stored."""
        request = access_monitoring_rules_pb2.CreateAccessMonitoringRuleRequest(
            rule=convert.rule_to_proto(rule)
        )
        response = await self._invoke(
            "CreateAccessMonitoringRule",
            lambda stubs: stubs.rules.CreateAccessMonitoringRule(
                request, timeout=self._call_timeout
            ),
        )
        return convert.rule_from_proto(response)

    async def update_access_monitoring_rule(
        self, rule: AccessMonitoringRule
    ) -> AccessMonitoringRule:
        """Replace an existing rule (`NotFound` if there is none); returns it as stored."""
        request = access_monitoring_rules_pb2.UpdateAccessMonitoringRuleRequest(
            rule=convert.rule_to_proto(rule)
        )
        response = await self._invoke(
            "UpdateAccessMonitoringRule",
            lambda stubs: stubs.rules.UpdateAccessMonitoringRule(
                request, timeout=self._call_timeout
            ),
        )
        return convert.rule_from_proto(response)

    async def upsert_access_monitoring_rule(
        self, rule: AccessMonitoringRule
    ) -> AccessMonitoringRule:
        """Create or replace a rule; returns it as stored."""
        request = access_monitoring_rules_pb2.UpsertAccessMonitoringRuleRequest(
            rule=convert.rule_to_proto(rule)
        )
        response = await self._invoke(
            "UpsertAccessMonitoringRule",
            lambda stubs: stubs.rules.UpsertAccessMonitoringRule(
                request, timeout=self._call_timeout
            ),
        )
        return convert.rule_from_proto(response)

    async def delete_access_monitoring_rule(self, name: str) -> None:
        """Delete a rule (`NotFound` if there is none); watchers see a DELETE event."""
        request = access_monitoring_rules_pb2.DeleteAccessMonitoringRuleRequest(name=name)
        await self._invoke(
            "DeleteAccessMonitoringRule",
            lambda stubs: stubs.rules.DeleteAccessMonitoringRule(
                request, timeout=self._call_timeout
            ),
        )

    # --- access requests --------------------------------------------------------------------------

    async def iter_access_requests(
        self, filter: AccessRequestFilter | None = None, *, page_size: int = 500
    ) -> AsyncGenerator[AccessRequest, None]:
        """Every matching access request, page by page (`ListAccessRequests`, following
        `NextKey`); on servers without it (UNIMPLEMENTED) the `GetAccessRequestsV2` stream."""
        if page_size <= 0:
            raise ValueError(f"page_size must be positive, got {page_size}")
        wire_filter = convert.filter_to_proto(filter)
        if not self._list_unimplemented:
            start_key = ""
            seen_keys: set[str] = set()
            while True:
                request = authservice_pb2.ListAccessRequestsRequest(
                    Filter=wire_filter, Limit=page_size, StartKey=start_key
                )
                try:
                    page = await self._call(
                        "ListAccessRequests",
                        lambda stub, r=request: stub.ListAccessRequests(  # type: ignore[misc]
                            r, timeout=self._call_timeout
                        ),
                    )
                except NotImplementedByServer:
                    if start_key:
                        raise
                    logger.info(
                        "The Auth Service does not implement ListAccessRequests; "
                        "using GetAccessRequestsV2."
                    )
                    self._list_unimplemented = True
                    break
                for message in page.AccessRequests:
                    yield convert.access_request_from_proto(message)
                if not page.NextKey:
                    return
                if page.NextKey in seen_keys:
                    raise APIError(
                        f"ListAccessRequests returned the page key {page.NextKey!r} twice",
                        code="INTERNAL",
                        method="ListAccessRequests",
                    )
                seen_keys.add(page.NextKey)
                start_key = page.NextKey
        stream = self._stream(
            "GetAccessRequestsV2",
            lambda stub: stub.GetAccessRequestsV2(wire_filter, timeout=self._list_timeout),
        )
        async with contextlib.aclosing(stream):
            async for message in stream:
                yield convert.access_request_from_proto(message)

    async def list_access_requests(
        self, filter: AccessRequestFilter | None = None, *, page_size: int = 500
    ) -> list[AccessRequest]:
        """Every matching access request (all pages); see `iter_access_requests`."""
        return [r async for r in self.iter_access_requests(filter, page_size=page_size)]

    async def get_access_request(self, request_id: str) -> AccessRequest:
        """One access request by id; `NotFound` if it does not exist (any more)."""
        flt = AccessRequestFilter(id=request_id)
        async for request in self.iter_access_requests(flt, page_size=1):
            if request.id == request_id:
                return request
        raise NotFound(
            f'no access request matching "{request_id}"',
            code="NOT_FOUND",
            method="ListAccessRequests",
        )

    async def create_access_request(
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
        """Create a PENDING request for `user` (`CreateAccessRequestV2`); the server fills in
        thresholds, system annotations and expiry. Mostly for tests and tooling."""
        if isinstance(roles, str):
            raise TypeError("roles must be a sequence of role names, not a string")
        model = AccessRequest(
            id=request_id or str(uuid.uuid4()),
            user=user,
            roles=tuple(roles),
            state=RequestState.PENDING,
            request_reason=reason,
            suggested_reviewers=tuple(suggested_reviewers),
            expires=expires,
            resource_expires=resource_expires,
            max_duration=max_duration,
        )
        message = convert.access_request_to_proto(model)
        message.Spec.DryRun = dry_run
        response = await self._call(
            "CreateAccessRequestV2",
            lambda stub: stub.CreateAccessRequestV2(message, timeout=self._call_timeout),
        )
        return convert.access_request_from_proto(response)

    async def delete_access_request(self, request_id: str) -> None:
        """Delete a request (`DeleteAccessRequest`); watchers see a DELETE event."""
        await self._call(
            "DeleteAccessRequest",
            lambda stub: stub.DeleteAccessRequest(
                authservice_pb2.RequestID(ID=request_id), timeout=self._call_timeout
            ),
        )

    async def submit_review(
        self,
        request_id: str,
        *,
        proposed_state: RequestState,
        reason: str = "",
        author: str = "",
        annotations: LabelsArg | None = None,
        created: datetime | None = None,
    ) -> AccessRequest:
        """Submit a review (`SubmitAccessReview`) and return the request after it.

        `author` defaults (server side) to the caller. `created` defaults to now, as the Go
        plugins send it. A second review by the same author raises `AlreadyReviewed` (Teleport's
        `user "<name>" has already reviewed this request`); reviewing a resolved request raises
        `AlreadyResolved` ("the access request has been already approved", or denied). Both are
        `AccessDenied`. Current Teleport versions refuse review annotations
        (`NotImplementedByServer`).
        """
        review = AccessReview(
            author=author,
            proposed_state=proposed_state,
            reason=reason,
            created=created or datetime.now(UTC),
            annotations=annotations or {},
        )
        submission = types_pb2.AccessReviewSubmission(
            RequestID=request_id, Review=convert.review_to_proto(review)
        )
        response = await self._call(
            "SubmitAccessReview",
            lambda stub: stub.SubmitAccessReview(submission, timeout=self._call_timeout),
        )
        return convert.access_request_from_proto(response)

    async def set_state(
        self,
        request_id: str,
        state: RequestState,
        *,
        reason: str = "",
        delegator: str = "",
        annotations: LabelsArg | None = None,
        roles: Sequence[str] | None = None,
    ) -> None:
        """Approve or deny directly (`SetAccessRequestState`; needs `access_request:update`).

        `delegator` names the person on whose behalf the change is made (audit log);
        `roles`, when given, narrows the roles granted.
        """
        setter = authservice_pb2.RequestStateSetter(
            ID=request_id,
            State=types_pb2.RequestState.ValueType(int(state)),
            Delegator=delegator,
            Reason=reason,
            Roles=list(roles or ()),
        )
        convert.labels_to_proto(annotations, setter.Annotations)
        await self._call(
            "SetAccessRequestState",
            lambda stub: stub.SetAccessRequestState(setter, timeout=self._call_timeout),
        )

    # --- plugin data ------------------------------------------------------------------------------

    async def _plugin_data_items(
        self, request_id: str, plugin: str
    ) -> list[types_pb2.PluginDataV3]:
        flt = types_pb2.PluginDataFilter(
            Kind=convert.KIND_ACCESS_REQUEST, Resource=request_id, Plugin=plugin
        )
        response = await self._call(
            "GetPluginData",
            lambda stub: stub.GetPluginData(flt, timeout=self._call_timeout),
        )
        return list(response.PluginData)

    async def get_plugin_data(self, request_id: str, plugin: str) -> PluginData | None:
        """The plugin's data stored beside a request, or None when there is none."""
        for item in await self._plugin_data_items(request_id, plugin):
            for data in convert.plugin_data_from_proto(item):
                if data.request_id == request_id and data.plugin == plugin:
                    return data
        return None

    async def list_plugin_data(self, plugin: str) -> list[PluginData]:
        """The plugin's data for every request, including requests already deleted (Teleport
        keeps plugin data about an hour past the request's expiry)."""
        out: list[PluginData] = []
        for item in await self._plugin_data_items("", plugin):
            out.extend(d for d in convert.plugin_data_from_proto(item) if d.plugin == plugin)
        return out

    async def update_plugin_data(
        self,
        request_id: str,
        plugin: str,
        *,
        set: Mapping[str, str],
        expect: Mapping[str, str] | None,
    ) -> None:
        """Write plugin data (`UpdatePluginData`): a value "" in `set` deletes the key.

        With `expect`, the write happens only if every expected key currently has that value
        ("" meaning absent), else `CompareFailed`. Data can only be created while the request
        exists (`NotFound`). See `modify_plugin_data` for a retrying read-modify-write.
        """
        params = types_pb2.PluginDataUpdateParams(
            Kind=convert.KIND_ACCESS_REQUEST,
            Resource=request_id,
            Plugin=plugin,
            Set=dict(set),
            Expect=dict(expect or {}),
        )
        await self._call(
            "UpdatePluginData",
            lambda stub: stub.UpdatePluginData(params, timeout=self._call_timeout),
        )

    # --- watching ---------------------------------------------------------------------------------

    async def watch(
        self,
        kinds: Sequence[str] = (convert.KIND_ACCESS_REQUEST,),
        *,
        request_filter: AccessRequestFilter | None = None,
        allow_partial_success: bool = False,
    ) -> AsyncGenerator[WatchMessage, None]:
        """ONE `WatchEvents` stream: a `WatchInit` first, then `AccessRequestPut` /
        `AccessRequestDelete` and `AccessMonitoringRulePut` / `AccessMonitoringRuleDelete`
        events (events of other kinds are skipped).

        Ends when the server closes the stream and raises `ConnectionProblem` when it drops;
        it does not reconnect (the watcher in `_watcher.py` does). `request_filter` becomes the
        server-side filter of the access_request kind (applied by Teleport to PUT events only).
        With `allow_partial_success`, the server drops the kinds the caller may not watch (or it
        does not know) instead of refusing the stream; `WatchInit.confirms(kind)` says which
        remain.
        """
        if isinstance(kinds, str):
            raise TypeError("kinds must be a sequence of kind names, not a string")
        watch = authservice_pb2.Watch(AllowPartialSuccess=allow_partial_success)
        for kind in kinds:
            entry = watch.Kinds.add(Kind=kind)
            if kind == convert.KIND_ACCESS_REQUEST and request_filter is not None:
                if request_filter.id:
                    entry.Filter["id"] = request_filter.id
                if request_filter.user:
                    entry.Filter["user"] = request_filter.user
                if request_filter.state is not RequestState.NONE:
                    entry.Filter["state"] = request_filter.state.name
        events = self._stream("WatchEvents", lambda stub: stub.WatchEvents(watch))
        async with contextlib.aclosing(events):
            async for event in events:
                message = convert.watch_message_from_event(event)
                if message is not None:
                    yield message


def _undecodable(message: object) -> bool:
    """grpc.aio hands over None, after logging, for a message its deserializer could not parse."""
    return message is None


def _undecodable_error(method: str) -> APIError:
    return APIError(
        f"{method}: the Auth Service sent a message that does not decode "
        "(a corrupted message, or a Teleport version this client does not understand)",
        code="INTERNAL",
        method=method,
    )
