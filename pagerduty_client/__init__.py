"""Typed, rate-limit-aware client of the PagerDuty REST API v2."""

from pagerduty_client._version import __version__

__all__ = ["__version__"]
