"""The `tpd run` daemon: the Teleport watcher and PagerDuty driven by the policy."""

from teleport_pd_cli.daemon._daemon import (
    Daemon,
    DaemonEvent,
    StartupAborted,
    StartupError,
)
from teleport_pd_cli.daemon.health import Health, Readiness

__all__ = [
    "Daemon",
    "DaemonEvent",
    "Health",
    "Readiness",
    "StartupAborted",
    "StartupError",
]
