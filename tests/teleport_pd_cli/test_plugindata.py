"""teleport_pd_cli.policy.plugindata: the Go plugin's 9-key plugin-data record, byte for byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_pd_cli.policy.plugindata import (
    KEYS,
    PLUGIN_NAME,
    PagerDutyData,
    ResolutionTag,
    decode,
    encode,
    expected,
)

# The Go unit-test sample (plugindata_test.go).
SAMPLE = PagerDutyData(
    user="user-foo",
    roles=("role-foo", "role-bar"),
    created=datetime.fromtimestamp(1622554037, tz=UTC),
    request_reason="foo reason",
    reviews_count=3,
    resolution=ResolutionTag.APPROVED,
    resolve_reason="foo ok",
    service_id="SERVICE1",
    incident_id="INCIDENT1",
)
SAMPLE_ENCODED = {
    "user": "user-foo",
    "roles": "role-foo,role-bar",
    "created": "1622554037",
    "request_reason": "foo reason",
    "reviews_count": "3",
    "resolution": "approved",
    "resolve_reason": "foo ok",
    "service_id": "SERVICE1",
    "incident_id": "INCIDENT1",
}


def test_the_plugin_name_is_pagerduty() -> None:
    assert PLUGIN_NAME == "pagerduty"


def test_encoding_the_go_sample_gives_exactly_the_nine_go_strings() -> None:
    assert encode(SAMPLE) == SAMPLE_ENCODED
    assert len(encode(SAMPLE)) == 9


def test_decoding_the_go_sample_gives_the_record_back() -> None:
    assert decode(SAMPLE_ENCODED) == SAMPLE


def test_encoding_an_empty_record_gives_nine_empty_strings() -> None:
    assert encode(PagerDutyData()) == dict.fromkeys(KEYS, "")


@pytest.mark.parametrize("stored", [None, {}, dict.fromkeys(KEYS, "")])
def test_no_map_an_empty_map_or_all_empty_values_decode_as_absent(
    stored: dict[str, str] | None,
) -> None:
    assert decode(stored) is None


def test_the_expectation_for_an_absent_record_is_nine_empty_strings() -> None:
    assert expected(None) == dict.fromkeys(KEYS, "")
    assert expected(SAMPLE) == SAMPLE_ENCODED


def test_missing_keys_decode_as_zero_values() -> None:
    assert decode({"incident_id": "P1"}) == PagerDutyData(incident_id="P1")


def test_unparsable_numbers_decode_as_zero_as_in_go() -> None:
    data = decode({"user": "u", "created": "yesterday", "reviews_count": "3x"})
    assert data == PagerDutyData(user="u")


def test_a_signed_count_is_read_like_go_parse_int() -> None:
    assert decode({"user": "u", "reviews_count": "+2"}) == PagerDutyData(user="u", reviews_count=2)
    assert decode({"user": "u", "reviews_count": "-2"}) == PagerDutyData(user="u")


def test_zero_reviews_are_written_as_an_empty_string() -> None:
    assert encode(PagerDutyData(user="u"))["reviews_count"] == ""


def test_created_is_unix_seconds_truncated_and_timezone_independent() -> None:
    plus_two = timezone(timedelta(hours=2))
    created = datetime(2021, 6, 1, 15, 27, 17, 900000, tzinfo=plus_two)
    assert encode(PagerDutyData(created=created))["created"] == "1622554037"


def test_a_naive_created_time_is_taken_as_utc() -> None:
    data = PagerDutyData(created=datetime(2021, 6, 1, 13, 27, 17))
    assert encode(data)["created"] == "1622554037"


def test_the_epoch_is_written_as_zero_not_as_unset() -> None:
    data = PagerDutyData(created=datetime.fromtimestamp(0, tz=UTC))
    assert encode(data)["created"] == "0"
    assert decode(encode(data)) == data


def test_roles_split_on_commas_and_an_empty_string_is_no_roles() -> None:
    assert decode({"user": "u", "roles": "a,b,c"}) == PagerDutyData(user="u", roles=("a", "b", "c"))
    assert decode({"user": "u", "roles": ""}) == PagerDutyData(user="u")


@pytest.mark.parametrize("tag", ["approved", "denied", "expired", "promoted"])
def test_every_go_resolution_tag_round_trips(tag: str) -> None:
    data = decode({"incident_id": "P1", "resolution": tag})
    assert data is not None
    assert data.resolution == tag
    assert data.is_resolved
    assert encode(data)["resolution"] == tag


def test_an_unknown_resolution_tag_is_kept_and_counts_as_resolved() -> None:
    data = decode({"incident_id": "P1", "resolution": "withdrawn"})
    assert data is not None
    assert data.is_resolved
    assert encode(data)["resolution"] == "withdrawn"


def test_an_unresolved_record_reports_no_resolution_and_its_incident() -> None:
    data = PagerDutyData(incident_id="P1")
    assert data.has_incident
    assert not data.is_resolved
    assert not PagerDutyData().has_incident


_text = st.text(st.characters(codec="utf-8"), max_size=20)
_role = st.text(st.characters(codec="utf-8", blacklist_characters=","), min_size=1, max_size=10)


@given(
    user=_text,
    roles=st.lists(_role, max_size=4),
    created=st.one_of(st.none(), st.integers(min_value=0, max_value=2**33)),
    reason=_text,
    count=st.integers(min_value=0, max_value=10**6),
    tag=st.sampled_from(list(ResolutionTag)),
    resolve_reason=_text,
    incident=_text,
    service=_text,
)
def test_encode_then_decode_is_the_identity_for_any_non_empty_record(
    user: str,
    roles: list[str],
    created: int | None,
    reason: str,
    count: int,
    tag: ResolutionTag,
    resolve_reason: str,
    incident: str,
    service: str,
) -> None:
    data = PagerDutyData(
        user=user,
        roles=tuple(roles),
        created=None if created is None else datetime.fromtimestamp(created, tz=UTC),
        request_reason=reason,
        reviews_count=count,
        resolution=tag,
        resolve_reason=resolve_reason,
        incident_id=incident,
        service_id=service,
    )
    encoded = encode(data)
    assert list(encoded) == list(KEYS)
    assert all(isinstance(value, str) for value in encoded.values())
    if any(encoded.values()):
        assert decode(encoded) == data
    else:
        assert decode(encoded) is None
