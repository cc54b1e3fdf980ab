"""Progress of one catch-up: the listing's events handled, then the sweep's, then done.

After every connect the watcher lists the existing requests and delivers them as reconciled
events (its `ReconcileStats` says how many). The daemon wants to know when those have all been
handled: then it sweeps the plugin data for what only the plugin data remembers (requests
deleted while tpd was down, interrupted resolutions), hands those to the dispatcher too, and once
they are handled the catch-up is over (`Daemon.caught_up`, the "Caught up" log line).

`CatchUp` is that bookkeeping, without I/O: the dispatcher hands each accepted event's context
back when it finishes, and a catch-up's events carry the `CatchUp` itself as their context, so
counting is all there is to it. A newer catch-up (after a reconnect) replaces an older one; the
daemon ignores events of a replaced one.
"""

from __future__ import annotations

import enum

import attrs

from teleport_access import AccessRequestEvent, ReconcileStats

__all__ = ["CatchUp", "Phase"]


class Phase(enum.Enum):
    #: The listing's events are being handled.
    LISTING = "listing"
    #: The listing's events are handled; the sweep is reading the plugin data.
    SWEEPING = "sweeping"
    #: The sweep found its events; they are being handled.
    SWEPT = "swept"
    #: Everything is handled.
    DONE = "done"


@attrs.define(eq=False)
class CatchUp:
    """One catch-up's progress; see the module docstring."""

    #: The first catch-up of the process (logged at INFO; later ones at DEBUG).
    first: bool
    #: Listing events the watcher has yet to deliver.
    expected: int
    #: Delivered events (of the listing, then of the sweep) not finished yet.
    unfinished: int = 0
    phase: Phase = Phase.LISTING
    #: Listing events finished, and events the sweep found.
    handled: int = 0
    swept: int = 0

    @classmethod
    def begin(cls, stats: ReconcileStats, *, first: bool) -> CatchUp:
        return cls(first=first, expected=stats.puts + stats.deletes)

    def claim(self, event: AccessRequestEvent) -> bool:
        """Whether `event`, delivered by the watcher, is one of this catch-up's listing events
        (then it is counted until it finishes)."""
        if self.phase is not Phase.LISTING or self.expected <= 0 or not event.reconciled:
            return False
        self.expected -= 1
        self.unfinished += 1
        return True

    def finished(self) -> None:
        """One of this catch-up's events finished (whatever its outcome)."""
        self.unfinished -= 1
        if self.phase is Phase.LISTING:
            self.handled += 1

    @property
    def listing_handled(self) -> bool:
        """The listing's events are all delivered and finished: time to sweep."""
        return self.phase is Phase.LISTING and self.expected <= 0 and self.unfinished <= 0

    def sweep_started(self) -> None:
        self.phase = Phase.SWEEPING

    def sweep_found(self, count: int) -> None:
        """The sweep hands `count` events to the dispatcher, each with this catch-up as context."""
        self.phase = Phase.SWEPT
        self.swept = count
        self.unfinished += count

    @property
    def complete(self) -> bool:
        """The sweep's events are handled too (newly: the phase is still SWEPT)."""
        return self.phase is Phase.SWEPT and self.unfinished <= 0

    def close(self) -> None:
        self.phase = Phase.DONE
