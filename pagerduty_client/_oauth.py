"""Scoped OAuth without I/O: the token request, PagerDuty's answer, the cached token and when to
renew it. Shared by both token providers (`_client.py` and its generated twin).

    POST https://identity.pagerduty.com/oauth/token        (form-encoded)
        grant_type=client_credentials & client_id & client_secret
        & scope=as_account-us.acme users.read incidents.write ...
    -> 200 {"access_token", "token_type": "bearer", "expires_in": <seconds>, "scope": <granted>}
    -> 400/401 {"error": "invalid_client" | "invalid_scope" | ..., "error_description"}

`fetch_token` is the plan (see `pagerduty_client._plans`) a provider runs: retried like every
other call (429, 5xx, lost answers: asking for a token twice does no harm), with a refusal turned
into the `OAuthError` subclass PagerDuty's error code names, and a message that says what to
check. `TokenCache` is a provider's state: the token, and the outcome of the latest fetch, so
callers that waited for one fetch share its result instead of each fetching again.

Neither the client secret nor a token is ever in a repr, a message or a log record: both are
`repr=False` fields, and the refusal's text is scrubbed of the secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from pagerduty_client import _requests as rq
from pagerduty_client._exceptions import (
    APIError,
    ConfigurationError,
    InvalidClient,
    InvalidGrant,
    InvalidScope,
    InvalidTokenRequest,
    OAuthError,
    PagerDutyError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from pagerduty_client._plans import Context, Plan, execute
from pagerduty_client._scopes import account_scope

__all__ = [
    "DEFAULT_TOKEN_URL",
    "AccessToken",
    "ClientCredentials",
    "TokenCache",
    "fetch_token",
    "oauth_error",
    "parse_token",
    "token_request",
]

DEFAULT_TOKEN_URL = "https://identity.pagerduty.com/oauth/token"
#: A token is renewed once this fraction of its lifetime has passed.
DEFAULT_RENEW_AFTER = 0.8
#: PagerDuty always says how long a token lives; should an answer not, assume an hour (a 401
#: renews the token anyway).
_ASSUMED_LIFETIME = 3600.0


@attrs.frozen(kw_only=True)
class AccessToken:
    """An access token PagerDuty issued. `value` is the secret; it is never in the repr.

    `scopes` are the scopes PagerDuty granted (which may be fewer than those requested: an app
    gets only the scopes ticked for it). Times are seconds on the provider's monotonic clock:
    `renew_at` (a new token is fetched from then on) and `expires_at`.
    """

    value: str = attrs.field(repr=False)
    scopes: frozenset[str]
    expires_in: float
    obtained_at: float
    renew_at: float
    expires_at: float
    token_type: str = "bearer"

    @property
    def authorization(self) -> str:
        """The `Authorization` header value: `Bearer <token>`."""
        return f"Bearer {self.value}"

    def is_fresh(self, now: float) -> bool:
        """Not yet due for renewal."""
        return now < self.renew_at

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    def missing(self, scopes: Iterable[str]) -> frozenset[str]:
        """Which of `scopes` the token was not granted."""
        return frozenset(scopes) - self.scopes


def _printable(value: object) -> bool:
    return isinstance(value, str) and bool(value) and all("!" <= ch <= "~" for ch in value)


@attrs.frozen(kw_only=True)
class ClientCredentials:
    """What a token request needs: the app's client ID and secret, and the scopes to request
    (the account scope first). Build it with `ClientCredentials.create`, which checks them."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    account_scope: str
    scopes: tuple[str, ...]
    token_path: str
    renew_after: float = DEFAULT_RENEW_AFTER

    @classmethod
    def create(
        cls,
        client_id: str,
        client_secret: str,
        *,
        subdomain: str,
        region: str,
        scopes: Iterable[str],
        token_path: str,
        renew_after: float = DEFAULT_RENEW_AFTER,
    ) -> ClientCredentials:
        # The messages never echo the secret: a wrong value may still be a real one.
        if not _printable(client_id):
            raise ConfigurationError(
                "client_id must be a non-empty string of printable ASCII without whitespace"
            )
        if not isinstance(client_secret, str) or not client_secret:
            raise ConfigurationError("client_secret is empty")
        if not _printable(client_secret):
            raise ConfigurationError(
                "client_secret contains whitespace or non-ASCII characters (a stray newline "
                "from a file?)"
            )
        try:
            account = account_scope(region, subdomain)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if isinstance(scopes, str):
            raise ConfigurationError("scopes must be a collection of scope names, not one string")
        wanted: list[str] = []
        for scope in scopes:
            if not _printable(scope):
                raise ConfigurationError(f"OAuth scope {scope!r} is not a scope name")
            if scope.startswith("as_account-"):
                if scope != account:
                    raise ConfigurationError(
                        f"scopes name the account {scope!r}, but subdomain and region give "
                        f"{account!r}; leave the account scope out, it is added"
                    )
                continue
            if scope not in wanted:
                wanted.append(scope)
        if not 0 < renew_after < 1:
            raise ConfigurationError(f"renew_after must be between 0 and 1, got {renew_after!r}")
        return cls(
            client_id=client_id,
            client_secret=client_secret,
            account_scope=account,
            scopes=tuple(sorted(wanted)),
            token_path=token_path,
            renew_after=float(renew_after),
        )

    @property
    def scope(self) -> str:
        """The `scope` parameter: the account scope, then the others, space-separated."""
        return " ".join((self.account_scope, *self.scopes))

    def scrub(self, text: str) -> str:
        return text.replace(self.client_secret, "<redacted>")


