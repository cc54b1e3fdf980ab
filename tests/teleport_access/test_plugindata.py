"""modify_plugin_data: read, apply a pure function, compare-and-swap, retry on conflicts."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Mapping

import pytest

from teleport_access._client import AuthClient
from teleport_access._exceptions import CompareFailed, NotFound
from teleport_access._models import PluginData
from teleport_access._plugindata import CasResult, cas_update, modify_plugin_data
from teleport_access.testing import FakeAuthServer

# --- the Set/Expect computation -----------------------------------------------------------------


def test_absent_data_is_expected_as_all_empty() -> None:
    assert cas_update(None, {"a": "1", "b": "2"}) == ({"a": "1", "b": "2"}, {"a": "", "b": ""})


def test_keys_dropped_by_the_new_data_are_deleted_and_expected_with_their_old_values() -> None:
    assert cas_update({"a": "1", "b": "2"}, {"b": "3", "c": "4"}) == (
        {"a": "", "b": "3", "c": "4"},
        {"a": "1", "b": "2", "c": ""},
    )


# --- the retry loop, against an in-memory store with scripted conflicts -------------------------


class ScriptedStore:
    """A plugin-data store whose next `conflicts` writes lose to a concurrent writer."""

    def __init__(self, data: dict[str, str] | None = None, conflicts: int = 0) -> None:
        self.data = data
        self.conflicts = conflicts
        self.writes: list[tuple[dict[str, str], dict[str, str]]] = []

    async def get_plugin_data(self, request_id: str, plugin: str) -> PluginData | None:
        if self.data is None:
            return None
        return PluginData(request_id=request_id, plugin=plugin, data=self.data)

    async def update_plugin_data(
        self,
        request_id: str,
        plugin: str,
        *,
        set: Mapping[str, str],
        expect: Mapping[str, str] | None,
    ) -> None:
        self.writes.append((dict(set), dict(expect or {})))
        if self.conflicts:
            self.conflicts -= 1
            count = int((self.data or {}).get("n", "0")) + 1
            self.data = {**(self.data or {}), "n": str(count)}  # someone else wrote first
            raise CompareFailed('expectations not met for field "n"', code="FAILED_PRECONDITION")
        current = dict(self.data or {})
        for key, value in (expect or {}).items():
            assert current.get(key, "") == value
        for key, value in set.items():
            if value:
                current[key] = value
            else:
                current.pop(key, None)
        self.data = current or None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        self.now += delay


def increment(data: Mapping[str, str] | None) -> dict[str, str]:
    return {**(data or {}), "n": str(int((data or {}).get("n", "0")) + 1)}


async def test_first_write_to_absent_data_expects_every_key_empty() -> None:
    store = ScriptedStore()
    result = await modify_plugin_data(store, "r1", "pd", increment)
    assert result == CasResult(previous=None, current={"n": "1"}, written=True, attempts=1)
    assert store.writes == [({"n": "1"}, {"n": ""})]


async def test_conflicts_are_retried_with_jittered_delays_until_the_write_lands() -> None:
    store = ScriptedStore({"n": "5"}, conflicts=3)
    clock = Clock()
    seen: list[Mapping[str, str] | None] = []

    def fn(data: Mapping[str, str] | None) -> dict[str, str]:
        seen.append(dict(data or {}))
        return increment(data)

    result = await modify_plugin_data(
        store, "r1", "pd", fn, clock=clock, sleep=clock.sleep, rng=random.Random(7)
    )
    assert result.attempts == 4
    assert store.data == {"n": "9"}  # 3 concurrent increments + ours: nothing lost
    assert [d["n"] for d in seen if d] == ["5", "6", "7", "8"]  # fn re-ran on fresh data
    assert len(clock.sleeps) == 3
    assert all(0.001 <= s <= 1.0 for s in clock.sleeps)


async def test_conflicts_past_the_deadline_raise_compare_failed() -> None:
    store = ScriptedStore({"n": "0"}, conflicts=10_000)
    clock = Clock()
    with pytest.raises(CompareFailed, match=r"gave up after \d+ attempts in 2 s"):
        await modify_plugin_data(
            store, "r1", "pd", increment, timeout=2.0, clock=clock, sleep=clock.sleep
        )
    assert clock.now == pytest.approx(2.0)  # the last sleep is cut to the deadline


async def test_a_function_returning_none_writes_nothing() -> None:
    store = ScriptedStore({"n": "1"})
    result = await modify_plugin_data(store, "r1", "pd", lambda data: None)
    assert result == CasResult(previous={"n": "1"}, current={"n": "1"}, written=False, attempts=1)
    assert store.writes == []


async def test_an_unchanged_result_writes_nothing() -> None:
    store = ScriptedStore({"n": "1"})
    result = await modify_plugin_data(store, "r1", "pd", lambda data: dict(data or {}))
    assert result.written is False
    assert store.writes == []


async def test_the_function_gets_a_read_only_view() -> None:
    store = ScriptedStore({"n": "1"})

    def mutate(data: Mapping[str, str] | None) -> dict[str, str]:
        data["n"] = "2"  # type: ignore[index]
        return {}

    with pytest.raises(TypeError):
        await modify_plugin_data(store, "r1", "pd", mutate)


async def test_non_string_values_are_refused_with_the_key() -> None:
    store = ScriptedStore()
    with pytest.raises(TypeError, match="'n': 1"):
        await modify_plugin_data(store, "r1", "pd", lambda data: {"n": 1})  # type: ignore[dict-item]


# --- against the fake Auth Service --------------------------------------------------------------


async def test_two_concurrent_writers_both_succeed_without_a_lost_update(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    second = fake_auth.issue_identity("access-plugin-2")
    gate = asyncio.Event()
    calls = 0

    def slow_increment(data: Mapping[str, str] | None) -> dict[str, str]:
        nonlocal calls
        calls += 1
        return increment(data)

    async def writer(client: AuthClient, rounds: int) -> list[CasResult]:
        await gate.wait()
        return [
            await modify_plugin_data(client, request.id, "pd", slow_increment)
            for _ in range(rounds)
        ]

    async with AuthClient(fake_auth.address, second) as other:
        tasks = [
            asyncio.create_task(writer(auth_client, 10)),
            asyncio.create_task(writer(other, 10)),
        ]
        gate.set()
        results = await asyncio.gather(*tasks)
    assert fake_auth.plugin_data(request.id, "pd") == {"n": "20"}
    assert all(r.written for rs in results for r in rs)
    # Interleaved writers conflict at least sometimes; every conflict re-ran the function.
    assert calls == sum(r.attempts for rs in results for r in rs)


async def test_creating_data_for_a_deleted_request_is_not_found(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.delete_request(request.id)
    with pytest.raises(NotFound):
        await modify_plugin_data(auth_client, request.id, "pd", increment)


async def test_existing_data_of_a_deleted_request_can_still_be_modified(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.set_plugin_data(request.id, "pd", {"n": "1"})
    fake_auth.delete_request(request.id)
    result = await modify_plugin_data(auth_client, request.id, "pd", increment)
    assert result.current == {"n": "2"}


async def test_a_writer_that_loses_the_race_rereads_and_applies_its_change_on_top(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    request = fake_auth.create_request("alice", ["admin"])

    class LosesFirstRace:
        """auth_client, except that another writer gets in between our first read and write."""

        def __init__(self) -> None:
            self.raced = False

        async def get_plugin_data(self, request_id: str, plugin: str) -> PluginData | None:
            return await auth_client.get_plugin_data(request_id, plugin)

        async def update_plugin_data(
            self,
            request_id: str,
            plugin: str,
            *,
            set: Mapping[str, str],
            expect: Mapping[str, str] | None,
        ) -> None:
            if not self.raced:
                self.raced = True
                winner = await modify_plugin_data(
                    auth_client, request_id, plugin, lambda d: {**increment(d), "winner": "yes"}
                )
                assert winner.attempts == 1
            await auth_client.update_plugin_data(request_id, plugin, set=set, expect=expect)

    result = await modify_plugin_data(LosesFirstRace(), request.id, "pd", increment)
    assert result.attempts == 2
    assert result.previous == {"winner": "yes", "n": "1"}
    assert fake_auth.plugin_data(request.id, "pd") == {"winner": "yes", "n": "2"}


async def test_writers_of_different_keys_do_not_conflict(
    fake_auth: FakeAuthServer, auth_client: AuthClient
) -> None:
    # Expectations cover only the keys a write reads or sets, as in Teleport.
    request = fake_auth.create_request("alice", ["admin"])
    fake_auth.set_plugin_data(request.id, "pd", {"other": "1"})
    result = await modify_plugin_data(
        auth_client, request.id, "pd", lambda d: {**(d or {}), "mine": "2"}
    )
    assert result.attempts == 1
    assert fake_auth.plugin_data(request.id, "pd") == {"other": "1", "mine": "2"}
