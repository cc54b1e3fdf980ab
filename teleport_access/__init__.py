"""Typed asyncio client of the Teleport Auth Service for access-request automation."""

from teleport_access._backoff import Backoff, DecorrelatedJitter
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
from teleport_access._version import __version__
from teleport_access._watcher import (
    AccessRequestWatcher,
    ReconcileStats,
    WatcherOptions,
    WatchSource,
    watch_access_requests,
)

__all__ = [
    "AccessRequestWatcher",
    "Backoff",
    "DecorrelatedJitter",
    "DispatchOutcome",
    "Dispatcher",
    "HandledEvent",
    "Identity",
    "IdentitySource",
    "ReconcileStats",
    "RefreshingIdentityFile",
    "ShutdownReport",
    "StaticIdentity",
    "WatchSource",
    "WatcherOptions",
    "__version__",
    "load_identity_file",
    "load_tls_files",
    "parse_identity_file",
    "watch_access_requests",
]
