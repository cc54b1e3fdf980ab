"""The token exchange without I/O (`pagerduty_client._oauth`): the request, the answer, refusals,
and the token cache's decisions."""

from __future__ import annotations

from typing import Any

import pytest

from pagerduty_client import (
    AccessToken,
    ConfigurationError,
    InvalidClient,
    InvalidScope,
    OAuthError,
    ServerError,
    TransportError,
    UnexpectedResponse,
)
from pagerduty_client import _requests as rq
from pagerduty_client._oauth import (
    ClientCredentials,
    TokenCache,
    oauth_error,
    parse_token,
    token_request,
)

SECRET = "cl1ent-s3cret-xyz"


def credentials(**overrides: Any) -> ClientCredentials:
    arguments: dict[str, Any] = {
        "subdomain": "acme",
        "region": "us",
        "scopes": ["users.read", "incidents.write"],
        "token_path": "/oauth/token",
    }
    arguments.update(overrides)
    return ClientCredentials.create("client-1", SECRET, **arguments)


def answer(status: int, body: Any, request_id: str | None = "req-1") -> rq.ApiResponse:
    return rq.ApiResponse(status=status, headers={}, body=body, request_id=request_id)


def token(value: str = "tok", now: float = 0.0, lifetime: float = 100.0) -> AccessToken:
    return AccessToken(
        value=value,
        scopes=frozenset({"users.read"}),
        expires_in=lifetime,
        obtained_at=now,
        renew_at=now + 0.8 * lifetime,
        expires_at=now + lifetime,
    )


def test_the_request_is_the_form_encoded_client_credentials_grant_with_the_account_first() -> None:
    request = token_request(credentials())
    assert (request.method, request.path, request.idempotent) == ("POST", "/oauth/token", True)
    assert request.form == (
        ("grant_type", "client_credentials"),
        ("client_id", "client-1"),
        ("client_secret", SECRET),
        ("scope", "as_account-us.acme incidents.write users.read"),
    )


def test_neither_the_credentials_nor_the_request_show_the_secret() -> None:
    assert SECRET not in repr(credentials())
    assert SECRET not in repr(token_request(credentials()))


def test_the_account_scope_given_among_the_scopes_must_be_the_accounts() -> None:
    assert credentials(scopes=["as_account-us.acme", "users.read"]).scopes == ("users.read",)
    with pytest.raises(ConfigurationError, match=r"'as_account-eu\.acme'"):
        credentials(scopes=["as_account-eu.acme"])


@pytest.mark.parametrize(
    ("client_id", "secret", "overrides", "problem"),
    [
        ("", SECRET, {}, "client_id must be"),
        ("client-1", "", {}, "client_secret is empty"),
        ("client-1", SECRET + "\n", {}, "stray newline"),
        ("client-1", SECRET, {"subdomain": "acme.pagerduty.com"}, "not a PagerDuty account"),
        ("client-1", SECRET, {"region": "ap"}, "region must be"),
        ("client-1", SECRET, {"scopes": "users.read"}, "not one string"),
        ("client-1", SECRET, {"scopes": ["users read"]}, "is not a scope name"),
        ("client-1", SECRET, {"renew_after": 1.0}, "renew_after must be between 0 and 1"),
    ],
)
def test_bad_credentials_are_refused_without_echoing_the_secret(
    client_id: str, secret: str, overrides: dict[str, Any], problem: str
) -> None:
    arguments: dict[str, Any] = {
        "subdomain": "acme",
        "region": "us",
        "scopes": [],
        "token_path": "/oauth/token",
        **overrides,
    }
    with pytest.raises(ConfigurationError, match=problem) as caught:
        ClientCredentials.create(client_id, secret, **arguments)
    assert SECRET not in str(caught.value)


def test_a_granted_token_carries_its_scopes_and_renews_at_80_percent_of_its_life() -> None:
    body = {
        "access_token": "pdus+abc",
        "token_type": "bearer",
        "expires_in": 3600,
        "scope": "as_account-us.acme users.read",
    }
    parsed = parse_token(token_request(credentials()), answer(200, body), credentials(), 10.0)
    assert parsed.authorization == "Bearer pdus+abc"
    assert parsed.scopes == {"as_account-us.acme", "users.read"}
    assert (parsed.renew_at, parsed.expires_at) == (10.0 + 2880.0, 10.0 + 3600.0)
    assert parsed.missing(["users.read", "incidents.write"]) == {"incidents.write"}
    assert "pdus+abc" not in repr(parsed)


