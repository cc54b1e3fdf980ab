"""Typed asyncio client of the Teleport Auth Service for access-request automation."""

from teleport_access._version import __version__

__all__ = ["__version__"]
