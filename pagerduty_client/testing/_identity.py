"""The fake PagerDuty's identity service: Scoped OAuth apps, the token endpoint, issued tokens.

PagerDuty issues app tokens at `POST https://identity.pagerduty.com/oauth/token`; the fake serves
the same endpoint at `POST /oauth/token` on its own server. A token request is form-encoded
(`grant_type=client_credentials`, `client_id`, `client_secret`, `scope`), and `scope` must name
the account (`as_account-<region>.<subdomain>`). The answer grants the requested scopes the app
has (those it lacks are left out), and refusals follow RFC 6749 section 5.2:

    400 invalid_request           no or a non-form body, a missing grant_type
    400 unsupported_grant_type    any grant but client_credentials
    401 invalid_client            a missing, unknown or wrong client ID or secret
    400 invalid_scope             no account scope, another account's, or an unknown scope name

Issued tokens expire after the fake's token lifetime on the fake's clock (`FakeClock` expires
them without waiting). Pure apart from the clock; `_app.FakeApp` holds the lock.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

from pagerduty_client._scope_table import REQUIRED_SCOPE
from pagerduty_client._scopes import account_scope

__all__ = ["FakeIdentity", "IssuedToken", "OAuthApp"]

JSON = dict[str, Any]

#: Every scope name PagerDuty's OpenAPI document knows.
KNOWN_SCOPES = frozenset(scope for scope in REQUIRED_SCOPE.values() if scope is not None)
FORM = "application/x-www-form-urlencoded"


@attrs.frozen(kw_only=True)
class OAuthApp:
    """A registered app: its credentials and the scopes ticked for it (None: every scope)."""

    client_id: str
    client_secret: str = attrs.field(repr=False)
    scopes: frozenset[str] | None


@attrs.frozen(kw_only=True)
class IssuedToken:
    """A token the fake issued: for which app, with which scopes, valid until when (the fake's
    monotonic clock)."""

    value: str = attrs.field(repr=False)
    client_id: str
    scopes: frozenset[str]
    expires_at: float


class TokenRefused(Exception):
    """An RFC 6749 error answer of the token endpoint."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def body(self) -> JSON:
        return {"error": self.error, "error_description": self.description}


class FakeIdentity:
    """The apps, the issued tokens, and the token endpoint's decisions."""

    def __init__(
        self, *, subdomain: str, region: str, clock: Callable[[], float], lifetime: float
    ) -> None:
        self.account_scope = account_scope(region, subdomain)
        self.region = region
        self.subdomain = subdomain
        self.clock = clock
        self.lifetime = lifetime
        self.apps: dict[str, OAuthApp] = {}
        self.tokens: dict[str, IssuedToken] = {}
        #: Bearer tokens given to the constructor: every scope, never expiring.
        self.static_tokens: set[str] = set()

    def add_app(self, client_id: str, client_secret: str, scopes: Iterable[str] | None) -> OAuthApp:
        if not client_id or not client_secret:
            raise ValueError("an OAuth app needs a client ID and a client secret")
        if isinstance(scopes, str):
            raise TypeError("scopes must be a collection of scope names, not one string")
        granted = None if scopes is None else frozenset(scopes)
        unknown = sorted((granted or frozenset()) - KNOWN_SCOPES)
        if unknown:
            raise ValueError(f"unknown PagerDuty OAuth scopes: {', '.join(unknown)}")
        app = OAuthApp(client_id=client_id, client_secret=client_secret, scopes=granted)
        self.apps[client_id] = app
        return app

    def issue(self, content_type: str, body: bytes) -> JSON:
        """The token answer for a token request, or raise `TokenRefused`."""
        if content_type.split(";")[0].strip().lower() != FORM:
            raise TokenRefused(400, "invalid_request", f"the body must be {FORM}")
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
        except (UnicodeDecodeError, ValueError):
            raise TokenRefused(400, "invalid_request", "the body is not form-encoded") from None
        form: dict[str, str] = {}
        for name, value in pairs:
            if name in form:
                raise TokenRefused(400, "invalid_request", f"{name} is repeated")
            form[name] = value
        grant = form.get("grant_type")
        if not grant:
            raise TokenRefused(400, "invalid_request", "grant_type is missing")
        if grant != "client_credentials":
            raise TokenRefused(400, "unsupported_grant_type", f"grant_type {grant} is unsupported")
        app = self.apps.get(form.get("client_id", ""))
        if app is None or form.get("client_secret") != app.client_secret:
            raise TokenRefused(401, "invalid_client", "Client authentication failed")
        scopes = self._grant(app, form.get("scope", ""))
        token = IssuedToken(
            value=f"pdfake+{uuid.uuid4().hex}",
            client_id=app.client_id,
            scopes=scopes,
            expires_at=self.clock() + self.lifetime,
        )
        self.tokens[token.value] = token
        return {
            "access_token": token.value,
            "token_type": "bearer",
            "expires_in": int(self.lifetime)
            if self.lifetime == int(self.lifetime)
            else self.lifetime,
            "scope": " ".join([self.account_scope, *sorted(scopes - {self.account_scope})]),
        }

    def _grant(self, app: OAuthApp, scope: str) -> frozenset[str]:
        requested = scope.split()
        accounts = [s for s in requested if s.startswith("as_account-")]
        if not accounts:
            raise TokenRefused(
                400, "invalid_scope", f"the scope must include the account ({self.account_scope})"
            )
        if any(s != self.account_scope for s in accounts):
            raise TokenRefused(400, "invalid_scope", "the app is not installed in that account")
        wanted = {s for s in requested if not s.startswith("as_account-")}
        unknown = sorted(wanted - KNOWN_SCOPES)
        if unknown:
            raise TokenRefused(400, "invalid_scope", f"unknown scope: {' '.join(unknown)}")
        if app.scopes is not None:
            wanted &= app.scopes  # what the app lacks is left out of the grant
        return frozenset({self.account_scope, *wanted})

    def lookup(self, value: str) -> IssuedToken | None:
        """The issued token, while it has not expired; None when unknown or expired."""
        token = self.tokens.get(value)
        if token is None or self.clock() >= token.expires_at:
            return None
        return token

    def allows(self, value: str, scope: str | None) -> bool | None:
        """Whether a bearer token may call an operation needing `scope`: None when the token
        is unknown or expired (401), False when it lacks the scope (403)."""
        if value in self.static_tokens:
            return True
        token = self.lookup(value)
        if token is None:
            return None
        return scope is None or scope in token.scopes

    def redacted_form(self, body: bytes) -> Mapping[str, str]:
        """A token request's fields for the request log, the client secret blanked out."""
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return {}
        return {k: "<redacted>" if k == "client_secret" else v for k, v in pairs}
