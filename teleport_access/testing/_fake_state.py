"""The fake Auth Service's state machine: users, roles, access requests, plugin data, events.

No gRPC here. `FakeAuthState` applies Teleport's rules for access requests (thresholds and
system annotations computed from the requester's roles, review counting, resolved-state checks,
review permissions through `teleport_access.where`) and plugin data (compare-and-swap), raises
the same errors a real Auth Service reports (as `teleport_access` exceptions, which the gRPC
layer turns into status codes), and hands every change to its subscribers as the protobuf
`Event` a watch stream would carry.

Thread-safe: every public method takes one lock, so the in-process helpers of `FakeAuthServer`
may be called from any thread while the server runs. Subscribers are called with the lock held,
in the order the changes happened; they must only enqueue.

Where the fake is deliberately simpler than Teleport, it says so:

* A requester with no seeded roles may request any role, and each role gets Teleport's default
  threshold (one approval or one denial). Once a requester has a seeded role, `allow.request`
  and `deny.request` are enforced as Teleport does.
* Review permissions (`review_requests`) are enforced when the reviewer has at least one seeded
  role (the stored user's roles, else the certificate's); otherwise a reviewer may review
  anything except their own requests.
* Every caller may list and read every request; state changes need an admin or a caller who is
  not the requester.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from threading import RLock

import attrs

from teleport_access import _convert as convert
from teleport_access._exceptions import (
    AccessDenied,
    AlreadyExists,
    AlreadyResolved,
    AlreadyReviewed,
    BadParameter,
    CompareFailed,
    NotFound,
    NotImplementedByServer,
)
from teleport_access._models import (
    AccessRequest,
    AccessRequestFilter,
    AccessReview,
    AccessReviewThreshold,
    ClaimMapping,
    RequestConditions,
    RequestState,
    Role,
    User,
)
from teleport_access._proto import event_pb2, types_pb2
from teleport_access.testing._fake_rules import FakeRuleStore, Permissions

__all__ = ["Caller", "FakeAuthState", "ListPage", "Subscriber", "WatchFilter"]

Clock = Callable[[], datetime]
Subscriber = Callable[[event_pb2.Event], None]

#: Teleport's default threshold, used for roles that define none.
DEFAULT_THRESHOLD = AccessReviewThreshold(name="default", approve=1, deny=1)
#: Filter states Teleport's `RequestState.Parse` accepts in watch filters.
_FILTER_STATES = {"NONE", "PENDING", "APPROVED", "DENIED"}
_TRAIT_VARIABLE = re.compile(r"\{\{\s*(internal|external)\.([\w\-.]+)\s*\}\}")
_ANY_TEMPLATE = re.compile(r"\{\{.*?\}\}")


def _utcnow() -> datetime:
    return datetime.now(UTC)


@attrs.frozen(kw_only=True)
class Caller:
    """Who makes a call: the user name from the client certificate and whether they are admin."""

    name: str
    cert_roles: tuple[str, ...] = ()
    admin: bool = False


@attrs.frozen(kw_only=True)
class WatchFilter:
    """A parsed `WatchKind` filter for access requests (applied to PUT events only)."""

    id: str = ""
    user: str = ""
    state: RequestState | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, str]) -> WatchFilter:
        values: dict[str, str] = {}
        for key, value in raw.items():
            if key not in ("id", "user", "state"):
                raise BadParameter(f"unknown filter key {key}")
            values[key] = value
        state = None
        if "state" in values:
            if values["state"] not in _FILTER_STATES:
                raise BadParameter(f"unknown request state: {values['state']!r}")
            state = RequestState[values["state"]]
        return cls(id=values.get("id", ""), user=values.get("user", ""), state=state)

    def matches(self, request: AccessRequest) -> bool:
        if self.id and request.id != self.id:
            return False
        if self.user and request.user != self.user:
            return False
        return self.state is None or self.state is RequestState.NONE or request.state == self.state


@attrs.frozen(kw_only=True)
class ListPage:
    requests: tuple[types_pb2.AccessRequestV3, ...]
    next_key: str


@attrs.define(kw_only=True)
class _RequestRecord:
    request: AccessRequest
    #: role -> list of threshold-index sets (Teleport's RoleThresholdMapping).
    rtm: dict[str, list[list[int]]]
    #: The roles originally requested (SetAccessRequestState may override `request.roles`).
    original_roles: tuple[str, ...]


@attrs.define(kw_only=True)
class _PluginDataRecord:
    entries: dict[str, dict[str, str]] = attrs.field(factory=dict)
    expires: datetime | None = None


# --- role matching (Teleport's parse.NewMatcher, reduced to literals, globs and ^regex$) ---------


def _matcher(pattern: str) -> Callable[[str], bool]:
    if pattern.startswith("^") and pattern.endswith("$"):
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise BadParameter(f"invalid role matcher {pattern!r}: {exc}") from exc
        return lambda value: compiled.fullmatch(value) is not None
    if "*" in pattern:
        glob = re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")
        return lambda value: glob.fullmatch(value) is not None
    return lambda value: value == pattern


def _claim_matchers(
    claims: Sequence[ClaimMapping], traits: Mapping[str, Sequence[str]]
) -> list[Callable[[str], bool]]:
    matchers: list[Callable[[str], bool]] = []
    for claim in claims:
        matches_value = _matcher(claim.value)
        if any(matches_value(v) for v in traits.get(claim.claim, ())):
            matchers.extend(_matcher(role) for role in claim.roles)
    return matchers


def _expand_traits(value: str, traits: Mapping[str, Sequence[str]]) -> list[str]:
    """Teleport's `ApplyValueTraits` for `{{internal.x}}` / `{{external.x}}`; values whose
    expansion fails (a missing trait, an unsupported function) are skipped, as Teleport does."""
    found = _TRAIT_VARIABLE.search(value)
    if found is None:
        return [] if _ANY_TEMPLATE.search(value) else [value]
    prefix, suffix = value[: found.start()], value[found.end() :]
    if _ANY_TEMPLATE.search(prefix + suffix):
        return []
    return [f"{prefix}{v}{suffix}" for v in traits.get(found.group(2), ())]


class FakeAuthState:
    """In-memory Teleport state with the real access-request and plugin-data rules."""

    def __init__(
        self,
        *,
        clock: Clock = _utcnow,
        pending_ttl: timedelta = timedelta(weeks=1),
        access_ttl: timedelta = timedelta(hours=12),
        plugin_data_grace: timedelta = timedelta(hours=1),
    ) -> None:
        self.clock = clock
        self.pending_ttl = pending_ttl
        self.access_ttl = access_ttl
        self.plugin_data_grace = plugin_data_grace
        self._lock = RLock()
        self._roles: dict[str, Role] = {}
        self._users: dict[str, User] = {}
        self._admins: set[str] = set()
        self._requests: dict[str, _RequestRecord] = {}
        self._plugin_data: dict[str, _PluginDataRecord] = {}
        self._subscribers: list[Subscriber] = []
        #: Bumped on every change; lets observers wait for "something happened".
        self.version = 0
        #: Access monitoring rules (their own store, under the same lock and event stream).
        self.rules = FakeRuleStore(self._lock, self._publish)
        #: What tests denied callers (resource kinds and verbs); everything else is allowed.
        self.permissions = Permissions()

    # --- subscribers ----------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def _publish(self, event: event_pb2.Event) -> None:
        self.version += 1
        for subscriber in list(self._subscribers):
            subscriber(event)

    def _touch(self) -> None:
        self.version += 1

    # --- users and roles ------------------------------------------------------------------------

    def add_role(self, role: Role) -> None:
        with self._lock:
            self._roles[role.name] = role
            event = event_pb2.Event(Type=event_pb2.PUT)
            event.Role.CopyFrom(convert.role_to_proto(role))
            self._publish(event)

    def add_user(self, user: User, *, admin: bool | None = None) -> None:
        with self._lock:
            self._users[user.name] = user
            if admin is not None:
                self.set_admin(user.name, admin)
            event = event_pb2.Event(Type=event_pb2.PUT)
            event.User.CopyFrom(convert.user_to_proto(user))
            self._publish(event)

    def ensure_user(self, name: str, roles: Sequence[str]) -> None:
        """Create a user for an issued identity unless one is already stored."""
        with self._lock:
            if name not in self._users:
                self.add_user(User(name=name, roles=tuple(roles)))

    def set_admin(self, name: str, admin: bool = True) -> None:
        with self._lock:
            if admin:
                self._admins.add(name)
            else:
                self._admins.discard(name)
            self._touch()

    def is_admin(self, name: str) -> bool:
        with self._lock:
            return name in self._admins

    def get_role(self, name: str) -> Role:
        with self._lock:
            role = self._roles.get(name)
            if role is None:
                raise NotFound(f"role {name} is not found")
            return role

    def get_user(self, name: str) -> User:
        with self._lock:
            user = self._users.get(name)
            if user is None:
                raise NotFound(f'user "{name}" is not found')
            return user

    def _known_roles(self, role_names: Iterable[str]) -> list[Role]:
        return [self._roles[name] for name in role_names if name in self._roles]

    # --- access requests: reading ---------------------------------------------------------------

    def _record(self, request_id: str) -> _RequestRecord:
        record = self._requests.get(request_id)
        if record is None:
            raise NotFound(f'access request "{request_id}" is not found')
        return record

    def get_request(self, request_id: str) -> AccessRequest | None:
        with self._lock:
            record = self._requests.get(request_id)
            return None if record is None else record.request

    def requests(self) -> list[AccessRequest]:
        with self._lock:
            return [r.request for r in self._requests.values()]

    def request_proto(self, request_id: str) -> types_pb2.AccessRequestV3:
        with self._lock:
            return self._to_proto(self._record(request_id))

    @staticmethod
    def _to_proto(record: _RequestRecord) -> types_pb2.AccessRequestV3:
        message = convert.access_request_to_proto(record.request)
        for role, sets in record.rtm.items():
            target = message.Spec.RoleThresholdMapping[role]
            for indexes in sets:
                target.Sets.add().Indexes.extend(indexes)
        return message

    def _matching(
        self, flt: AccessRequestFilter, scope: int = 0, requester: str = ""
    ) -> list[_RequestRecord]:
        out = []
        for record in self._requests.values():
            r = record.request
            if flt.id and r.id != flt.id:
                continue
            if flt.user and r.user != flt.user:
                continue
            if flt.state is not RequestState.NONE and r.state != flt.state:
                continue
            authors = {review.author for review in r.reviews}
            if scope == types_pb2.MY_REQUESTS and r.user != requester:
                continue
            if scope == types_pb2.NEEDS_REVIEW and (
                r.user == requester or requester in authors or not r.state.is_pending
            ):
                continue
            if scope == types_pb2.REVIEWED and (r.user == requester or requester not in authors):
                continue
            out.append(record)
        return out

    def list_requests(
        self,
        flt: AccessRequestFilter,
        *,
        limit: int,
        start_key: str,
        sort: int = 0,
        descending: bool = False,
        scope: int = 0,
        requester: str = "",
    ) -> ListPage:
        """One page of matching requests and the key of the next page ("" on the last)."""
        with self._lock:
            records = self._matching(flt, scope, requester)

            def sort_value(record: _RequestRecord) -> str:
                r = record.request
                if sort == 1:  # CREATED
                    return r.created.isoformat() if r.created else ""
                if sort == 2:  # STATE
                    return f"{int(r.state):04d}"
                if sort == 3:  # USER
                    return r.user
                return ""

            keyed = sorted(
                ((sort_value(r), r.request.id, r) for r in records),
                key=lambda item: (item[0], item[1]),
                reverse=descending,
            )
            if start_key:
                try:
                    start = tuple(json.loads(start_key))
                    if len(start) != 2 or not all(isinstance(part, str) for part in start):
                        raise ValueError(start_key)
                except ValueError as exc:
                    raise BadParameter(f"invalid start key {start_key!r}") from exc
                if descending:
                    keyed = [k for k in keyed if (k[0], k[1]) <= start]
                else:
                    keyed = [k for k in keyed if (k[0], k[1]) >= start]
            limit = limit if limit > 0 else len(keyed)
            page, rest = keyed[:limit], keyed[limit:]
            next_key = json.dumps([rest[0][0], rest[0][1]]) if rest else ""
            return ListPage(
                requests=tuple(self._to_proto(item[2]) for item in page), next_key=next_key
            )

    def all_requests(self, flt: AccessRequestFilter) -> list[types_pb2.AccessRequestV3]:
        with self._lock:
            records = sorted(self._matching(flt), key=lambda r: r.request.id)
            return [self._to_proto(r) for r in records]

    # --- access requests: creating --------------------------------------------------------------

    def _requester_profile(self, user: str) -> tuple[list[Role], Mapping[str, tuple[str, ...]]]:
        stored = self._users.get(user)
        if stored is None:
            return [], {}
        return self._known_roles(stored.roles), stored.traits

    def create_request(
        self,
        caller: Caller,
        *,
        user: str,
        roles: Sequence[str],
        reason: str = "",
        request_id: str = "",
        suggested_reviewers: Sequence[str] = (),
        expires: datetime | None = None,
        resource_expires: datetime | None = None,
        max_duration: datetime | None = None,
        thresholds: Sequence[AccessReviewThreshold] | None = None,
        system_annotations: Mapping[str, Sequence[str]] | None = None,
        dry_run: bool = False,
    ) -> types_pb2.AccessRequestV3:
        """Validate and store a new PENDING request, as `CreateAccessRequestV2` does.

        `thresholds` / `system_annotations`, when given, replace what the requester's roles
        would produce (a convenience for tests; the gRPC method never passes them).
        """
        with self._lock:
            user = user or caller.name
            if user != caller.name and not caller.admin:
                raise AccessDenied(
                    f'user "{caller.name}" cannot create access requests for "{user}"'
                )
            if not roles:
                raise BadParameter("access request must specify at least one role")
            if request_id and request_id in self._requests:
                raise AlreadyExists(f'access request "{request_id}" already exists')
            requester_roles, traits = self._requester_profile(user)
            plan = _RequestPlan.build(user, tuple(roles), requester_roles, traits)
            now = self.clock()
            if resource_expires is not None and resource_expires <= now:
                raise BadParameter(
                    "invalid request TTL: Access Request can not be created in the past"
                )
            request = AccessRequest(
                id=request_id or str(uuid.uuid4()),
                user=user,
                roles=tuple(roles),
                state=RequestState.PENDING,
                request_reason=reason,
                created=now,
                expires=expires or now + self.access_ttl,
                resource_expires=resource_expires or now + self.pending_ttl,
                max_duration=max_duration,
                system_annotations=(
                    plan.annotations if system_annotations is None else system_annotations
                ),
                thresholds=plan.thresholds if thresholds is None else tuple(thresholds),
                suggested_reviewers=tuple(suggested_reviewers) or plan.suggested_reviewers,
            )
            if thresholds is None:
                rtm = plan.rtm
            else:  # any one of the given thresholds approves every role
                every = list(range(len(thresholds)))
                rtm = {role: [every] for role in request.roles}
            record = _RequestRecord(request=request, rtm=rtm, original_roles=request.roles)
            if dry_run:
                return self._to_proto(record)
            self._requests[request.id] = record
            message = self._to_proto(record)
            self._publish(convert.put_event(message))
            return message

    # --- access requests: reviews and state -----------------------------------------------------

    def _reviewer(
        self, name: str, cert_roles: Sequence[str]
    ) -> tuple[list[str], Mapping[str, tuple[str, ...]]]:
        """A reviewer's role names and traits: the stored user's, else the certificate's."""
        stored = self._users.get(name)
        if stored is not None:
            return list(stored.roles), stored.traits
        return list(cert_roles), {}

    def submit_review(
        self, caller: Caller, request_id: str, review: AccessReview
    ) -> types_pb2.AccessRequestV3:
        """Apply a review as Teleport's `SubmitAccessReview` does; return the request after it."""
        with self._lock:
            author = review.author or caller.name
            if author != caller.name and not caller.admin:
                raise AccessDenied(
                    f'user "{caller.name}" cannot submit reviews on behalf of "{author}"'
                )
            record = self._record(request_id)
            request = record.request
            if author == request.user:
                raise AccessDenied(f'user "{author}" cannot review their own access request')
            self._check_review_permission(author, caller, request)
            # checkReviewCompat, in Teleport's order.
            if review.proposed_state not in (RequestState.APPROVED, RequestState.DENIED):
                raise BadParameter(
                    f"invalid state proposal: {review.proposed_state.name} "
                    "(expected approval/denial)"
                )
            if not request.thresholds:
                raise BadParameter("request is uninitialized or does not support reviews")
            if any(existing.author == author for existing in request.reviews):
                raise AlreadyReviewed(f'user "{author}" has already reviewed this request')
            roles = tuple(sorted(set(review.roles)))
            if roles and len(roles) != len(record.rtm):
                raise NotImplementedByServer(
                    "role subselection is not yet supported in reviews, try omitting role list"
                )
            if review.annotations:
                raise NotImplementedByServer(
                    "annotations are not yet supported in reviews, try omitting annotations field"
                )
            for role in roles:
                if role not in record.rtm:
                    raise BadParameter(f'role "{role}" is not a member of this request')
            indexes = self._threshold_indexes(request, review, author, caller)
            if request.state is RequestState.APPROVED:
                raise AlreadyResolved("the access request has been already approved")
            if request.state is RequestState.DENIED:
                raise AlreadyResolved("the access request has been already denied")
            if request.state is RequestState.PROMOTED:
                raise AlreadyResolved("the access request has been already promoted")
            stored = attrs.evolve(
                review,
                author=author,
                roles=roles,
                created=review.created or self.clock(),
                threshold_indexes=indexes,
            )
            request = attrs.evolve(request, reviews=(*request.reviews, stored))
            resolution = _resolution(request, record.rtm)
            if resolution is not None:
                state, resolve_reason = resolution
                request = attrs.evolve(
                    request,
                    state=state,
                    resolve_reason=resolve_reason,
                    resource_expires=request.expires or request.resource_expires,
                )
            record.request = request
            message = self._to_proto(record)
            self._publish(convert.put_event(message))
            return message

    def _check_review_permission(self, author: str, caller: Caller, request: AccessRequest) -> None:
        role_names, traits = self._reviewer(
            author, caller.cert_roles if author == caller.name else ()
        )
        roles = self._known_roles(role_names)
        if not roles:
            return  # the test did not give the fake this reviewer's roles: allow
        # Imported here: the `where` language is only needed when a test seeds reviewer roles.
        from teleport_access.where import WhereError, can_review

        try:
            decision = can_review(roles, traits, author, request)
        except WhereError as exc:
            raise BadParameter(f"cannot evaluate review permissions: {exc}") from exc
        if not decision:
            reason = getattr(decision, "reason", "")
            detail = f": {reason}" if reason else ""
            raise AccessDenied(
                f'user "{author}" cannot submit reviews for access request "{request.id}"{detail}'
            )

    def _threshold_indexes(
        self, request: AccessRequest, review: AccessReview, author: str, caller: Caller
    ) -> tuple[int, ...]:
        indexes = []
        for index, threshold in enumerate(request.thresholds):
            if not threshold.filter:
                indexes.append(index)
                continue
            if self._threshold_filter_matches(threshold, request, review, author, caller):
                indexes.append(index)
        return tuple(indexes)

    def _threshold_filter_matches(
        self,
        threshold: AccessReviewThreshold,
        request: AccessRequest,
        review: AccessReview,
        author: str,
        caller: Caller,
    ) -> bool:
        # Imported here: only thresholds with filters need the `where` language.
        from teleport_access import where

        roles, traits = self._reviewer(author, caller.cert_roles if author == caller.name else ())
        context = where.Context(
            reviewer=where.Reviewer(roles=roles, traits=traits),
            request=where.Request.from_access_request(request),
            review=where.Review(reason=review.reason, annotations=review.annotations),
        )
        try:
            return where.parse(threshold.filter, "filter").evaluate(context)
        except where.WhereError as exc:
            raise BadParameter(f"invalid threshold filter {threshold.filter!r}: {exc}") from exc

    def set_state(
        self,
        caller: Caller,
        request_id: str,
        state: RequestState,
        *,
        reason: str = "",
        delegator: str = "",
        annotations: Mapping[str, Sequence[str]] | None = None,
        roles: Sequence[str] = (),
    ) -> types_pb2.AccessRequestV3:
        """`SetAccessRequestState`."""
        del delegator  # Teleport only records it in the audit log.
        with self._lock:
            if state is RequestState.PROMOTED:
                raise BadParameter("state promoted can be only set when promoting to access list")
            if state is RequestState.NONE:
                raise BadParameter("missing request state")
            record = self._record(request_id)
            request = record.request
            if request.user == caller.name and not caller.admin:
                raise AccessDenied(
                    f'user "{caller.name}" cannot change the state of their own access request'
                )
            if request.state is RequestState.DENIED and state is not RequestState.DENIED:
                raise BadParameter(f'cannot set request-state "{state.name}" (already denied)')
            if roles:
                for role in roles:
                    if role not in record.original_roles:
                        raise BadParameter(f'role "{role}" is not a member of this request')
            changes: dict[str, object] = {
                "state": state,
                "resolve_reason": reason,
                "resolve_annotations": dict(annotations or {}),
            }
            if roles:
                changes["roles"] = tuple(roles)
            if state is RequestState.APPROVED:
                changes["resource_expires"] = request.expires or request.resource_expires
            record.request = attrs.evolve(request, **changes)  # type: ignore[arg-type]
            message = self._to_proto(record)
            self._publish(convert.put_event(message))
            return message

    def delete_request(self, caller: Caller, request_id: str) -> None:
        with self._lock:
            record = self._record(request_id)
            if not caller.admin and record.request.user != caller.name:
                raise AccessDenied(
                    f'user "{caller.name}" cannot delete access request "{request_id}"'
                )
            self._remove(request_id)

    def _remove(self, request_id: str) -> None:
        record = self._requests.pop(request_id)
        data = self._plugin_data.get(request_id)
        if data is not None:
            data.expires = self._plugin_data_expiry(record.request)
        self._publish(convert.delete_event(request_id))

    def expire(self, request_id: str) -> None:
        """Delete a request as its resource expiry would (DELETE event, plugin data kept)."""
        with self._lock:
            self._record(request_id)
            self._remove(request_id)

    def expire_due(self) -> list[str]:
        """Delete every request whose resource expiry has passed; purge expired plugin data."""
        with self._lock:
            now = self.clock()
            due = [
                rid
                for rid, record in self._requests.items()
                if record.request.resource_expires is not None
                and record.request.resource_expires <= now
            ]
            for rid in due:
                self._remove(rid)
            stale = [
                rid
                for rid, data in self._plugin_data.items()
                if rid not in self._requests and data.expires is not None and data.expires <= now
            ]
            for rid in stale:
                del self._plugin_data[rid]
            if stale:
                self._touch()
            return due

    # --- plugin data ----------------------------------------------------------------------------

    def _plugin_data_expiry(self, request: AccessRequest) -> datetime:
        base = request.expires or request.resource_expires or self.clock()
        return max(base, self.clock()) + self.plugin_data_grace

    def get_plugin_data(
        self, *, kind: str, resource: str = "", plugin: str = ""
    ) -> list[types_pb2.PluginDataV3]:
        with self._lock:
            if kind != convert.KIND_ACCESS_REQUEST:
                raise BadParameter(f"unsupported resource kind {kind!r}")
            ids = [resource] if resource else sorted(self._plugin_data)
            out = []
            for rid in ids:
                data = self._plugin_data.get(rid)
                if data is None or (plugin and plugin not in data.entries):
                    continue
                out.append(convert.plugin_data_to_proto(rid, data.entries, expires=data.expires))
            return out

    def plugin_data(self, request_id: str, plugin: str) -> dict[str, str] | None:
        with self._lock:
            data = self._plugin_data.get(request_id)
            if data is None or plugin not in data.entries:
                return None
            return dict(data.entries[plugin])

    def update_plugin_data(
        self,
        *,
        kind: str,
        resource: str,
        plugin: str,
        set_: Mapping[str, str],
        expect: Mapping[str, str],
    ) -> None:
        """`UpdatePluginData` with Teleport's compare-and-swap rules."""
        with self._lock:
            if kind != convert.KIND_ACCESS_REQUEST:
                raise BadParameter(f"unsupported resource kind {kind!r}")
            if not resource:
                raise BadParameter("missing resource name")
            if not plugin:
                raise BadParameter("missing plugin name")
            data = self._plugin_data.get(resource)
            if data is None:
                # New plugin data can only be attached to an existing request.
                record = self._requests.get(resource)
                if record is None:
                    raise NotFound(f'access request "{resource}" is not found')
                data = _PluginDataRecord(expires=self._plugin_data_expiry(record.request))
            entry = data.entries.get(plugin)
            for key in sorted(expect):
                current = "" if entry is None else entry.get(key, "")
                if current != expect[key]:
                    raise CompareFailed(f'expectations not met for field "{key}"')
            updated = dict(entry or {})
            for key, value in set_.items():
                if value == "":
                    updated.pop(key, None)
                else:
                    updated[key] = value
            if updated:
                data.entries[plugin] = updated
            else:
                data.entries.pop(plugin, None)
            if data.entries:
                self._plugin_data[resource] = data
            else:
                self._plugin_data.pop(resource, None)
            record = self._requests.get(resource)
            if record is not None:
                data.expires = self._plugin_data_expiry(record.request)
            self._touch()


