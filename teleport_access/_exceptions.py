"""Every exception `teleport_access` raises. grpc, ssl and OS errors never escape to callers.

    TeleportError
    ├── CredentialsError           identity / TLS files: missing, unreadable, malformed, mismatched
    │   └── CredentialsExpired     the certificate is outside its validity period
    ├── ConnectionProblem          cannot reach or lost the Auth Service (UNAVAILABLE, timeouts)
    └── APIError                   the Auth Service answered with an error status
        ├── NotFound               NOT_FOUND
        ├── AlreadyExists          ALREADY_EXISTS
        ├── AccessDenied           PERMISSION_DENIED, UNAUTHENTICATED
        │   ├── AlreadyReviewed    a second review of a request by the same author
        │   └── AlreadyResolved    a review of a request that is no longer pending
        ├── CompareFailed          FAILED_PRECONDITION (plugin-data compare-and-swap mismatch)
        ├── BadParameter           INVALID_ARGUMENT
        ├── LimitExceeded          RESOURCE_EXHAUSTED
        └── NotImplementedByServer UNIMPLEMENTED (an older Teleport without that RPC)

The two languages raise their own subtrees, both deriving from `TeleportError`: the `where`
language `teleport_access.where.WhereError`, the Access Monitoring Rule conditions
`teleport_access.predicate.PredicateError` (parse, evaluation and schedule errors).
"""

from __future__ import annotations


class TeleportError(Exception):
    """Base of every error raised by teleport_access."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class CredentialsError(TeleportError):
    """Credentials could not be loaded or are unusable. The message names the file."""

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class CredentialsExpired(CredentialsError):
    """The certificate is not valid now; the message says when it expired and how to renew."""


class ConnectionProblem(TeleportError):
    """The Auth Service could not be reached, or the connection was lost. Worth retrying."""

    def __init__(self, message: str, *, address: str | None = None) -> None:
        super().__init__(message)
        self.address = address


class APIError(TeleportError):
    """The Auth Service refused a call. Carries the gRPC status code name and server message."""

    def __init__(self, message: str, *, code: str = "UNKNOWN", method: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.method = method


class NotFound(APIError):
    """The resource does not exist."""


class AlreadyExists(APIError):
    """The resource already exists."""


class AccessDenied(APIError):
    """The caller's roles do not allow the call, or it was refused (e.g. already reviewed)."""


class AlreadyReviewed(AccessDenied):
    """`SubmitAccessReview` refused: this author has reviewed the request before.

    Teleport's text: `user "<name>" has already reviewed this request`.
    """


class AlreadyResolved(AccessDenied):
    """`SubmitAccessReview` refused: the request is already approved, denied or promoted.

    Teleport's text: "the access request has been already approved" (or denied, promoted).
    """


class CompareFailed(APIError):
    """A compare-and-swap expectation was not met: someone else wrote first."""


class BadParameter(APIError):
    """The request was malformed or not valid for the resource's state."""


class LimitExceeded(APIError):
    """A server-side limit was reached."""


class NotImplementedByServer(APIError):
    """The server does not implement this RPC (an older Teleport)."""
