"""The `tpd run` daemon: the Teleport watcher and PagerDuty driven by the policy."""

from teleport_pd_cli.daemon._daemon import (
    Daemon,
    DaemonEvent,
    DaemonStats,
    Health,
    StartupAborted,
    StartupError,
    run_daemon,
)

__all__ = [
    "Daemon",
    "DaemonEvent",
    "DaemonStats",
    "Health",
    "StartupAborted",
    "StartupError",
    "run_daemon",
]