@attrs.frozen(kw_only=True)
class _RequestPlan:
    """What Teleport's RequestValidator derives from the requester's roles."""

    thresholds: tuple[AccessReviewThreshold, ...]
    rtm: dict[str, list[list[int]]]
    annotations: dict[str, tuple[str, ...]]
    suggested_reviewers: tuple[str, ...]

    @classmethod
    def build(
        cls,
        user: str,
        requested: tuple[str, ...],
        requester_roles: Sequence[Role],
        traits: Mapping[str, Sequence[str]],
    ) -> _RequestPlan:
        thresholds: list[AccessReviewThreshold] = []

        def push(group: Sequence[AccessReviewThreshold]) -> list[int]:
            indexes = []
            for threshold in group or (DEFAULT_THRESHOLD,):
                if threshold not in thresholds:
                    thresholds.append(threshold)
                indexes.append(thresholds.index(threshold))
            return indexes

        if not requester_roles:
            # Unknown requester: any role may be requested, each with the default threshold.
            index = push(())
            return cls(
                thresholds=tuple(thresholds),
                rtm={role: [index] for role in requested},
                annotations={},
                suggested_reviewers=(),
            )

        allow_groups: list[tuple[list[Callable[[str], bool]], RequestConditions]] = []
        deny_matchers: list[Callable[[str], bool]] = []
        allow_annotations: dict[str, list[str]] = {}
        deny_annotations: dict[str, list[str]] = {}
        suggested: list[str] = []
        for role in requester_roles:
            allow = role.allow.request or RequestConditions()
            deny = role.deny.request or RequestConditions()
            deny_matchers += [_matcher(r) for r in deny.roles]
            deny_matchers += _claim_matchers(deny.claims_to_roles, traits)
            matchers = [_matcher(r) for r in allow.roles]
            matchers += _claim_matchers(allow.claims_to_roles, traits)
            matchers += [_matcher(r) for r in allow.search_as_roles]
            if matchers:
                allow_groups.append((matchers, allow))
            for target, conditions in ((allow_annotations, allow), (deny_annotations, deny)):
                for key, values in conditions.annotations.items():
                    bucket = target.setdefault(key, [])
                    for value in values:
                        bucket.extend(_expand_traits(value, traits))
            suggested.extend(allow.suggested_reviewers)

        rtm: dict[str, list[list[int]]] = {}
        for wanted in requested:
            allowed = any(m(wanted) for group, _ in allow_groups for m in group)
            if any(m(wanted) for m in deny_matchers) or not allowed:
                raise BadParameter(f'user "{user}" can not request role "{wanted}"')
            rtm[wanted] = [
                push(conditions.thresholds)
                for matchers, conditions in allow_groups
                if any(m(wanted) for m in matchers)
            ]
        annotations: dict[str, tuple[str, ...]] = {}
        for key, collected in allow_annotations.items():
            kept = tuple(v for v in collected if v not in deny_annotations.get(key, ()))
            if kept:
                annotations[key] = kept
        return cls(
            thresholds=tuple(thresholds),
            rtm=rtm,
            annotations=annotations,
            suggested_reviewers=tuple(dict.fromkeys(suggested)),
        )


