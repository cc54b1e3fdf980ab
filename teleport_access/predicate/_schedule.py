"""Rule schedules: is a request's creation time inside one of a rule's weekly time windows?

A rule's `schedules` maps names to `Schedule`s (the models of `teleport_access`); each has a
`TimeSchedule` of `Shift`s in an IANA time zone. Teleport's rules
(lib/accessmonitoring/schedule.go):

- a rule with no schedules is not restricted (`rule_in_schedule` is true);
- otherwise the time must be inside any one schedule; the first error ends the check;
- a schedule without `time`, or without shifts, never contains anything;
- the zone is an IANA name, case-sensitive; "" and "UTC" are UTC ("Local" is this machine's zone);
- the instant is converted to the zone; a shift applies when the local English weekday equals its
  `weekday` exactly; `start` and `end` are "HH:MM" on that local date, and the instant must be
  between them, both ends included (the end at second :00). A shift never crosses midnight;
- a bad `start`/`end` is an error only when its shift's weekday is the one being checked.

Times on local dates that a daylight-saving change skips or repeats resolve as Go's `time.Date`
resolves them.
"""

from __future__ import annotations

import functools
import os
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final

from teleport_access._models import Schedule
from teleport_access.predicate._errors import ScheduleError
from teleport_access.predicate._gotime import TimeParseError, go_time_quote, parse_clock
from teleport_access.predicate._values import WEEKDAYS, GoTime, weekday_of_days

_NS: Final = 1_000_000_000
_DAY: Final = 86_400
# The instants datetime can turn into local time (a day's margin either side for offsets).
_MIN_SECONDS: Final = int(
    (datetime(1, 1, 2, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
)
_MAX_SECONDS: Final = int(
    (datetime(9999, 12, 30, tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()
)


def schedule_contains(schedule: Schedule, when: datetime | GoTime) -> bool:
    """Whether `when` falls inside `schedule` (Teleport's Schedule check). Raises ScheduleError."""
    time = schedule.time
    if time is None or not time.shifts:
        return False
    zone = load_location(time.timezone)
    instant = when if isinstance(when, GoTime) else GoTime.from_datetime(when)
    seconds = instant.ns // _NS
    local_days = (seconds + _offset(zone, seconds)) // _DAY
    weekday = WEEKDAYS[weekday_of_days(local_days)]
    for shift in time.shifts:
        if shift.weekday != weekday:
            continue
        start = _clock_time(zone, local_days, shift.start, "start")
        end = _clock_time(zone, local_days, shift.end, "end")
        if start * _NS <= instant.ns <= end * _NS:
            return True
    return False


def rule_in_schedule(schedules: Mapping[str, Schedule], when: datetime | GoTime) -> bool:
    """Whether a rule applies at `when`: true without schedules, else true when any schedule
    contains it. Schedules are checked in the mapping's order (Go's is random) and the first
    error is raised as ScheduleError."""
    if not schedules:
        return True
    return in_schedules(schedules, when)


def in_schedules(schedules: Mapping[str, Schedule], when: datetime | GoTime) -> bool:
    """Teleport's InSchedules: false for no schedules, else whether any contains `when`."""
    for name, schedule in schedules.items():
        try:
            if schedule_contains(schedule, when):
                return True
        except ScheduleError as exc:
            raise ScheduleError(f"schedule {name!r}: {exc}") from None
    return False


@functools.lru_cache(maxsize=256)
def load_location(name: str) -> tzinfo:
    """Go's `time.LoadLocation`: "" and "UTC" are UTC, "Local" this machine's zone, else an IANA
    name spelled exactly (a name that only matches with other letter case is unknown)."""
    if name in ("", "UTC"):
        return UTC
    if name == "Local":
        return _local_zone()
    if ".." in name or name.startswith(("/", "\\")):
        raise ScheduleError(f"time: invalid location name {go_time_quote(name)}")
    if name not in _zone_names():
        raise ScheduleError(f"unknown time zone {name}")
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ScheduleError(f"unknown time zone {name}") from None


@functools.cache
def _zone_names() -> frozenset[str]:
    # ZoneInfo also opens "utc" on a case-insensitive file system; Go would not.
    return frozenset(zoneinfo.available_timezones())


def _local_zone() -> tzinfo:
    tz = os.environ.get("TZ")
    if tz is not None:
        return UTC if tz in ("", "UTC") else load_location(tz.removeprefix(":"))
    try:
        with open("/etc/localtime", "rb") as f:
            return zoneinfo.ZoneInfo.from_file(f, key="Local")
    except OSError:
        return UTC


def _offset(zone: tzinfo, seconds: int) -> int:
    """The zone's UTC offset, in seconds, at an instant (seconds since the epoch)."""
    clamped = min(max(seconds, _MIN_SECONDS), _MAX_SECONDS)
    instant = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=clamped)
    offset = instant.astimezone(zone).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _clock_time(zone: tzinfo, local_days: int, text: str, which: str) -> int:
    """Seconds since the epoch of `text` ("HH:MM") on a local date: Go's time.Date."""
    try:
        hour, minute = parse_clock(text)
    except TimeParseError as exc:
        raise ScheduleError(f"invalid {which} time: {go_time_quote(text)}: {exc}") from None
    wall = local_days * _DAY + hour * 3600 + minute * 60
    # Go's Date: look up the offset as if the wall time were UTC, then correct it once when the
    # result falls outside that offset's period (the correction is skipped for a zero offset).
    offset = _offset(zone, wall)
    if offset != 0:
        utc = wall - offset
        actual = _offset(zone, utc)
        if actual != offset:
            offset = actual
    return wall - offset
