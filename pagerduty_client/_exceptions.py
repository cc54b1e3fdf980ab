"""Every exception `pagerduty_client` raises. httpx and OS errors never escape to callers.

    PagerDutyError
    ├── ConfigurationError        a bad constructor argument, or a call that needs `user_email`
    │                             (PagerDuty's `From` header) on a client configured without one
    ├── TransportError            no HTTP answer: connect / read / write failure
    │   └── TransportTimeout      ... or the per-call timeout expired
    ├── APIError                  PagerDuty answered with an error status (status, code, message,
    │   │                         errors, x-request-id); statuses not listed below raise APIError
    │   ├── InvalidRequest        400  bad arguments; retrying unchanged will not help
    │   ├── Unauthorized          401  missing, wrong or revoked API key / OAuth token
    │   ├── PaymentRequired       402  the account lacks an ability the call needs
    │   ├── Forbidden             403  the key may not do this (a read-only key writing), or the
    │   │                              OAuth token lacks the operation's scope (.required_scope)
    │   ├── NotFound              404
    │   ├── RequestTimeout        408  PagerDuty gave up reading the request (retried)
    │   ├── Conflict              409
    │   ├── RateLimited           429  retry budget spent; carries the ratelimit-* headers
    │   ├── ServerError           5xx  after the retry budget ran out
    │   └── OAuthError            the token endpoint refused to issue a token (RFC 6749 5.2):
    │       │                     .error (PagerDuty's OAuth error code), .description, .hint
    │       ├── InvalidClient         invalid_client: wrong client ID or secret
    │       ├── InvalidScope          invalid_scope: scopes the app lacks, or a wrong account
    │       ├── InvalidGrant          invalid_grant
    │       ├── UnauthorizedClient    unauthorized_client: the app may not use this grant
    │       ├── UnsupportedGrantType  unsupported_grant_type
    │       └── InvalidTokenRequest   invalid_request: a malformed token request
    ├── UnexpectedResponse        a success status whose body is not the JSON PagerDuty documents
    └── PaginationLimitError      a listing goes past PagerDuty's offset+limit cap of 10,000

No message, repr or attribute ever holds the API key, an OAuth client secret or an access token:
messages are built from the HTTP method, the path template, the status and PagerDuty's own error
body, and foreign exception texts are scrubbed before they are wrapped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "APIError",
    "ConfigurationError",
    "Conflict",
    "Forbidden",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTokenRequest",
    "NotFound",
    "OAuthError",
    "PagerDutyError",
    "PaginationLimitError",
    "PaymentRequired",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "TransportTimeout",
    "Unauthorized",
    "UnauthorizedClient",
    "UnexpectedResponse",
    "UnsupportedGrantType",
]


class PagerDutyError(Exception):
    """Base of every error raised by pagerduty_client."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        #: How many HTTP attempts were made before this error was raised (0: none was sent).
        self.attempts = 0

    def __str__(self) -> str:
        return self.message

    @property
    def maybe_processed(self) -> bool:
        """Whether PagerDuty may have carried out the failed request anyway: no answer came
        (unless the request was certainly never sent), or PagerDuty answered 5xx. Repeating a
        request that may have been processed can do it twice; look before repeating."""
        return False


class ConfigurationError(PagerDutyError, ValueError):
    """A client argument is invalid, or a call needs configuration the client does not have."""