def _resolution(
    request: AccessRequest, rtm: Mapping[str, Sequence[Sequence[int]]]
) -> tuple[RequestState, str] | None:
    """Teleport's `calculateReviewBasedResolution`: the (state, reason) the reviews resolve the
    request to, or None while it stays pending."""
    thresholds, reviews = request.thresholds, request.reviews
    if not thresholds or not reviews:
        return None
    approvals = [0] * len(thresholds)
    denials = [0] * len(thresholds)
    approved: set[str] = set()
    denied = False
    last = reviews[0]
    for review in reviews:
        last = review
        for index in review.threshold_indexes:
            if review.proposed_state is RequestState.APPROVED:
                approvals[index] += 1
            else:
                denials[index] += 1
        if any(t.deny and denials[i] >= t.deny for i, t in enumerate(thresholds)):
            denied = True
            break
        all_roles_approved = True
        for role, sets in rtm.items():
            if role in approved:
                continue
            if all(
                any(thresholds[i].approve and approvals[i] >= thresholds[i].approve for i in group)
                for group in sets
            ):
                approved.add(role)
            else:
                all_roles_approved = False
                break
        if all_roles_approved:
            break
    if last.proposed_state is RequestState.APPROVED and len(approved) == len(rtm):
        return RequestState.APPROVED, last.reason
    if last.proposed_state is RequestState.DENIED and denied:
        return RequestState.DENIED, last.reason
    return None
