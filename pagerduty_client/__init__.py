"""Typed, rate-limit-aware client of the PagerDuty REST API v2 (asyncio, with a sync twin).

    from pagerduty_client import AsyncPagerDutyClient

    async with AsyncPagerDutyClient(api_key, user_email="bot@example.com") as pd:
        user = await pd.find_user_by_email("alice@example.com")

`pagerduty_client.testing` ships a fake PagerDuty (in-process transport or loopback HTTP server).
See docs/pagerduty-client.md.
"""

from pagerduty_client._client import AsyncPagerDutyClient
from pagerduty_client._exceptions import (
    APIError,
    ConfigurationError,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    PagerDutyError,
    PaginationLimitError,
    PaymentRequired,
    RateLimited,
    RequestTimeout,
    ServerError,
    TransportError,
    TransportTimeout,
    Unauthorized,
    UnexpectedResponse,
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
from pagerduty_client._retry import RetryPolicy
from pagerduty_client._sync import PagerDutyClient
from pagerduty_client._transport import (
    DEFAULT_BASE_URL,
    EU_BASE_URL,
    USER_AGENT,
    CallAttempt,
    CallObserver,
    CallRetry,
)
from pagerduty_client._version import __version__

# Plain sorted() order (tests/test_project.py checks it), constants among the classes.
__all__ = [  # noqa: RUF022
    "APIError",
    "Assignment",
    "AsyncPagerDutyClient",
    "CallAttempt",
    "CallObserver",
    "CallRetry",
    "ConfigurationError",
    "Conflict",
    "DEFAULT_BASE_URL",
    "EU_BASE_URL",
    "EscalationPolicy",
    "EscalationRule",
    "Forbidden",
    "Incident",
    "InvalidRequest",
    "NotFound",
    "NotOnCallReason",
    "Note",
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
    "UnexpectedResponse",
    "User",
    "__version__",
]
