"""PagerDuty JSON -> models: tolerant of unknown and missing fields, strict about identities."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from pagerduty_client import Reference
from pagerduty_client._wire import (
    WireFormatError,
    format_time,
    parse_escalation_policy,
    parse_incident,
    parse_note,
    parse_oncall,
    parse_service,
    parse_user,
)

EP_REF = {"id": "PEP1", "type": "escalation_policy_reference", "summary": "Ops"}


def test_unknown_fields_are_ignored_but_kept_in_raw() -> None:
    user = parse_user({"id": "PU1", "name": "A", "email": "a@x.io", "brand_new": {"x": 1}})
    assert user.email == "a@x.io"
    assert user.raw["brand_new"] == {"x": 1}


def test_raw_is_left_out_of_equality() -> None:
    assert parse_user({"id": "P", "name": "A", "email": "e", "x": 1}) == parse_user(
        {"id": "P", "name": "A", "email": "e", "x": 2}
    )


def test_missing_optional_fields_become_none() -> None:
    service = parse_service({"id": "PS1", "name": "Payments", "escalation_policy": EP_REF})
    assert (service.status, service.description, service.html_url) == (None, None, None)
    assert service.escalation_policy == Reference(
        id="PEP1", type="escalation_policy_reference", summary="Ops"
    )


def test_an_object_without_its_id_is_a_wire_format_error() -> None:
    with pytest.raises(WireFormatError, match="'id'"):
        parse_user({"name": "A", "email": "a@x.io"})


def test_a_permanent_on_call_has_no_schedule_start_or_end() -> None:
    entry = parse_oncall(
        {
            "user": {"id": "PU1", "type": "user_reference"},
            "escalation_policy": EP_REF,
            "escalation_level": 1,
            "schedule": None,
            "start": None,
            "end": None,
        }
    )
    assert (entry.schedule, entry.start, entry.end) == (None, None, None)


def test_timestamps_keep_their_offsets_and_are_aware() -> None:
    entry = parse_oncall(
        {
            "user": {"id": "PU1", "type": "user_reference"},
            "escalation_policy": EP_REF,
            "escalation_level": 2,
            "schedule": {"id": "PSC1", "type": "schedule_reference"},
            "start": "2015-03-06T15:28:51-05:00",
            "end": "2015-03-07T15:28:51Z",
        }
    )
    assert entry.start == datetime(2015, 3, 6, 15, 28, 51, tzinfo=timezone(timedelta(hours=-5)))
    assert entry.end == datetime(2015, 3, 7, 15, 28, 51, tzinfo=UTC)


def test_an_escalation_policy_keeps_its_rules_in_order_with_their_targets() -> None:
    policy = parse_escalation_policy(
        {
            "id": "PEP1",
            "name": "Ops",
            "escalation_rules": [
                {
                    "id": "R1",
                    "escalation_delay_in_minutes": 30,
                    "targets": [{"id": "PU1", "type": "user_reference"}],
                },
                {
                    "id": "R2",
                    "escalation_delay_in_minutes": 10,
                    "targets": [{"id": "PSC1", "type": "schedule_reference"}],
                },
            ],
        }
    )
    assert [r.targets[0].type for r in policy.escalation_rules] == [
        "user_reference",
        "schedule_reference",
    ]


def test_an_incident_knows_whether_it_is_open() -> None:
    base = {"id": "PI1", "title": "t", "service": {"id": "PS1", "type": "service_reference"}}
    assert parse_incident({**base, "status": "acknowledged"}).is_open
    resolved = parse_incident({**base, "status": "resolved"})
    assert not resolved.is_open
    assert resolved.is_resolved


def test_a_note_reads_its_channel_summary() -> None:
    note = parse_note(
        {"id": "PN1", "content": "c", "channel": {"summary": "The PagerDuty website or APIs"}}
    )
    assert note.channel == "The PagerDuty website or APIs"


def test_query_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_time(datetime(2024, 1, 1))
    assert format_time(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00+00:00"