def test_an_answer_without_a_scope_grants_what_was_asked() -> None:
    body = {"access_token": "pdus+abc", "token_type": "Bearer", "expires_in": 60}
    parsed = parse_token(token_request(credentials()), answer(200, body), credentials(), 0.0)
    assert parsed.scopes == {"as_account-us.acme", "users.read", "incidents.write"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ([], "not a JSON object"),
        ({"token_type": "bearer", "expires_in": 1}, "no usable access_token"),
        ({"access_token": "a b", "expires_in": 1}, "no usable access_token"),
        ({"access_token": "abc", "token_type": "mac", "expires_in": 1}, "'mac' is not bearer"),
        ({"access_token": "abc", "expires_in": -5}, "-5 is not a duration"),
        ({"access_token": "abc", "expires_in": True}, "True is not a duration"),
    ],
)
def test_an_answer_that_is_not_a_bearer_token_is_unexpected(body: Any, problem: str) -> None:
    with pytest.raises(UnexpectedResponse, match=problem):
        parse_token(token_request(credentials()), answer(200, body), credentials(), 0.0)


def refusal(status: int, body: Any) -> OAuthError:
    request = token_request(credentials())
    return oauth_error(credentials(), rq.api_error(request, answer(status, body)))


def test_invalid_client_says_to_check_the_client_id_and_secret() -> None:
    error = refusal(401, {"error": "invalid_client", "error_description": "bad client"})
    assert isinstance(error, InvalidClient)
    assert (error.status, error.error, error.description) == (401, "invalid_client", "bad client")
    assert str(error) == (
        "PagerDuty refused the OAuth token request (POST /oauth/token: HTTP 401, OAuth error "
        "invalid_client: bad client [x-request-id req-1]); check the client ID and client secret "
        "of the PagerDuty app (regenerating the secret in PagerDuty invalidates the old one)"
    )


def test_invalid_scope_names_the_scopes_and_the_account_to_check() -> None:
    error = refusal(400, {"error": "invalid_scope"})
    assert isinstance(error, InvalidScope)
    assert "(incidents.write users.read) is ticked in the PagerDuty app" in str(error)
    assert "as_account-us.acme names the account" in str(error)


def test_an_answer_without_an_error_code_is_a_plain_oauth_error() -> None:
    error = refusal(403, {"message": "nope"})
    assert type(error) is OAuthError
    assert error.error is None
    assert "no OAuth error code" in str(error)


def test_a_description_that_quotes_the_secret_is_scrubbed() -> None:
    error = refusal(401, {"error": "invalid_client", "error_description": f"bad {SECRET}"})
    assert SECRET not in str(error)
    assert error.description == "bad <redacted>"


def test_a_fresh_token_is_served_from_the_cache_until_it_is_due() -> None:
    cache = TokenCache()
    assert cache.fresh(0.0) is None
    current = token()
    cache.store(current)
    assert cache.fresh(79.9) is current
    assert cache.fresh(80.0) is None
    assert cache.valid(99.9) is current
    assert cache.valid(100.0) is None


def test_a_waiter_is_given_the_outcome_of_a_fetch_that_ended_while_it_waited() -> None:
    cache = TokenCache()
    seen = cache.fetches
    assert cache.outcome_since(seen) is None
    failure = TransportError("no answer")
    cache.fail(failure)
    assert cache.outcome_since(seen) is failure
    seen = cache.fetches
    current = token()
    cache.store(current)
    assert cache.outcome_since(seen) is current


def test_a_passing_failure_falls_back_to_a_token_that_is_still_valid() -> None:
    cache = TokenCache()
    current = token()
    cache.store(current)
    assert cache.fallback(ServerError("HTTP 503", status=503), None, 90.0) is current


@pytest.mark.parametrize(
    ("error", "rejected", "now"),
    [
        (InvalidClient("refused", status=401), None, 90.0),  # a refusal is not passing
        (TransportError("no answer"), "same", 90.0),  # PagerDuty refused this token
        (TransportError("no answer"), None, 100.0),  # expired
    ],
)
def test_no_fallback_after_a_refusal_for_a_refused_or_an_expired_token(
    error: Exception, rejected: str | None, now: float
) -> None:
    cache = TokenCache()
    current = token()
    cache.store(current)
    with pytest.raises(type(error)):
        cache.fallback(error, current if rejected else None, now)  # type: ignore[arg-type]
