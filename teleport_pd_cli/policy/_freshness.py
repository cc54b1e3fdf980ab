"""Which version of a request to act on: the newest one seen, never an older one.

Events reach the daemon out of order (retries, repair events, catch-up listings racing the
stream), and acting on a stale version could move a request back: a PENDING snapshot of a request
that was already resolved would open an incident nothing resolves. `RequestStates` remembers the
newest version of every request seen and the ids of requests seen deleted, and answers with the
version to act on (`AccessRequest.is_older_than` decides what is older). Pure bookkeeping.
"""

from __future__ import annotations

from teleport_access._models import AccessRequest
from teleport_pd_cli.policy._repair import Remembered

__all__ = ["REMEMBERED", "RequestStates"]

#: How many deleted request ids (and, elsewhere, verified incidents) are remembered. Forgetting
#: one costs at most a repeated check, and 10,000 keeps the process well under 100 MB.
REMEMBERED = 10_000


class RequestStates:
    """The newest version of each request seen, and the ids of requests seen deleted."""

    def __init__(self, *, max_deleted: int = REMEMBERED) -> None:
        self._latest: dict[str, AccessRequest] = {}
        self._deleted: Remembered[str] = Remembered(max_deleted)

    def observe_put(self, request: AccessRequest) -> AccessRequest | None:
        """The version to act on for this update (the newest known), or None when the request
        was already seen deleted (a late echo)."""
        if request.id in self._deleted:
            return None
        known = self._latest.get(request.id)
        if known is not None and request.is_older_than(known):
            return known
        self._latest[request.id] = request
        return request

    def observe_delete(self, request_id: str) -> AccessRequest | None:
        """Forget the request's state; returns the newest version seen before, if any."""
        known = self._latest.pop(request_id, None)
        self._deleted.add(request_id)
        return known

    def latest(self, request_id: str) -> AccessRequest | None:
        return self._latest.get(request_id)

    def is_deleted(self, request_id: str) -> bool:
        return request_id in self._deleted

    def knows(self, request_id: str) -> bool:
        return request_id in self._latest or request_id in self._deleted

    def __len__(self) -> int:
        return len(self._latest)
