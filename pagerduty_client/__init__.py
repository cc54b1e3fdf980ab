"""Typed, rate-limit-aware client of the PagerDuty REST API v2 (asyncio, with a sync twin).

    from pagerduty_client import AsyncPagerDutyClient

    async with AsyncPagerDutyClient(api_key, user_email="bot@example.com") as pd:
        user = await pd.find_user_by_email("alice@example.com")

With Scoped OAuth instead of an API key:

    auth = AsyncOAuthTokenProvider(client_id, client_secret, subdomain="acme", region="us",
                                   scopes=required_scopes(["check_on_call", "create_incident"]))
    async with AsyncPagerDutyClient(auth=auth, user_email="bot@example.com") as pd:
        ...

`pagerduty_client.testing` ships a fake PagerDuty (in-process transport or loopback HTTP(S)
server, with the OAuth token endpoint). See docs/pagerduty-client.md.

The public names are imported on first use (PEP 562), so the models, the exceptions and the
scope table (`required_scopes`) load without httpx; the clients bring it in when first touched.
Type checkers read the imports in the `TYPE_CHECKING` block.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pagerduty_client._client import AsyncOAuthTokenProvider, AsyncPagerDutyClient
    from pagerduty_client._exceptions import (
        APIError,
        ConfigurationError,
        Conflict,
        Forbidden,
        InvalidClient,
        InvalidGrant,
        InvalidRequest,
        InvalidScope,
        InvalidTokenRequest,
        NotFound,
        OAuthError,
        PagerDutyError,
        PaginationLimitError,
        PaymentRequired,
        RateLimited,
        RequestTimeout,
        ServerError,
        TransportError,
        TransportTimeout,
        Unauthorized,
        UnauthorizedClient,
        UnexpectedResponse,
        UnsupportedGrantType,
    )
    from pagerduty_client._models import (
        Assignment,
        EscalationPolicy,
        EscalationRule,
        Incident,
        Note,
        NotOnCallReason,
        OnCall,
        OnCallCheck,
        OnCallMatch,
        Reference,
        Service,
        User,
    )
    from pagerduty_client._oauth import DEFAULT_TOKEN_URL, AccessToken
    from pagerduty_client._retry import RetryPolicy
    from pagerduty_client._scopes import (
        CLIENT_OPERATIONS,
        CLIENT_SCOPES,
        account_scope,
        is_operation_limited,
        required_scope,
        required_scopes,
    )
    from pagerduty_client._sync import OAuthTokenProvider, PagerDutyClient
    from pagerduty_client._transport import (
        DEFAULT_BASE_URL,
        EU_BASE_URL,
        USER_AGENT,
        CallAttempt,
        CallObserver,
        CallRetry,
    )
    from pagerduty_client._version import __version__

#: The private module that defines each public name (the `TYPE_CHECKING` imports, as data).
_LAZY: dict[str, tuple[str, ...]] = {
    "_client": (
        "AsyncOAuthTokenProvider",
        "AsyncPagerDutyClient",
    ),
    "_exceptions": (
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
    ),
    "_models": (
        "Assignment",
        "EscalationPolicy",
        "EscalationRule",
        "Incident",
        "Note",
        "NotOnCallReason",
        "OnCall",
        "OnCallCheck",
        "OnCallMatch",
        "Reference",
        "Service",
        "User",
    ),
    "_oauth": (
        "DEFAULT_TOKEN_URL",
        "AccessToken",
    ),
    "_retry": ("RetryPolicy",),
    "_scopes": (
        "CLIENT_OPERATIONS",
        "CLIENT_SCOPES",
        "account_scope",
        "is_operation_limited",
        "required_scope",
        "required_scopes",
    ),
    "_sync": (
        "OAuthTokenProvider",
        "PagerDutyClient",
    ),
    "_transport": (
        "DEFAULT_BASE_URL",
        "EU_BASE_URL",
        "USER_AGENT",
        "CallAttempt",
        "CallObserver",
        "CallRetry",
    ),
    "_version": ("__version__",),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

# Plain sorted() order (tests/test_project.py checks it), constants among the classes.
__all__ = [  # noqa: RUF022
    "APIError",
    "AccessToken",
    "Assignment",
    "AsyncOAuthTokenProvider",
    "AsyncPagerDutyClient",
    "CLIENT_OPERATIONS",
    "CLIENT_SCOPES",
    "CallAttempt",
    "CallObserver",
    "CallRetry",
    "ConfigurationError",
    "Conflict",
    "DEFAULT_BASE_URL",
    "DEFAULT_TOKEN_URL",
    "EU_BASE_URL",
    "EscalationPolicy",
    "EscalationRule",
    "Forbidden",
    "Incident",
    "InvalidClient",
    "InvalidGrant",
    "InvalidRequest",
    "InvalidScope",
    "InvalidTokenRequest",
    "NotFound",
    "NotOnCallReason",
    "Note",
    "OAuthError",
    "OAuthTokenProvider",
    "OnCall",
    "OnCallCheck",
    "OnCallMatch",
    "PagerDutyClient",
    "PagerDutyError",
    "PaginationLimitError",
    "PaymentRequired",
    "RateLimited",
    "Reference",
    "RequestTimeout",
    "RetryPolicy",
    "ServerError",
    "Service",
    "TransportError",
    "TransportTimeout",
    "USER_AGENT",
    "Unauthorized",
    "UnauthorizedClient",
    "UnexpectedResponse",
    "UnsupportedGrantType",
    "User",
    "__version__",
    "account_scope",
    "is_operation_limited",
    "required_scope",
    "required_scopes",
]


if not TYPE_CHECKING:  # hidden from type checkers, which would otherwise accept any name

    def __getattr__(name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later look-ups find it without coming here
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
