"""The one place gRPC errors become `teleport_access` exceptions (and, for the fake server, back).

Teleport's Auth Service turns its `trace` errors into gRPC status codes (`trail.ToGRPC`) and puts
the user-facing message in the status details; `translate_rpc_error` reverses that. Transport
failures (UNAVAILABLE, DEADLINE_EXCEEDED, CANCELLED: no TCP connection, a TLS handshake that
failed, a connection that dropped, a server that did not answer in time) become
`ConnectionProblem` naming the address; everything else an `APIError` subclass that keeps the
server's message verbatim, the status code name and the RPC method. Two PERMISSION_DENIED answers
to a review are told apart by their text, as Go plugins do, and get their own classes:
`AlreadyReviewed` and `AlreadyResolved`.
"""

from __future__ import annotations

import grpc

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

__all__ = ["TRANSPORT_CODES", "status_code_for", "translate_rpc_error", "translate_usage_error"]

#: Status code -> exception for errors the server reports about the request itself.
API_ERRORS: dict[grpc.StatusCode, type[APIError]] = {
    grpc.StatusCode.NOT_FOUND: NotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.PERMISSION_DENIED: AccessDenied,
    grpc.StatusCode.UNAUTHENTICATED: AccessDenied,
    grpc.StatusCode.FAILED_PRECONDITION: CompareFailed,
    grpc.StatusCode.INVALID_ARGUMENT: BadParameter,
    grpc.StatusCode.OUT_OF_RANGE: BadParameter,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceeded,
    grpc.StatusCode.UNIMPLEMENTED: NotImplementedByServer,
}

#: Teleport's texts for PERMISSION_DENIED answers that say "nothing left to do" rather than "not
#: allowed" (lib/services/access_request.go): matched as the Go plugins match them, a suffix for a
#: second review by the same author and a phrase for a review of a resolved request.
_ALREADY_REVIEWED_SUFFIX = "has already reviewed this request"
_ALREADY_RESOLVED_PHRASE = "the access request has been already "

#: Codes that mean "could not talk to the server", not "the server said no". Worth retrying.
TRANSPORT_CODES = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)

#: Exception -> status code, for the fake Auth Service. Subclasses first is not needed: the
#: table is looked up by exact type, then by walking the MRO.
_CODES_FOR_ERRORS: dict[type[TeleportError], grpc.StatusCode] = {
    NotFound: grpc.StatusCode.NOT_FOUND,
    AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    AccessDenied: grpc.StatusCode.PERMISSION_DENIED,
    CompareFailed: grpc.StatusCode.FAILED_PRECONDITION,
    BadParameter: grpc.StatusCode.INVALID_ARGUMENT,
    LimitExceeded: grpc.StatusCode.RESOURCE_EXHAUSTED,
    NotImplementedByServer: grpc.StatusCode.UNIMPLEMENTED,
    ConnectionProblem: grpc.StatusCode.UNAVAILABLE,
}


def _code_of(error: grpc.RpcError) -> grpc.StatusCode:
    code = getattr(error, "code", None)
    if callable(code):
        value = code()
        if isinstance(value, grpc.StatusCode):
            return value
    return grpc.StatusCode.UNKNOWN


def _details_of(error: grpc.RpcError) -> str:
    details = getattr(error, "details", None)
    if callable(details):
        value = details()
        if isinstance(value, str):
            return value
    return ""


def translate_rpc_error(error: grpc.RpcError, *, method: str, address: str) -> TeleportError:
    """The `teleport_access` exception for a failed call. Raise it `from error`."""
    code = _code_of(error)
    details = _details_of(error)
    if code in TRANSPORT_CODES:
        what = {
            grpc.StatusCode.UNAVAILABLE: "is unavailable",
            grpc.StatusCode.DEADLINE_EXCEEDED: "did not answer in time",
            grpc.StatusCode.CANCELLED: "call was cancelled",
        }[code]
        suffix = f": {details}" if details else ""
        return ConnectionProblem(
            f"{method}: the Teleport Auth Service at {address} {what}{suffix}", address=address
        )
    exc_type = API_ERRORS.get(code, APIError)
    if code is grpc.StatusCode.PERMISSION_DENIED:
        exc_type = _access_denied_type(details)
    message = details or f"{method} failed with {code.name}"
    return exc_type(message, code=code.name, method=method)


def _access_denied_type(message: str) -> type[AccessDenied]:
    if message.rstrip().endswith(_ALREADY_REVIEWED_SUFFIX):
        return AlreadyReviewed
    if _ALREADY_RESOLVED_PHRASE in message:
        return AlreadyResolved
    return AccessDenied


def translate_usage_error(error: Exception, *, method: str, address: str) -> ConnectionProblem:
    """grpc.aio.UsageError (e.g. a call on a channel that was closed meanwhile)."""
    return ConnectionProblem(
        f"{method}: the connection to {address} is closed ({error})", address=address
    )


def status_code_for(error: TeleportError) -> grpc.StatusCode:
    """The status code a Teleport server would use for `error` (used by the fake server)."""
    for cls in type(error).__mro__:
        code = _CODES_FOR_ERRORS.get(cls)
        if code is not None:
            return code
    if isinstance(error, APIError) and error.code in grpc.StatusCode.__members__:
        return grpc.StatusCode[error.code]
    return grpc.StatusCode.UNKNOWN
