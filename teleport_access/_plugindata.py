"""Read-modify-write of a plugin's data with compare-and-swap: `modify_plugin_data`.

Teleport stores a small string map per (access request, plugin) and updates it with
`UpdatePluginData{Set, Expect}`: the write happens only if every key in `Expect` currently has
the expected value ("" meaning absent), else the server answers CompareFailed. Two plugin
instances (or two handlers of one plugin) therefore never overwrite each other blindly: the
loser re-reads and re-applies its change on top of the winner's.

The loop, as in the Go plugins' `plugindata` helper:

1. read the current data (None when there is none);
2. call the pure function `fn(current)`; it returns the complete new data, or None to write
   nothing;
3. write with `Set` = the new values for every key of old and new ("" for keys the new data
   drops, which deletes them) and `Expect` = the old values for those same keys ("" for keys the
   old data lacks, so absent data is expected to be all-empty);
4. on CompareFailed wait a decorrelated-jitter delay (1 ms to 1 s, x3) and start again, until
   `timeout` seconds have passed. Any other error propagates at once.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import Protocol

import attrs

from teleport_access._backoff import Backoff, DecorrelatedJitter
from teleport_access._exceptions import CompareFailed
from teleport_access._models import PluginData

__all__ = ["CasResult", "PluginDataClient", "cas_update", "modify_plugin_data"]

logger = logging.getLogger(__name__)

#: The pure function applied to the current data: None in, None out are both allowed.
Modifier = Callable[[Mapping[str, str] | None], Mapping[str, str] | None]


class PluginDataClient(Protocol):
    """The two calls `modify_plugin_data` needs; `AuthClient` provides them."""

    async def get_plugin_data(self, request_id: str, plugin: str) -> PluginData | None: ...

    async def update_plugin_data(
        self,
        request_id: str,
        plugin: str,
        *,
        set: Mapping[str, str],
        expect: Mapping[str, str] | None,
    ) -> None: ...


@attrs.frozen(kw_only=True)
class CasResult:
    """What `modify_plugin_data` did."""

    #: The data the successful attempt read (None: there was none).
    previous: Mapping[str, str] | None
    #: What this operation left: the data it wrote, or `previous` if it wrote nothing. (Keys
    #: another writer added between our read and write are not in either; they are kept.)
    current: Mapping[str, str] | None
    #: False when `fn` returned None or the data it returned equals what was there.
    written: bool
    #: How many read-modify-write rounds it took (1 without conflicts).
    attempts: int


def cas_update(
    old: Mapping[str, str] | None, new: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(set, expect) that turn `old` into `new` only if the stored data is still `old`.

    Both cover every key of old and new; "" in `set` deletes a key, "" in `expect` means
    "must be absent".
    """
    previous = old or {}
    keys = sorted(set(previous) | set(new))
    return (
        {key: new.get(key, "") for key in keys},
        {key: previous.get(key, "") for key in keys},
    )


def _normalize(new: Mapping[str, str], request_id: str, plugin: str) -> dict[str, str]:
    out = {}
    for key, value in new.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"plugin data for {plugin!r} on request {request_id}: keys and values must be "
                f"strings, got {key!r}: {value!r}"
            )
        if value:  # "" cannot be stored: it means "no such key"
            out[key] = value
    return out


async def modify_plugin_data(
    client: PluginDataClient,
    request_id: str,
    plugin: str,
    fn: Modifier,
    *,
    timeout: float = 30.0,  # noqa: ASYNC109 - an overall budget across retries, not one wait
    backoff: Backoff | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    rng: random.Random | None = None,
) -> CasResult:
    """Apply `fn` to a plugin's data for a request, atomically, retrying on conflicts.

    `fn(current)` receives a read-only view of the current data (None when there is none) and
    returns the complete new data, or None to leave it alone. **`fn` may run several times** (once
    per attempt, each time on fresher data), so it must be pure: no side effects, the same answer
    for the same input. Keys whose new value is "" (or that the new data omits) are deleted.

    Raises `CompareFailed` when conflicts continue past `timeout` seconds; `NotFound` when there
    is no data yet and the request no longer exists (Teleport only creates plugin data beside an
    existing request); any other error of the client at once. `backoff` (default
    decorrelated jitter 1 ms to 1 s, x3, seeded by `rng`), `clock` and `sleep` are injectable.
    """
    schedule = backoff if backoff is not None else DecorrelatedJitter(0.001, 1.0, rng=rng)
    deadline = clock() + timeout
    attempts = 0
    while True:
        attempts += 1
        stored = await client.get_plugin_data(request_id, plugin)
        old = dict(stored.data) if stored is not None and stored.data else None
        proposed = fn(MappingProxyType(old) if old is not None else None)
        if proposed is None:
            return CasResult(previous=old, current=old, written=False, attempts=attempts)
        new = _normalize(proposed, request_id, plugin)
        if new == (old or {}):
            return CasResult(previous=old, current=old, written=False, attempts=attempts)
        set_, expect = cas_update(old, new)
        try:
            await client.update_plugin_data(request_id, plugin, set=set_, expect=expect)
        except CompareFailed as exc:
            remaining = deadline - clock()
            if remaining <= 0:
                raise CompareFailed(
                    f"plugin data of {plugin!r} for access request {request_id} kept changing: "
                    f"gave up after {attempts} attempts in {timeout:g} s ({exc.message})",
                    code=exc.code,
                    method=exc.method,
                ) from exc
            delay = min(schedule.next_delay(), remaining)
            logger.debug(
                "Plugin data changed underneath us; retrying in %.3f s.",
                delay,
                extra={"request_id": request_id, "plugin": plugin, "attempt": attempts},
            )
            await sleep(delay)
            continue
        return CasResult(previous=old, current=new or None, written=True, attempts=attempts)