class TransportError(PagerDutyError):
    """The request got no HTTP answer (connection refused or reset, DNS, TLS, timeout).

    `maybe_processed` is False only when the request certainly never reached PagerDuty (the
    connection could not be opened), which makes even a non-idempotent request safe to repeat.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str | None = None,
        path: str | None = None,
        maybe_processed: bool = True,
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self._maybe_processed = maybe_processed

    @property
    def maybe_processed(self) -> bool:
        return self._maybe_processed


class TransportTimeout(TransportError):
    """The per-call timeout expired before PagerDuty answered."""


class APIError(PagerDutyError):
    """PagerDuty answered with an error status.

    Attributes mirror PagerDuty's error body `{"error": {"message", "code", "errors"}}`:
    `status` (HTTP), `code` (PagerDuty's numeric error code, or None), `error_message`,
    `errors` (human-readable details), plus `request_id` (the `x-request-id` response header, for
    PagerDuty support), `method` and `path` (the path template, e.g. `/incidents/{id}`).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: int | None = None,
        error_message: str | None = None,
        errors: Sequence[str] = (),
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.error_message = error_message
        self.errors = tuple(errors)
        self.request_id = request_id
        self.method = method
        self.path = path
        #: The decoded JSON error body, when there was one.
        self.body = body

    @property
    def maybe_processed(self) -> bool:
        # A 4xx (408 and 429 included) is PagerDuty refusing the request before doing it.
        return self.status >= 500


class InvalidRequest(APIError):
    """400: PagerDuty rejected the arguments (code 2001/2002/...); do not retry unchanged."""


class Unauthorized(APIError):
    """401: the API key or OAuth token is missing, wrong, revoked, or for another region."""


class PaymentRequired(APIError):
    """402: the account lacks an ability this call needs (see `abilities()`)."""


class Forbidden(APIError):
    """403: the credentials are valid but may not do this (e.g. a read-only key on a write).

    `required_scope` is the Scoped OAuth scope PagerDuty's OpenAPI document names for the
    refused operation (None when it names none); with an OAuth token, the message names it too,
    as the usual reason is a token without it.
    """

    def __init__(self, message: str, *, required_scope: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.required_scope = required_scope


class NotFound(APIError):
    """404: the resource does not exist (or the key cannot see it)."""


class RequestTimeout(APIError):
    """408: PagerDuty timed out reading the request. Retried; raised when retries run out."""


class Conflict(APIError):
    """409: the request conflicts with the resource's current state."""


class RateLimited(APIError):
    """429: the rate limit was still exceeded when the retry budget ran out.

    `limit`, `remaining` and `reset` come from PagerDuty's `ratelimit-*` headers (None when the
    answer had none); `reset` is the number of seconds until the window resets.
    """

    def __init__(
        self,
        message: str,
        *,
        limit: int | None = None,
        remaining: int | None = None,
        reset: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.limit = limit
        self.remaining = remaining
        self.reset = reset


class ServerError(APIError):
    """5xx: PagerDuty failed. Retried; raised when retries run out."""


class OAuthError(APIError):
    """PagerDuty's token endpoint refused to issue an access token (RFC 6749 section 5.2).

    `error` is the OAuth error code PagerDuty gave (`"invalid_client"`, ...; None when the answer
    had none), `description` its `error_description`, and `hint` what to check. The subclass
    says which code it was; an unknown code or an answer without one raises `OAuthError` itself.
    """

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        description: str | None = None,
        hint: str = "",
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.error = error
        self.description = description
        self.hint = hint


class InvalidClient(OAuthError):
    """invalid_client: PagerDuty does not know this client ID, or the secret is wrong."""


class InvalidScope(OAuthError):
    """invalid_scope: a requested scope is unknown or not granted to the app, or the account
    scope (`as_account-<region>.<subdomain>`) names an account the app is not installed in."""


class InvalidGrant(OAuthError):
    """invalid_grant: the grant (the client credentials) was refused."""


class UnauthorizedClient(OAuthError):
    """unauthorized_client: the app may not use the client credentials grant."""


class UnsupportedGrantType(OAuthError):
    """unsupported_grant_type: the endpoint does not take `grant_type=client_credentials`."""


class InvalidTokenRequest(OAuthError):
    """invalid_request: the token request lacks a parameter or is malformed."""


class UnexpectedResponse(PagerDutyError):
    """A success (or redirect) status whose body is not what PagerDuty documents."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        request_id: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.method = method
        self.path = path


class PaginationLimitError(PagerDutyError):
    """A listing has more results than PagerDuty will page through (offset + limit <= 10,000).

    Raised instead of silently returning the first 10,000 results; narrow the query with filters
    (or a shorter time range) so it matches fewer records.
    """

    def __init__(self, message: str, *, path: str, offset: int) -> None:
        super().__init__(message)
        self.path = path
        self.offset = offset