def token_request(credentials: ClientCredentials) -> rq.ApiRequest:
    """The client-credentials grant, form-encoded. Asking twice does no harm, so it is retried
    after a lost answer like a read."""
    return rq.ApiRequest(
        method="POST",
        path=credentials.token_path,
        template=credentials.token_path,
        form=(
            ("grant_type", "client_credentials"),
            ("client_id", credentials.client_id),
            ("client_secret", credentials.client_secret),
            ("scope", credentials.scope),
        ),
        idempotent=True,
    )


def _lifetime(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds > 0 and seconds != float("inf") else None


def parse_token(
    request: rq.ApiRequest, response: rq.ApiResponse, credentials: ClientCredentials, now: float
) -> AccessToken:
    """The token of a 2xx answer; `UnexpectedResponse` when it is not a bearer token."""
    body = response.body
    if not isinstance(body, Mapping):
        raise rq.unexpected(request, response, "the token answer is not a JSON object")
    value = body.get("access_token")
    if not _printable(value):
        raise rq.unexpected(request, response, "the token answer has no usable access_token")
    assert isinstance(value, str)
    token_type = body.get("token_type", "bearer")
    if not isinstance(token_type, str) or token_type.lower() != "bearer":
        raise rq.unexpected(request, response, f"token_type {token_type!r} is not bearer")
    expires_in = body.get("expires_in")
    lifetime = _lifetime(expires_in) if expires_in is not None else _ASSUMED_LIFETIME
    if lifetime is None:
        raise rq.unexpected(request, response, f"expires_in {expires_in!r} is not a duration")
    granted = body.get("scope")
    # RFC 6749 5.1: the scope may be left out when it is the one requested.
    scopes = granted.split() if isinstance(granted, str) else [credentials.account_scope]
    if not isinstance(granted, str):
        scopes += credentials.scopes
    return AccessToken(
        value=value,
        scopes=frozenset(scopes),
        expires_in=lifetime,
        obtained_at=now,
        renew_at=now + lifetime * credentials.renew_after,
        expires_at=now + lifetime,
    )


#: OAuth error code -> the exception, and what to check (RFC 6749 section 5.2).
_REFUSALS: Mapping[str, tuple[type[OAuthError], str]] = {
    "invalid_client": (
        InvalidClient,
        "check the client ID and client secret of the PagerDuty app (regenerating the secret "
        "in PagerDuty invalidates the old one)",
    ),
    "invalid_scope": (
        InvalidScope,
        "check that every requested scope ({scopes}) is ticked in the PagerDuty app, and that "
        "{account} names the account: its subdomain (the ACME of ACME.pagerduty.com) and its "
        "region (us or eu)",
    ),
    "invalid_grant": (
        InvalidGrant,
        "check that the PagerDuty app is a Scoped OAuth app of the account {account} (its "
        "subdomain and region)",
    ),
    "unauthorized_client": (
        UnauthorizedClient,
        "check that the PagerDuty app uses Scoped OAuth, which issues tokens for the client "
        "credentials grant",
    ),
    "unsupported_grant_type": (
        UnsupportedGrantType,
        "check the token URL: PagerDuty's is " + DEFAULT_TOKEN_URL,
    ),
    "invalid_request": (
        InvalidTokenRequest,
        "check the client ID, the scopes ({scopes}) and the token URL",
    ),
}


def oauth_error(credentials: ClientCredentials, refused: APIError) -> OAuthError:
    """The token endpoint's 4xx refusal as the `OAuthError` its error code names."""
    body = refused.body if isinstance(refused.body, Mapping) else {}
    code = body.get("error") if isinstance(body.get("error"), str) else None
    description = body.get("error_description")
    description = credentials.scrub(description) if isinstance(description, str) else None
    cls, hint = _REFUSALS.get(code or "", (OAuthError, "check the client ID, secret and scopes"))
    hint = hint.format(scopes=" ".join(credentials.scopes), account=credentials.account_scope)
    text = f"{refused.method} {refused.path}: HTTP {refused.status}"
    text += f", OAuth error {code}" if code else ", no OAuth error code"
    if description:
        text += f": {description}"
    if refused.request_id:
        text += f" [x-request-id {refused.request_id}]"
    error = cls(
        f"PagerDuty refused the OAuth token request ({text}); {hint}",
        error=code,
        description=description,
        hint=hint,
        status=refused.status,
        code=None,
        error_message=description,
        request_id=refused.request_id,
        method=refused.method,
        path=refused.path,
        body=body or None,
    )
    error.attempts = refused.attempts
    return error


def fetch_token(ctx: Context, credentials: ClientCredentials) -> Plan[AccessToken]:
    """Ask for a token: retried on 429, 5xx and lost answers; a 4xx becomes an `OAuthError`."""
    request = token_request(credentials)
    try:
        response = yield from execute(ctx, request)
    except APIError as exc:
        if 400 <= exc.status < 500 and exc.status not in (408, 429):
            raise oauth_error(credentials, exc) from None
        raise
    assert isinstance(response, rq.ApiResponse)
    return parse_token(request, response, credentials, ctx.clock())


class TokenCache:
    """A provider's state: the current token, and the outcome of the latest fetch.

    `fetches` counts finished fetches. A caller notes it before waiting for the provider's lock;
    if it changed by the time the caller holds the lock, another caller fetched meanwhile, and
    `outcome_since` gives that fetch's token or error, so one fetch serves every waiter (a wrong
    secret costs one request, not one per caller).
    """

    __slots__ = ("_failure", "fetches", "token")

    def __init__(self) -> None:
        self.token: AccessToken | None = None
        self.fetches = 0
        self._failure: PagerDutyError | None = None

    def fresh(self, now: float) -> AccessToken | None:
        """The token, if it is not yet due for renewal."""
        token = self.token
        return token if token is not None and token.is_fresh(now) else None

    def valid(self, now: float) -> AccessToken | None:
        """The token, if it has not expired (it may be due for renewal)."""
        token = self.token
        return token if token is not None and not token.is_expired(now) else None

    def outcome_since(self, fetches: int) -> AccessToken | PagerDutyError | None:
        """What the latest fetch gave, if one finished after `fetches` was read."""
        if self.fetches == fetches:
            return None
        return self._failure if self._failure is not None else self.token

    def store(self, token: AccessToken) -> None:
        self.token, self._failure = token, None
        self.fetches += 1

    def fail(self, error: PagerDutyError) -> None:
        self._failure = error
        self.fetches += 1

    def fallback(
        self, error: PagerDutyError, rejected: AccessToken | None, now: float
    ) -> AccessToken:
        """After a failed fetch: the current token if it is still valid, was not refused, and
        the failure was passing (no answer, 5xx, 429), not a refusal; else raise `error`."""
        token = self.valid(now)
        if token is None or token == rejected or isinstance(error, OAuthError):
            raise error
        return token
