"""teleport_pd_cli.policy: the exact texts the Go plugin sends to PagerDuty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from teleport_access._models import AccessRequest, AccessReview, RequestState, ServerInfo
from teleport_pd_cli.policy import (
    PagerDutyUser,
    approval_reason,
    format_rfc822,
    incident_body,
    incident_key,
    incident_title,
    request_id_from_incident_key,
    request_link,
    resolution_note,
    review_note,
    web_proxy_url,
)
from teleport_pd_cli.policy.plugindata import ResolutionTag

CREATED = datetime(2021, 6, 1, 13, 27, 17, tzinfo=UTC)
REQUEST = AccessRequest(
    id="8f6c2a8e-5c7b-4a44-9d9a-2f6f4c7a1b2c",
    user="requester@example.com",
    roles=("editor", "auditor"),
    state=RequestState.PENDING,
    request_reason="because of",
    created=CREATED,
)


def test_the_incident_title_names_the_requester() -> None:
    assert incident_title(REQUEST) == "Access request from requester@example.com"


def test_the_incident_key_is_prefixed_and_parses_back() -> None:
    key = incident_key(REQUEST.id)
    assert key == f"teleport-access-request/{REQUEST.id}"
    assert request_id_from_incident_key(key) == REQUEST.id


@pytest.mark.parametrize("key", ["other/1", "teleport-access-request/", "teleport-access-request"])
def test_a_foreign_incident_key_has_no_request_id(key: str) -> None:
    assert request_id_from_incident_key(key) is None


def test_the_incident_body_has_three_lines_each_ending_in_a_newline() -> None:
    body = incident_body(REQUEST, web_proxy_url="https://teleport.example.com")
    assert body == (
        "requester@example.com requested permissions for roles editor, auditor on Teleport at "
        "01 Jun 21 13:27 UTC.\n"
        "Reason: because of\n"
        "To approve or deny the request, proceed to "
        f"https://teleport.example.com/web/requests/{REQUEST.id}\n"
    )


def test_without_reason_or_link_those_lines_are_empty() -> None:
    request = AccessRequest(id="r1", user="u@example.com", roles=("editor",), created=CREATED)
    assert incident_body(request) == (
        "u@example.com requested permissions for roles editor on Teleport at 01 Jun 21 13:27 UTC."
        "\n\n\n"
    )


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2022, 8, 12, 18, 30, 59, tzinfo=UTC), "12 Aug 22 18:30 UTC"),
        (datetime(2022, 8, 13, 1, 30, tzinfo=timezone(timedelta(hours=7))), "12 Aug 22 18:30 UTC"),
        (datetime(2009, 1, 2, 3, 4), "02 Jan 09 03:04 UTC"),
        (None, "01 Jan 01 00:00 UTC"),
    ],
)
def test_timestamps_use_go_rfc822_in_utc(moment: datetime | None, text: str) -> None:
    assert format_rfc822(moment) == text


def test_a_review_note_has_three_lines_and_a_period_after_the_reason() -> None:
    review = AccessReview(
        author="reviewer1@example.com",
        proposed_state=RequestState.APPROVED,
        reason="okay",
        created=CREATED,
    )
    assert review_note(review) == (
        "reviewer1@example.com reviewed the request at 01 Jun 21 13:27 UTC.\n"
        "Resolution: APPROVED.\n"
        "Reason: okay."
    )


def test_a_review_note_without_reason_ends_with_an_empty_line() -> None:
    review = AccessReview(author="r2", proposed_state=RequestState.DENIED, created=CREATED)
    assert (
        review_note(review)
        == "r2 reviewed the request at 01 Jun 21 13:27 UTC.\nResolution: DENIED.\n"
    )


@pytest.mark.parametrize(
    ("tag", "reason", "text"),
    [
        (ResolutionTag.APPROVED, "okay", "Access request has been approved\nReason: okay"),
        (ResolutionTag.DENIED, "not okay", "Access request has been denied\nReason: not okay"),
        (ResolutionTag.PROMOTED, "", "Access request has been promoted\n"),
        (ResolutionTag.EXPIRED, "", "Access request has been expired\n"),
    ],
)
def test_the_resolution_note_has_no_period_after_the_reason(
    tag: ResolutionTag, reason: str, text: str
) -> None:
    assert resolution_note(tag, reason) == text


def test_the_approval_reason_lists_services_comma_joined_without_spaces() -> None:
    user = PagerDutyUser(id="U1", name="Test User", email="requester@example.com")
    assert approval_reason(user, ["Service 1", "Service 2"]) == (
        "Access requested by user Test User (requester@example.com) who is on call in "
        "service(s) Service 1,Service 2"
    )


@pytest.mark.parametrize(
    ("address", "url"),
    [
        ("teleport.example.com:443", "https://teleport.example.com"),
        ("teleport.example.com:3080", "https://teleport.example.com:3080"),
        ("https://teleport.example.com:443/", "https://teleport.example.com"),
        ("http://teleport.example.com:443", "http://teleport.example.com:443"),
    ],
)
def test_the_web_proxy_url_is_normalised_like_go(address: str, url: str) -> None:
    info = ServerInfo(
        cluster_name="c",
        server_version="16.0.0",
        proxy_public_addr=address,
        advanced_access_workflows=True,
    )
    assert web_proxy_url(info) == url


def test_only_advanced_workflow_clusters_get_a_link() -> None:
    info = ServerInfo(cluster_name="c", server_version="16.0.0", proxy_public_addr="t:443")
    assert web_proxy_url(info) is None


def test_the_request_link_escapes_the_id_as_a_path_segment() -> None:
    assert request_link("https://t.example.com", "a/b c?d") == (
        "https://t.example.com/web/requests/a%2Fb%20c%3Fd"
    )
