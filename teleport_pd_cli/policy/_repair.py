"""Decisions about repairing what an interrupted run left behind. Pure; the daemon keeps the
trackers and supplies the time.

* **Which incident is the request's** (`choose_incident`): PagerDuty may hold several incidents
  with the request's `incident_key` (one resolved by hand, one reopened...): the open one if any,
  else the newest.
* **Interrupted resolutions** (`DelayedRepairs` keyed by request): a record whose resolution is
  claimed while its incident is still open means a run died between the claim and the resolve,
  or another replica is in the middle of it. The first sighting only starts a clock; if the same
  claim is still unfinished `repair_after` seconds later (longer than any handler may run), the
  daemon finishes it. A different claim restarts the clock.
* **Claimed but missing review notes** (`DelayedRepairs` keyed by request): notes are claimed
  before they are posted, so a run that dies in between leaves a claimed note nobody posts. Once
  seen missing, such notes are posted after `repair_after` if still missing and still claimed.
  More notes than known (new reviews, maybe claimed just now) restart the clock.
* **The sweep after a catch-up** (`needs_sweep`): which plugin-data records of requests the
  catch-up did not see still need a look.
* **Bounded memory** (`Remembered`): sets of ids that forget their oldest entries.
"""

from __future__ import annotations

import operator
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from datetime import UTC, datetime
from typing import Generic, Protocol, TypeVar

import attrs

from teleport_pd_cli.policy.plugindata import PagerDutyData

__all__ = [
    "DelayedRepairs",
    "IncidentLike",
    "MissingNotes",
    "Remembered",
    "RepairWait",
    "choose_incident",
    "needs_sweep",
    "note_repairs",
    "resolution_repairs",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class IncidentLike(Protocol):
    """What `choose_incident` reads of an incident (`pagerduty_client.Incident` has it)."""

    @property
    def is_resolved(self) -> bool: ...

    @property
    def created_at(self) -> datetime | None: ...


IncidentT = TypeVar("IncidentT", bound=IncidentLike)


def choose_incident(found: Sequence[IncidentT]) -> IncidentT | None:
    """The request's incident among those PagerDuty found by its key: an open one if any (the
    newest of them), else the newest; None when there are none."""
    if not found:
        return None
    open_ones = [incident for incident in found if not incident.is_resolved]
    return max(open_ones or found, key=lambda incident: incident.created_at or _EPOCH)


def needs_sweep(data: PagerDutyData | None, *, seen: bool) -> bool:
    """After a catch-up: whether the plugin data of a request the catch-up did not deliver
    (`seen` False) asks for a look. A record with an incident may need its resolution (the
    request was deleted while tpd was down) or a claimed resolution finished (a crash between
    the claim and the resolve); one resolved without an incident needs nothing."""
    if data is None or seen:
        return False
    return not (data.is_resolved and not data.has_incident)


@attrs.frozen
class RepairWait:
    """Where a delayed repair stands: `remaining` seconds to wait (0: due now); `new` when this
    sighting started (or restarted) the clock."""

    remaining: float
    new: bool

    @property
    def due(self) -> bool:
        return self.remaining <= 0


@attrs.define
class _Sighting(Generic[V]):
    value: V
    since: float


class DelayedRepairs(Generic[K, V]):
    """Repairs that become due `repair_after` seconds after they were first seen (see the
    module docstring). `value` is what the repair needs; `restarts(old, new)` says whether a
    new sighting replaces the old one and restarts its clock (default: when they differ)."""

    def __init__(
        self,
        repair_after: float,
        *,
        restarts: Callable[[V, V], bool] = operator.ne,
    ) -> None:
        self.repair_after = repair_after
        self._restarts = restarts
        self._seen: dict[K, _Sighting[V]] = {}

    def sight(self, key: K, value: V, now: float) -> RepairWait:
        """Record a sighting of the repair `key` needs, with what it needs (`value`)."""
        known = self._seen.get(key)
        if known is None or self._restarts(known.value, value):
            self._seen[key] = _Sighting(value, now)
            return RepairWait(self.repair_after, new=True)
        return RepairWait(max(0.0, self.repair_after - (now - known.since)), new=False)

    def wait(self, key: K, now: float) -> RepairWait | None:
        """Where the known repair of `key` stands; None when there is none."""
        known = self._seen.get(key)
        if known is None:
            return None
        return RepairWait(max(0.0, self.repair_after - (now - known.since)), new=False)

    def get(self, key: K) -> V | None:
        known = self._seen.get(key)
        return None if known is None else known.value

    def done(self, key: K) -> None:
        self._seen.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._seen


class Remembered(Generic[K]):
    """A set that keeps its `limit` most recently added members."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._members: OrderedDict[K, None] = OrderedDict()

    def add(self, member: K) -> None:
        self._members[member] = None
        self._members.move_to_end(member)
        while len(self._members) > self._limit:
            self._members.popitem(last=False)

    def __contains__(self, member: object) -> bool:
        return member in self._members

    def __len__(self) -> int:
        return len(self._members)


@attrs.frozen
class MissingNotes:
    """Claimed review notes seen missing from an incident: the note of every review known
    then, in review order (claimed or not; the claimed ones are the first `reviews_count`)."""

    incident_id: str
    notes: tuple[str, ...]


def note_repairs(repair_after: float) -> DelayedRepairs[str, MissingNotes]:
    """Missing-note repairs by request id; more notes than known restart the clock (their
    claims may be recent)."""
    return DelayedRepairs(repair_after, restarts=lambda old, new: len(new.notes) > len(old.notes))


def resolution_repairs(repair_after: float) -> DelayedRepairs[str, tuple[str, str, str]]:
    """Interrupted-resolution repairs by request id, valued (resolution, reason, incident id);
    another claim restarts the clock."""
    return DelayedRepairs(repair_after)
