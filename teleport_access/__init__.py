"""Typed asyncio client of the Teleport Auth Service for access-request automation.

The public names below are imported on first use (PEP 562), so importing the package, its models
(`from teleport_access import AccessRequest`) or `teleport_access.where` loads neither grpc nor
cryptography; `AuthClient` and the other I/O classes bring them in when first touched. Type
checkers and IDEs read the imports in the `TYPE_CHECKING` block.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from teleport_access._backoff import Backoff, DecorrelatedJitter
    from teleport_access._client import AuthClient
    from teleport_access._credentials import (
        Identity,
        IdentitySource,
        RefreshingIdentityFile,
        StaticIdentity,
        load_identity_file,
        load_tls_files,
        parse_identity_file,
    )
    from teleport_access._dispatch import Dispatcher, DispatchOutcome, HandledEvent, ShutdownReport
    from teleport_access._exceptions import (
        AccessDenied,
        AlreadyExists,
        AlreadyResolved,
        AlreadyReviewed,
        APIError,
        BadParameter,
        CompareFailed,
        ConnectionProblem,
        CredentialsError,
        CredentialsExpired,
        LimitExceeded,
        NotFound,
        NotImplementedByServer,
        TeleportError,
    )
    from teleport_access._httpproxy import HTTPProxy
    from teleport_access._models import (
        AccessMonitoringRule,
        AccessMonitoringRuleDelete,
        AccessMonitoringRuleFilter,
        AccessMonitoringRulePut,
        AccessMonitoringRulesListed,
        AccessRequest,
        AccessRequestDelete,
        AccessRequestEvent,
        AccessRequestFilter,
        AccessRequestPut,
        AccessReview,
        AccessReviewThreshold,
        AutomaticReview,
        ClaimMapping,
        Labels,
        Notification,
        PluginData,
        RequestConditions,
        RequestState,
        ReviewConditions,
        Role,
        RoleConditions,
        RuleEvent,
        Schedule,
        ServerInfo,
        Shift,
        TimeSchedule,
        User,
        WatchInit,
        WatchMessage,
    )
    from teleport_access._plugindata import CasResult, PluginDataClient, modify_plugin_data
    from teleport_access._route import ConnectOptions, Route, RouteKind
    from teleport_access._sync import SyncAuthClient
    from teleport_access._version import __version__
    from teleport_access._watcher import (
        AccessRequestWatcher,
        ReconcileStats,
        WatcherOptions,
        WatchSource,
        watch_access_requests,
    )

#: The private module that defines each public name (the `TYPE_CHECKING` imports, as data).
_LAZY: dict[str, tuple[str, ...]] = {
    "_backoff": ("Backoff", "DecorrelatedJitter"),
    "_client": ("AuthClient",),
    "_credentials": (
        "Identity",
        "IdentitySource",
        "RefreshingIdentityFile",
        "StaticIdentity",
        "load_identity_file",
        "load_tls_files",
        "parse_identity_file",
    ),
    "_dispatch": ("Dispatcher", "DispatchOutcome", "HandledEvent", "ShutdownReport"),
    "_exceptions": (
        "AccessDenied",
        "AlreadyExists",
        "AlreadyResolved",
        "AlreadyReviewed",
        "APIError",
        "BadParameter",
        "CompareFailed",
        "ConnectionProblem",
        "CredentialsError",
        "CredentialsExpired",
        "LimitExceeded",
        "NotFound",
        "NotImplementedByServer",
        "TeleportError",
    ),
    "_httpproxy": ("HTTPProxy",),
    "_models": (
        "AccessMonitoringRule",
        "AccessMonitoringRuleDelete",
        "AccessMonitoringRuleFilter",
        "AccessMonitoringRulePut",
        "AccessMonitoringRulesListed",
        "AccessRequest",
        "AccessRequestDelete",
        "AccessRequestEvent",
        "AccessRequestFilter",
        "AccessRequestPut",
        "AccessReview",
        "AccessReviewThreshold",
        "AutomaticReview",
        "ClaimMapping",
        "Labels",
        "Notification",
        "PluginData",
        "RequestConditions",
        "RequestState",
        "ReviewConditions",
        "Role",
        "RoleConditions",
        "RuleEvent",
        "Schedule",
        "ServerInfo",
        "Shift",
        "TimeSchedule",
        "User",
        "WatchInit",
        "WatchMessage",
    ),
    "_plugindata": ("CasResult", "PluginDataClient", "modify_plugin_data"),
    "_route": ("ConnectOptions", "Route", "RouteKind"),
    "_sync": ("SyncAuthClient",),
    "_version": ("__version__",),
    "_watcher": (
        "AccessRequestWatcher",
        "ReconcileStats",
        "WatcherOptions",
        "WatchSource",
        "watch_access_requests",
    ),
}
_MODULE_OF = {name: module for module, names in _LAZY.items() for name in names}

__all__ = [
    "APIError",
    "AccessDenied",
    "AccessMonitoringRule",
    "AccessMonitoringRuleDelete",
    "AccessMonitoringRuleFilter",
    "AccessMonitoringRulePut",
    "AccessMonitoringRulesListed",
    "AccessRequest",
    "AccessRequestDelete",
    "AccessRequestEvent",
    "AccessRequestFilter",
    "AccessRequestPut",
    "AccessRequestWatcher",
    "AccessReview",
    "AccessReviewThreshold",
    "AlreadyExists",
    "AlreadyResolved",
    "AlreadyReviewed",
    "AuthClient",
    "AutomaticReview",
    "Backoff",
    "BadParameter",
    "CasResult",
    "ClaimMapping",
    "CompareFailed",
    "ConnectOptions",
    "ConnectionProblem",
    "CredentialsError",
    "CredentialsExpired",
    "DecorrelatedJitter",
    "DispatchOutcome",
    "Dispatcher",
    "HTTPProxy",
    "HandledEvent",
    "Identity",
    "IdentitySource",
    "Labels",
    "LimitExceeded",
    "NotFound",
    "NotImplementedByServer",
    "Notification",
    "PluginData",
    "PluginDataClient",
    "ReconcileStats",
    "RefreshingIdentityFile",
    "RequestConditions",
    "RequestState",
    "ReviewConditions",
    "Role",
    "RoleConditions",
    "Route",
    "RouteKind",
    "RuleEvent",
    "Schedule",
    "ServerInfo",
    "Shift",
    "ShutdownReport",
    "StaticIdentity",
    "SyncAuthClient",
    "TeleportError",
    "TimeSchedule",
    "User",
    "WatchInit",
    "WatchMessage",
    "WatchSource",
    "WatcherOptions",
    "__version__",
    "load_identity_file",
    "load_tls_files",
    "modify_plugin_data",
    "parse_identity_file",
    "watch_access_requests",
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
