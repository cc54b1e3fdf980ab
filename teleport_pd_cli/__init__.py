"""The `tpd` plugin: Teleport access requests to PagerDuty incidents and on-call approvals."""

from teleport_pd_cli._version import __version__

__all__ = ["__version__"]
