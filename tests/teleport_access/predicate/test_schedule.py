"""Rule schedules (reference section 3.9): Teleport's TestInSchedule, TestClockTime and
TestEvaluateRules cases, and the rules around them (zones, weekdays, inclusive ends, errors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from teleport_access.predicate import (
    Environment,
    GoTime,
    Schedule,
    ScheduleError,
    Shift,
    TimeSchedule,
    in_schedules,
    load_location,
    parse,
    rule_in_schedule,
    schedule_contains,
)

T = datetime(2025, 8, 11, 14, 30, tzinfo=UTC)  # a Monday


def schedule(*shifts: tuple[str, str, str], timezone: str = "") -> Schedule:
    return Schedule(
        time=TimeSchedule(
            shifts=[Shift(weekday=d, start=s, end=e) for d, s, e in shifts], timezone=timezone
        )
    )


MONDAY_2_TO_3 = ("Monday", "14:00", "15:00")


# -- TestInSchedule ----------------------------------------------------------------------------


def test_in_schedule() -> None:
    assert schedule_contains(schedule(MONDAY_2_TO_3, timezone="UTC"), T)


def test_schedule_without_shifts_contains_nothing() -> None:
    assert not schedule_contains(schedule(timezone="UTC"), T)


def test_invalid_timezone_is_an_unknown_time_zone_error() -> None:
    with pytest.raises(ScheduleError, match="unknown time zone invalid"):
        schedule_contains(schedule(MONDAY_2_TO_3, timezone="invalid"), T)


def test_different_timezone_moves_the_window() -> None:
    # 14:30 UTC is 07:30 in Los Angeles.
    assert not schedule_contains(schedule(MONDAY_2_TO_3, timezone="America/Los_Angeles"), T)
    assert schedule_contains(
        schedule(("Monday", "07:00", "08:00"), timezone="America/Los_Angeles"), T
    )


def test_different_weekday_does_not_match() -> None:
    assert not schedule_contains(schedule(("Tuesday", "14:00", "15:00")), T)


def test_before_the_schedule_does_not_match() -> None:
    assert not schedule_contains(schedule(("Monday", "14:31", "15:00")), T)


def test_exact_start_time_matches() -> None:
    assert schedule_contains(schedule(("Monday", "14:30", "15:00")), T)


def test_exact_end_time_matches_at_second_zero_only() -> None:
    assert schedule_contains(schedule(("Monday", "14:00", "14:30")), T)
    assert not schedule_contains(
        schedule(("Monday", "14:00", "14:30")), T + timedelta(microseconds=1)
    )


# -- TestClockTime ---------------------------------------------------------------------------


@pytest.mark.parametrize("clock", ["00:00", "23:59", "7:05", "09:30"])
def test_valid_clock_times_are_accepted(clock: str) -> None:
    schedule_contains(schedule(("Monday", clock, clock)), T)


@pytest.mark.parametrize(
    ("clock", "message"),
    [
        ("24:00", 'invalid start time: "24:00": parsing time "24:00": hour out of range'),
        ("00:60", 'invalid start time: "00:60": parsing time "00:60": minute out of range'),
        ("12:34:56", 'invalid start time: "12:34:56": parsing time "12:34:56": extra text: ":56"'),
        ("9:5", 'parsing time "9:5" as "15:04": cannot parse "5" as "04"'),
        ("noon", 'parsing time "noon" as "15:04": cannot parse "noon" as "15"'),
        ("", 'parsing time "" as "15:04": cannot parse "" as "15"'),
    ],
)
def test_invalid_clock_times_are_errors(clock: str, message: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        schedule_contains(schedule(("Monday", clock, "15:00")), T)
    assert message in str(caught.value)


def test_an_invalid_end_time_names_the_end() -> None:
    with pytest.raises(ScheduleError, match='invalid end time: "25:00"'):
        schedule_contains(schedule(("Monday", "14:00", "25:00")), T)


def test_an_invalid_time_on_another_weekday_is_not_checked() -> None:
    assert schedule_contains(schedule(("Tuesday", "bad", "bad"), MONDAY_2_TO_3), T)


# -- zones -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "UTC"])
def test_empty_and_utc_zone_names_are_utc(name: str) -> None:
    assert load_location(name) is UTC


@pytest.mark.parametrize("name", ["utc", "america/los_angeles", "Mars/Olympus", "Etc/GMT+99"])
def test_zone_names_are_case_sensitive_iana_names(name: str) -> None:
    with pytest.raises(ScheduleError, match="unknown time zone"):
        load_location(name)


@pytest.mark.parametrize("name", ["../etc/passwd", "/etc/localtime"])
def test_path_like_zone_names_are_invalid(name: str) -> None:
    with pytest.raises(ScheduleError, match="invalid location name"):
        load_location(name)


def test_weekday_is_the_local_weekday() -> None:
    # Monday 14:30 UTC is already Tuesday 02:30 in Auckland (NZST, +12).
    assert schedule_contains(
        schedule(("Tuesday", "02:00", "03:00"), timezone="Pacific/Auckland"), T
    )
    assert not schedule_contains(schedule(MONDAY_2_TO_3, timezone="Pacific/Auckland"), T)


def test_a_shift_does_not_wrap_past_midnight() -> None:
    late = datetime(2025, 8, 11, 23, 30, tzinfo=UTC)
    assert not schedule_contains(schedule(("Monday", "22:00", "02:00")), late)


def test_daylight_saving_shifts_follow_the_local_clock() -> None:
    # In July New York is on EDT (-4): 13:30 UTC is 09:30 local.
    summer = datetime(2025, 7, 14, 13, 30, tzinfo=UTC)  # a Monday
    winter = datetime(2025, 1, 13, 14, 30, tzinfo=UTC)  # a Monday, EST (-5)
    nine_to_ten = schedule(("Monday", "09:00", "10:00"), timezone="America/New_York")
    assert schedule_contains(nine_to_ten, summer)
    assert schedule_contains(nine_to_ten, winter)


def test_a_start_in_the_spring_forward_gap_resolves_as_go_does() -> None:
    # 2025-03-09 02:30 does not exist in Los Angeles; Go's time.Date makes it 01:30 PST
    # (09:30 UTC), so 09:45 UTC (01:45 PST) is inside 02:30-03:30.
    inside = datetime(2025, 3, 9, 9, 45, tzinfo=UTC)  # a Sunday
    gap = schedule(("Sunday", "02:30", "03:30"), timezone="America/Los_Angeles")
    assert schedule_contains(gap, inside)
    assert not schedule_contains(gap, datetime(2025, 3, 9, 9, 15, tzinfo=UTC))


def test_go_zero_time_is_evaluated_in_any_zone() -> None:
    # An unset creation time is Go's zero time, a Monday in UTC (0001-01-01).
    assert schedule_contains(schedule(("Monday", "00:00", "00:00")), GoTime.from_datetime(None))
    assert not schedule_contains(
        schedule(MONDAY_2_TO_3, timezone="America/Los_Angeles"), GoTime.from_datetime(None)
    )


def test_aware_datetimes_in_any_zone_are_the_same_instant() -> None:
    local = T.astimezone(timezone(timedelta(hours=2)))
    assert schedule_contains(schedule(MONDAY_2_TO_3), local)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        schedule_contains(schedule(MONDAY_2_TO_3), datetime(2025, 8, 11, 14, 30))


# -- a rule's schedules (TestEvaluateRules) -----------------------------------------------------


def test_a_rule_without_schedules_is_not_restricted() -> None:
    assert rule_in_schedule({}, T)
    assert not in_schedules({}, T)


def test_a_rule_matches_inside_any_of_its_schedules() -> None:
    schedules = {"off": schedule(("Sunday", "00:00", "23:59")), "on": schedule(MONDAY_2_TO_3)}
    assert rule_in_schedule(schedules, T)


def test_a_rule_created_outside_its_schedules_does_not_match() -> None:
    later = datetime(2025, 8, 11, 15, 30, tzinfo=UTC)
    assert not rule_in_schedule({"on": schedule(MONDAY_2_TO_3)}, later)


def test_a_schedule_without_time_never_matches() -> None:
    assert not rule_in_schedule({"empty": Schedule()}, T)


def test_the_first_schedule_error_is_raised_and_names_the_schedule() -> None:
    schedules = {
        "broken": schedule(MONDAY_2_TO_3, timezone="Nowhere"),
        "on": schedule(MONDAY_2_TO_3),
    }
    with pytest.raises(ScheduleError, match="schedule 'broken': unknown time zone Nowhere"):
        rule_in_schedule(schedules, T)


@pytest.mark.parametrize(
    ("condition", "created", "applies"),
    [
        ("true", T, True),
        ("false", T, False),
        ("true", datetime(2025, 8, 11, 15, 30, tzinfo=UTC), False),
    ],
)
def test_evaluate_rules_needs_the_condition_and_the_schedule(
    condition: str, created: datetime, applies: bool
) -> None:
    env = Environment(creation_time=created)
    schedules = {"on": schedule(MONDAY_2_TO_3)}
    result = rule_in_schedule(schedules, env.creation_go_time) and parse(condition).matches(env)
    assert result is applies
