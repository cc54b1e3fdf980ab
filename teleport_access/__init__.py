"""Typed asyncio client of the Teleport Auth Service for access-request automation."""

from teleport_access._credentials import (
    Identity,
    IdentitySource,
    RefreshingIdentityFile,
    StaticIdentity,
    load_identity_file,
    load_tls_files,
    parse_identity_file,
)
from teleport_access._version import __version__

__all__ = [
    "Identity",
    "IdentitySource",
    "RefreshingIdentityFile",
    "StaticIdentity",
    "__version__",
    "load_identity_file",
    "load_tls_files",
    "parse_identity_file",
]
