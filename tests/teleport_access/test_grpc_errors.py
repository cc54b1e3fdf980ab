"""gRPC status -> teleport_access exception: the one translation table, and back for the fake."""

from __future__ import annotations

import grpc
import pytest

from teleport_access._exceptions import (
    AccessDenied,
    AlreadyExists,
    AlreadyResolved,
    AlreadyReviewed,
    APIError,
    BadParameter,
    CompareFailed,
    ConnectionProblem,
    LimitExceeded,
    NotFound,
    NotImplementedByServer,
    TeleportError,
)
from teleport_access._grpc_errors import status_code_for, translate_rpc_error


class FakeRpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


API_TABLE = [
    (grpc.StatusCode.NOT_FOUND, NotFound),
    (grpc.StatusCode.ALREADY_EXISTS, AlreadyExists),
    (grpc.StatusCode.PERMISSION_DENIED, AccessDenied),
    (grpc.StatusCode.UNAUTHENTICATED, AccessDenied),
    (grpc.StatusCode.FAILED_PRECONDITION, CompareFailed),
    (grpc.StatusCode.INVALID_ARGUMENT, BadParameter),
    (grpc.StatusCode.OUT_OF_RANGE, BadParameter),
    (grpc.StatusCode.RESOURCE_EXHAUSTED, LimitExceeded),
    (grpc.StatusCode.UNIMPLEMENTED, NotImplementedByServer),
    (grpc.StatusCode.UNKNOWN, APIError),
    (grpc.StatusCode.INTERNAL, APIError),
    (grpc.StatusCode.ABORTED, APIError),
]


@pytest.mark.parametrize(("code", "exc_type"), API_TABLE)
def test_api_status_codes_map_to_api_errors_keeping_message_code_and_method(
    code: grpc.StatusCode, exc_type: type[APIError]
) -> None:
    error = translate_rpc_error(
        FakeRpcError(code, "server says no"), method="SubmitAccessReview", address="a:3025"
    )
    assert type(error) is exc_type
    assert isinstance(error, APIError)
    assert str(error) == "server says no"
    assert (error.code, error.method) == (code.name, "SubmitAccessReview")


@pytest.mark.parametrize(
    ("details", "exc_type"),
    [
        ('user "access-plugin" has already reviewed this request', AlreadyReviewed),
        ('user "a" has already reviewed this request\n', AlreadyReviewed),
        ("the access request has been already approved", AlreadyResolved),
        ("the access request has been already denied", AlreadyResolved),
        ("the access request has been already promoted", AlreadyResolved),
        ('user "a" cannot review their own access request', AccessDenied),
        ("has already reviewed this request, says the proxy in front", AccessDenied),
    ],
)
def test_review_refusals_are_told_apart_by_teleports_text(
    details: str, exc_type: type[AccessDenied]
) -> None:
    error = translate_rpc_error(
        FakeRpcError(grpc.StatusCode.PERMISSION_DENIED, details),
        method="SubmitAccessReview",
        address="a:3025",
    )
    assert type(error) is exc_type
    assert str(error) == details


def test_the_review_texts_are_only_access_denied_under_permission_denied() -> None:
    error = translate_rpc_error(
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT, "the access request has been already x"),
        method="SubmitAccessReview",
        address="a:3025",
    )
    assert type(error) is BadParameter


def test_the_fake_sends_the_review_refusals_as_permission_denied() -> None:
    assert status_code_for(AlreadyReviewed("x")) is grpc.StatusCode.PERMISSION_DENIED
    assert status_code_for(AlreadyResolved("x")) is grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED],
)
def test_transport_status_codes_are_connection_problems_with_the_address(
    code: grpc.StatusCode,
) -> None:
    error = translate_rpc_error(
        FakeRpcError(code, "failed to connect to all addresses"), method="Ping", address="a:3025"
    )
    assert type(error) is ConnectionProblem
    assert error.address == "a:3025"
    assert "Ping" in str(error)
    assert "a:3025" in str(error)
    assert "failed to connect to all addresses" in str(error)


def test_an_error_without_details_still_names_the_method_and_code() -> None:
    error = translate_rpc_error(
        FakeRpcError(grpc.StatusCode.NOT_FOUND, ""), method="GetRole", address="a:3025"
    )
    assert str(error) == "GetRole failed with NOT_FOUND"


# UNAUTHENTICATED and OUT_OF_RANGE map to exceptions whose primary code is another one.
PRIMARY = [
    row
    for row in API_TABLE
    if row[1] is not APIError
    and row[0] not in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.OUT_OF_RANGE)
]


@pytest.mark.parametrize(("code", "exc_type"), PRIMARY)
def test_the_fake_server_sends_the_code_the_client_maps_back(
    code: grpc.StatusCode, exc_type: type[APIError]
) -> None:
    assert status_code_for(exc_type("x")) == code


def test_connection_problem_is_sent_as_unavailable_and_others_as_unknown() -> None:
    assert status_code_for(ConnectionProblem("x")) == grpc.StatusCode.UNAVAILABLE
    assert status_code_for(TeleportError("x")) == grpc.StatusCode.UNKNOWN
    assert status_code_for(APIError("x", code="ABORTED")) == grpc.StatusCode.ABORTED
