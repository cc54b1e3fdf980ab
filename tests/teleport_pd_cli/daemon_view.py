"""A stand-in for the daemon as ops sees it (`ops.metrics.DaemonView`): the real `Observer` and
`Health`, with start-up, shutdown and the dispatcher's counts set by the test."""

from __future__ import annotations

import time
from collections.abc import Callable

from teleport_pd_cli.daemon.events import DaemonEvent, Observer, WatcherConnected
from teleport_pd_cli.daemon.health import Health


class FakeDaemon:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.started = False
        self.stopping = False
        self.in_flight = 0
        self.queued = 0
        self.rules_cached = 0
        self._observer = Observer()
        self.health = Health(
            started=lambda: self.started, stopping=lambda: self.stopping, clock=clock
        )
        self._observer.subscribe(self.health.on_event)

    def subscribe(self, listener: Callable[[DaemonEvent], object]) -> Callable[[], None]:
        return self._observer.subscribe(listener)

    def emit(self, *events: DaemonEvent) -> None:
        for event in events:
            self._observer.emit(event)

    def make_ready(self) -> None:
        """Started, the watch stream connected, PagerDuty answered."""
        self.started = True
        self.emit(WatcherConnected(connections=1))
        self.health.record_pagerduty(True)
