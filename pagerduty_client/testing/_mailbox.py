"""A FIFO of events that can be awaited from any event loop, or waited on from any thread.

The fake's core may run in a server thread while a test awaits `next_incident()` on its own loop
(or the other way round), so waking a waiter goes through `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from typing import Generic, TypeVar

__all__ = ["Mailbox"]

T = TypeVar("T")


class Mailbox(Generic[T]):
    def __init__(self, what: str) -> None:
        self.what = what
        self._items: deque[T] = deque()
        self._lock = threading.Lock()
        self._condition = threading.Condition(self._lock)
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def put(self, item: T) -> None:
        with self._lock:
            self._items.append(item)
            waiters, self._waiters = self._waiters, []
            self._condition.notify_all()
        for loop, future in waiters:
            with contextlib.suppress(RuntimeError):  # that loop closed: its waiter is gone
                loop.call_soon_threadsafe(_wake, future)

    def pending(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    async def get(self, timeout: float | None) -> T:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            with self._lock:
                if self._items:
                    return self._items.popleft()
                future: asyncio.Future[None] = loop.create_future()
                self._waiters.append((loop, future))
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                raise TimeoutError(f"no {self.what} within {timeout:g}s")
            try:
                await asyncio.wait_for(future, remaining)
            except TimeoutError:
                with self._lock:
                    self._waiters = [(lp, f) for lp, f in self._waiters if f is not future]
                    if self._items:
                        return self._items.popleft()
                raise TimeoutError(f"no {self.what} within {timeout:g}s") from None

    def get_blocking(self, timeout: float | None) -> T:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while not self._items:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"no {self.what} within {timeout:g}s")
                self._condition.wait(remaining)
            return self._items.popleft()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
