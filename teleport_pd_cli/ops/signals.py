"""Signals for `tpd run`: SIGTERM and SIGINT stop gracefully; a second SIGINT exits at once.

As the Go plugin: the first SIGTERM or SIGINT asks the daemon to stop taking events and finish
those in flight (up to `[tpd] shutdown_grace`); a second SIGINT (an impatient Ctrl-C) ends the
process immediately with status 130. Later SIGTERMs are ignored: a service manager that wants
the process gone sooner sends SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["install_stop_signals"]

logger = logging.getLogger(__name__)

#: Exit status after a second SIGINT (128 + SIGINT, what shells report for Ctrl-C).
FORCED_EXIT_STATUS = 130


def _exit_now(status: int) -> None:
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):  # best effort before a hard exit
            handler.flush()
    sys.stderr.flush()
    os._exit(status)


def _forward(
    loop: asyncio.AbstractEventLoop, on_signal: Callable[[str], None], name: str
) -> Callable[[int, object], None]:
    def handler(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(on_signal, name)

    return handler


def install_stop_signals(
    loop: asyncio.AbstractEventLoop,
    request_stop: Callable[[], None],
    *,
    exit_now: Callable[[int], None] = _exit_now,
) -> Callable[[], None]:
    """Route SIGTERM and SIGINT to `request_stop` (and a second SIGINT to `exit_now(130)`).

    Returns a function that restores the previous handlers.
    """
    count = {"SIGINT": 0, "SIGTERM": 0}

    def on_signal(name: str) -> None:
        count[name] += 1
        total = count["SIGINT"] + count["SIGTERM"]
        if name == "SIGINT" and count["SIGINT"] > 1:
            logger.warning("Received a second SIGINT: exiting at once")
            exit_now(FORCED_EXIT_STATUS)
            return
        if total > 1:
            logger.info("Received %s again: already shutting down", name)
            return
        hint = " (press Ctrl-C again to exit at once)" if name == "SIGINT" else ""
        logger.info("Received %s: shutting down gracefully%s", name, hint)
        request_stop()

    installed: list[signal.Signals] = []
    previous: dict[signal.Signals, object] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        # asyncio.run's own SIGINT handler among them: put back afterwards.
        before = signal.getsignal(sig)
        try:
            loop.add_signal_handler(sig, on_signal, sig.name)
            installed.append(sig)
            previous[sig] = before
        except NotImplementedError:  # not Unix: a plain handler that hops onto the loop
            previous[sig] = signal.signal(sig, _forward(loop, on_signal, sig.name))
        except RuntimeError:  # not the main thread: whoever runs us handles signals
            logger.debug("Not in the main thread: %s is left to the embedding program", sig.name)

    def restore() -> None:
        for sig in installed:
            loop.remove_signal_handler(sig)
        for sig, handler in previous.items():
            if handler is not None:
                signal.signal(sig, handler)  # type: ignore[arg-type]

    return restore
