"""Short-lived caches for the daemon's lookups: PagerDuty services and users, Teleport roles.

A burst of access requests names the same few services and users again and again; looking each
one up per event would spend PagerDuty's rate limit (960 requests a minute) on answers that
barely change. `TTLCache` remembers an answer for `ttl` seconds, a "not found" for a shorter
`negative_ttl` (so a service created to fix a typo is found soon), and never remembers a failure.
Concurrent lookups of the same key share one call (single-flight): the call runs in its own task,
so a caller that is cancelled (a handler timing out) does not cancel it for the others.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Generic, TypeVar

import attrs

if TYPE_CHECKING:
    from pagerduty_client import AsyncPagerDutyClient, Service, User
    from teleport_access import AuthClient, Labels, Role
    from teleport_access import User as TeleportUser

__all__ = ["CacheStats", "Lookups", "TTLCache"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@attrs.define
class CacheStats:
    """Counters of one cache, for metrics and tests."""

    hits: int = 0
    misses: int = 0
    #: Callers that joined a lookup already in flight instead of starting their own.
    shared: int = 0
    #: Lookups that raised (not cached).
    failures: int = 0


@attrs.frozen
class _Entry(Generic[V]):
    value: V | None
    expires_at: float


class TTLCache(Generic[K, V]):
    """Remember `load()` answers per key; None is a (shorter-lived) negative answer.

    `clock` is monotonic seconds (injectable for tests). At most `max_entries` keys are kept; the
    least recently stored goes first.
    """

    def __init__(
        self,
        *,
        ttl: float,
        negative_ttl: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_entries: int = 10_000,
    ) -> None:
        if ttl <= 0:
            raise ValueError(f"ttl must be positive, got {ttl!r}")
        self.ttl = ttl
        self.negative_ttl = min(ttl, 30.0) if negative_ttl is None else negative_ttl
        self._clock = clock
        self._max = max_entries
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._flights: dict[K, asyncio.Task[V | None]] = {}
        self.stats = CacheStats()

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: K) -> tuple[bool, V | None]:
        """(found, value) from the cache alone, without loading."""
        entry = self._entries.get(key)
        if entry is None or entry.expires_at <= self._clock():
            return False, None
        return True, entry.value

    def invalidate(self, key: K | None = None) -> None:
        """Forget one key, or everything."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)

    async def get(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        """The cached answer for `key`, or the answer of `load()` (shared by concurrent callers).

        Exceptions of `load()` reach every caller waiting on it and are not cached.
        """
        found, value = self.peek(key)
        if found:
            self.stats.hits += 1
            return value
        flight = self._flights.get(key)
        if flight is None:
            self.stats.misses += 1
            flight = asyncio.ensure_future(self._load(key, load))
            # If every waiter was cancelled, nobody reads a failure: mark it retrieved.
            flight.add_done_callback(_retrieve)
            self._flights[key] = flight
        else:
            self.stats.shared += 1
        # shield: a cancelled caller must not cancel the lookup the others are waiting for.
        return await asyncio.shield(flight)

    async def _load(self, key: K, load: Callable[[], Awaitable[V | None]]) -> V | None:
        try:
            value = await load()
        except BaseException:
            self.stats.failures += 1
            raise
        finally:
            self._flights.pop(key, None)
        lifetime = self.ttl if value is not None else self.negative_ttl
        self._entries[key] = _Entry(value, self._clock() + lifetime)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return value


def _retrieve(task: asyncio.Task[object]) -> None:
    if not task.cancelled():
        task.exception()


class Lookups:
    """The daemon's cached lookups: PagerDuty services by name and users by email (exact,
    case-insensitive matches done by `pagerduty_client`), and Teleport roles by name."""

    def __init__(
        self,
        pagerduty: AsyncPagerDutyClient,
        auth: AuthClient,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pagerduty = pagerduty
        self._auth = auth
        self.services: TTLCache[str, Service] = TTLCache(ttl=ttl, clock=clock)
        self.users: TTLCache[str, User] = TTLCache(ttl=ttl, clock=clock)
        self.roles: TTLCache[str, Role] = TTLCache(ttl=ttl, clock=clock)
        self.teleport_users: TTLCache[str, TeleportUser] = TTLCache(ttl=ttl, clock=clock)
        self.traits_of: TTLCache[str, Labels] = TTLCache(ttl=ttl, clock=clock)

    async def service(self, name: str) -> Service | None:
        """The PagerDuty service named `name` (any case), or None."""
        # PagerDuty service names are unique regardless of case, so one entry serves all.
        return await self.services.get(
            name.lower(), lambda: self._pagerduty.find_service_by_name(name)
        )

    async def user(self, email: str) -> User | None:
        """The PagerDuty user with this email, or None. Keyed by the exact text: the approval
        policy compares the found email with the requester's again."""
        return await self.users.get(email, lambda: self._pagerduty.find_user_by_email(email))

    async def role(self, name: str) -> Role | None:
        """A Teleport role, or None when it does not exist. Other errors propagate."""
        from teleport_access import NotFound

        async def load() -> Role | None:
            try:
                return await self._auth.get_role(name)
            except NotFound:
                return None

        return await self.roles.get(name, load)

    async def teleport_user(self, name: str) -> TeleportUser | None:
        """A Teleport user (roles and traits), or None when it does not exist or may not be
        read. Other errors propagate."""
        from teleport_access import AccessDenied, NotFound

        async def load() -> TeleportUser | None:
            try:
                return await self._auth.get_user(name)
            except (NotFound, AccessDenied):
                return None

        return await self.teleport_users.get(name, load)

    async def traits(self, name: str) -> Labels:
        """A Teleport user's traits (for rule conditions); none for a user that does not exist.
        `AccessDenied` (the plugin may not read users) propagates and is not cached."""
        from teleport_access import NotFound

        async def load() -> Labels:
            try:
                return (await self._auth.get_user(name)).traits
            except NotFound:
                return {}

        return await self.traits_of.get(name, load) or {}
