"""Request building and answer interpretation: exact bodies, parameter encoding, error mapping,
and the offset pager."""

from __future__ import annotations

import pytest

from pagerduty_client import (
    APIError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaginationLimitError,
    PaymentRequired,
    RateLimited,
    RequestTimeout,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
)
from pagerduty_client import _requests as rq


def answer(status: int, body: object = None, **headers: str) -> rq.ApiResponse:
    return rq.ApiResponse(
        status=status,
        headers={k.replace("_", "-"): v for k, v in headers.items()},
        body=body,
        request_id=headers.get("x_request_id"),
    )


def test_an_incident_is_created_with_the_body_the_openapi_document_requires() -> None:
    request = rq.create_incident(
        service_id="PSVC1",
        title="Access request from alice",
        details="alice requested roles admin",
        incident_key="teleport-access-request/r1",
        urgency=None,
    )
    assert (request.method, request.path, request.needs_from, request.idempotent) == (
        "POST",
        "/incidents",
        True,
        False,
    )
    assert request.body == {
        "incident": {
            "type": "incident",
            "title": "Access request from alice",
            "service": {"id": "PSVC1", "type": "service_reference"},
            "body": {"type": "incident_body", "details": "alice requested roles admin"},
            "incident_key": "teleport-access-request/r1",
        }
    }


def test_urgency_is_sent_only_when_given() -> None:
    request = rq.create_incident(
        service_id="S", title="t", details=None, incident_key=None, urgency="low"
    )
    assert request.body == {
        "incident": {
            "type": "incident",
            "title": "t",
            "service": {"id": "S", "type": "service_reference"},
            "urgency": "low",
        }
    }


def test_a_resolve_is_exactly_an_incident_reference_with_status_resolved() -> None:
    request = rq.resolve_incident("PINC1", None)
    assert (request.method, request.path, request.template) == (
        "PUT",
        "/incidents/PINC1",
        "/incidents/{id}",
    )
    assert request.body == {"incident": {"type": "incident_reference", "status": "resolved"}}
    assert request.needs_from


def test_a_note_body_wraps_its_content() -> None:
    request = rq.create_note("PINC1", "reviewed")
    assert request.body == {"note": {"content": "reviewed"}}
    assert (request.path, request.needs_from, request.idempotent) == (
        "/incidents/PINC1/notes",
        True,
        False,
    )


def test_ids_are_percent_encoded_so_they_cannot_change_the_path() -> None:
    assert rq.get_service("../users?x=1").path == "/services/..%2Fusers%3Fx%3D1"


def test_an_empty_id_is_refused() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        rq.get_incident("")


def test_list_parameters_become_repeated_bracketed_names() -> None:
    pairs = rq.encode_params(
        {"user_ids": ["A", "B"], "statuses[]": ["triggered"], "total": True, "since": None}
    )
    assert pairs == (
        ("user_ids[]", "A"),
        ("user_ids[]", "B"),
        ("statuses[]", "triggered"),
        ("total", "true"),
    )


REQUEST = rq.get_incident("PX")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (402, PaymentRequired),
        (403, Forbidden),
        (404, NotFound),
        (408, RequestTimeout),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (422, APIError),
    ],
)
def test_each_error_status_maps_to_its_exception(status: int, cls: type[APIError]) -> None:
    error = rq.api_error(REQUEST, answer(status, {"error": {"message": "m", "code": 1}}))
    assert type(error) is cls
    assert error.status == status


def test_an_api_error_carries_pagerdutys_code_message_details_and_request_id() -> None:
    body = {"error": {"message": "Arguments Caused Error", "code": 2002, "errors": ["a", "b"]}}
    error = rq.api_error(REQUEST, answer(400, body, x_request_id="req-9"))
    assert (error.code, error.error_message, error.errors, error.request_id) == (
        2002,
        "Arguments Caused Error",
        ("a", "b"),
        "req-9",
    )
    assert (error.method, error.path) == ("GET", "/incidents/{id}")
    assert str(error) == (
        "GET /incidents/{id}: HTTP 400, PagerDuty error 2002: Arguments Caused Error (a; b) "
        "[x-request-id req-9]"
    )


def test_a_rate_limited_error_carries_the_rate_limit_headers() -> None:
    error = rq.api_error(
        REQUEST,
        answer(
            429,
            {"error": {"message": "Rate Limit Exceeded", "code": 2020}},
            ratelimit_limit="960",
            ratelimit_remaining="0",
            ratelimit_reset="42",
        ),
    )
    assert isinstance(error, RateLimited)
    assert (error.limit, error.remaining, error.reset, error.code) == (960, 0, 42.0, 2020)


def test_an_error_without_a_json_body_quotes_the_start_of_the_text() -> None:
    response = rq.ApiResponse(status=502, headers={}, body=None, text="<html>Bad Gateway</html>")
    assert str(rq.api_error(REQUEST, response)) == (
        "GET /incidents/{id}: HTTP 502: <html>Bad Gateway</html>"
    )


def test_a_success_without_the_wrapper_member_is_an_unexpected_response() -> None:
    with pytest.raises(UnexpectedResponse, match="no 'incident' member"):
        rq.unwrap(REQUEST, answer(200, {"incidents": []}), "incident", lambda v: v)


def page(items: list[object], more: bool) -> rq.ApiResponse:
    return answer(200, {"users": items, "more": more})


def test_the_pager_advances_by_the_number_of_items_returned() -> None:
    pager = rq.OffsetPager(path="/users", params={"query": "a"})
    first = pager.next_request()
    assert first is not None
    assert first.params == (("query", "a"), ("limit", "100"), ("offset", "0"))
    pager.feed(first, page(list(range(25)), more=True))  # the server capped the page at 25
    second = pager.next_request()
    assert second is not None
    assert dict(second.params)["offset"] == "25"


def test_the_pager_stops_when_more_is_false_or_a_page_is_empty() -> None:
    pager = rq.OffsetPager(path="/users")
    request = pager.next_request()
    assert request is not None
    pager.feed(request, page([1], more=False))
    assert pager.next_request() is None
    pager = rq.OffsetPager(path="/users")
    request = pager.next_request()
    assert request is not None
    pager.feed(request, page([], more=True))
    assert pager.next_request() is None


def test_the_pager_shrinks_the_last_page_to_stay_within_the_10000_cap() -> None:
    pager = rq.OffsetPager(path="/users", params={"offset": 9950})
    request = pager.next_request()
    assert request is not None
    assert dict(request.params)["limit"] == "50"


def test_the_pager_raises_instead_of_stopping_silently_at_the_10000_cap() -> None:
    pager = rq.OffsetPager(path="/users", params={"offset": 9950})
    request = pager.next_request()
    assert request is not None
    pager.feed(request, page(list(range(50)), more=True))
    with pytest.raises(PaginationLimitError, match="more than 10000 results") as caught:
        pager.next_request()
    assert (caught.value.path, caught.value.offset) == ("/users", 10000)


def test_the_pager_infers_the_listing_key_from_the_path() -> None:
    assert rq.OffsetPager(path="/escalation_policies").key == "escalation_policies"


@pytest.mark.parametrize("params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}])
def test_the_pager_refuses_invalid_limits_and_offsets(params: rq.Params) -> None:
    with pytest.raises(ValueError, match=r"limit|offset"):
        rq.OffsetPager(path="/users", params=params)
