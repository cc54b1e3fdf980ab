"""Signals: the first SIGTERM/SIGINT stops gracefully, a second SIGINT exits at once."""

from __future__ import annotations

import asyncio
import os
import signal

from teleport_pd_cli.ops.signals import FORCED_EXIT_STATUS, install_stop_signals


class Recorder:
    def __init__(self) -> None:
        self.stops = 0
        self.exits: list[int] = []
        self.changed = asyncio.Event()

    def stop(self) -> None:
        self.stops += 1
        self.changed.set()

    def exit(self, status: int) -> None:
        self.exits.append(status)
        self.changed.set()


async def _signal(recorder: Recorder, sig: signal.Signals) -> None:
    recorder.changed.clear()
    os.kill(os.getpid(), sig)
    await asyncio.wait_for(recorder.changed.wait(), 5.0)


async def test_sigterm_asks_for_a_graceful_stop_once() -> None:
    recorder = Recorder()
    restore = install_stop_signals(
        asyncio.get_running_loop(), recorder.stop, exit_now=recorder.exit
    )
    try:
        await _signal(recorder, signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGTERM)  # ignored: already stopping
        await asyncio.sleep(0.05)
    finally:
        restore()
    assert (recorder.stops, recorder.exits) == (1, [])


async def test_a_second_sigint_exits_at_once() -> None:
    recorder = Recorder()
    restore = install_stop_signals(
        asyncio.get_running_loop(), recorder.stop, exit_now=recorder.exit
    )
    try:
        await _signal(recorder, signal.SIGINT)
        await _signal(recorder, signal.SIGINT)
    finally:
        restore()
    assert (recorder.stops, recorder.exits) == (1, [FORCED_EXIT_STATUS])


async def test_restore_puts_the_previous_handlers_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    restore = install_stop_signals(asyncio.get_running_loop(), lambda: None)
    restore()
    assert signal.getsignal(signal.SIGINT) == before
