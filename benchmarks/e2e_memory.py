"""End-to-end memory: the resident size of `tpd run` across 10,000 access requests.

    .venv/bin/python benchmarks/e2e_memory.py [--requests 10000] [--wave 500] [--warmup 1000]
                                              [--json out.json]

`tpd run` runs against the local fakes (see _e2e.py) and handles whole request lifecycles in
waves of `--wave`: the wave's requests are created (tpd opens an incident for each), approved
(tpd posts the resolution note and resolves the incident), then deleted (tpd forgets them), so
neither the fakes nor tpd can simply keep accumulating live requests. `--warmup` requests go
first and are not counted: they load every code path, open the connections and let the
allocator settle. The RSS of the tpd process alone (VmRSS in /proc/<pid>/status; the fakes run
in this process) is read after the warm-up (the baseline) and after every wave.

Targets (issue 6): RSS under 100 MB throughout (VmHWM, the peak, is the figure) and under 10 MB
growth across the 10,000 requests (the last checkpoint minus the baseline).
"""

# ruff: noqa: ASYNC109  (waits take plain seconds)

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import _e2e
from _e2e import figure

TARGET_RSS_MB = 100.0
TARGET_GROWTH_MB = 10.0


async def wait_handled(tpd: _e2e.TpdProcess, op: str, total: float, *, timeout: float) -> None:
    """Until tpd's `tpd_events_handled_total{op=...}` reaches `total`."""
    deadline = time.monotonic() + timeout
    while True:
        handled = _e2e.metric_sum(await tpd.metrics(), "tpd_events_handled_total", op=op)
        if handled >= total:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"tpd handled {handled:.0f} of {total:.0f} {op} events")
        await asyncio.sleep(0.05)


async def one_wave(
    fakes: _e2e.Fakes, tpd: _e2e.TpdProcess, first: int, size: int, *, timeout: float
) -> None:
    """Create, approve and delete `size` requests, each step once tpd finished the last."""
    before = await tpd.metrics()
    deletes = _e2e.metric_sum(before, "tpd_events_handled_total", op="delete")
    created = await _e2e.create_requests(fakes, size, first=first)
    await _e2e.wait_for_incidents(fakes, size, timeout=timeout)
    for number, request in enumerate(created):
        fakes.auth.approve(request.id, reason="benchmark")
        if number % 20 == 19:
            await asyncio.sleep(0)
    deadline = time.monotonic() + timeout
    for _ in range(size):  # each resolution is one PUT /incidents/{id}
        await fakes.pagerduty.next_incident_update(timeout=max(0.1, deadline - time.monotonic()))
    for number, request in enumerate(created):
        fakes.auth.delete_request(request.id)
        if number % 20 == 19:
            await asyncio.sleep(0)
    await wait_handled(tpd, "delete", deletes + size, timeout=timeout)
    # The fake keeps every request it saw; this benchmark measures tpd, not the fake.
    fakes.pagerduty.clear_requests()


async def measure(requests: int, wave: int, warmup: int, timeout: float) -> dict[str, Any]:
    checkpoints: list[tuple[int, float]] = []
    async with _e2e.running_fakes() as fakes, _e2e.running_tpd(fakes) as tpd:
        at_ready = tpd.rss_mib()
        done = 0
        while done < warmup:
            size = min(wave, warmup - done)
            await one_wave(fakes, tpd, done, size, timeout=timeout)
            done += size
        await asyncio.sleep(0.5)  # let the last handlers and their buffers go
        baseline = tpd.rss_mib()
        checkpoints.append((0, baseline))
        print(f"  RSS at ready {at_ready:.1f} MiB; after the warm-up {baseline:.1f} MiB")
        started = time.monotonic()
        counted = 0
        while counted < requests:
            size = min(wave, requests - counted)
            await one_wave(fakes, tpd, warmup + counted, size, timeout=timeout)
            counted += size
            rss = tpd.rss_mib()
            checkpoints.append((counted, rss))
            print(f"  after {counted:>6} requests: RSS {rss:6.1f} MiB ({rss - baseline:+.1f})")
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.5)
        final = tpd.rss_mib()
        peak = tpd.peak_rss_mib()
        cpu = tpd.cpu_seconds()
    return {
        "requests": requests,
        "warmup": warmup,
        "wave": wave,
        "rss_at_ready_mib": at_ready,
        "baseline_mib": baseline,
        "final_mib": final,
        "peak_mib": peak,
        "growth_mib": final - baseline,
        "max_checkpoint_mib": max(rss for _, rss in checkpoints),
        "checkpoints": checkpoints,
        "seconds": elapsed,
        "tpd_cpu_s": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=10_000, help="counted requests (10000)")
    parser.add_argument("--wave", type=int, default=500, help="requests per wave (500)")
    parser.add_argument("--warmup", type=int, default=1000, help="uncounted first requests (1000)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per step (120 s)")
    parser.add_argument("--json", type=Path, help="write the figures to this JSON file")
    args = parser.parse_args(argv)

    print(
        f"End-to-end memory: {args.requests} requests in waves of {args.wave} "
        f"(create, approve, delete) after {args.warmup} warm-up requests"
    )
    run = asyncio.run(measure(args.requests, args.wave, args.warmup, args.timeout))
    peak_mb = run["peak_mib"] * _e2e.MB_PER_MIB
    growth_mb = run["growth_mib"] * _e2e.MB_PER_MIB
    full = args.requests >= 10_000
    print(
        f"tpd RSS: baseline {run['baseline_mib']:.1f} MiB, final {run['final_mib']:.1f} MiB, "
        f"growth {run['growth_mib']:+.1f} MiB ({growth_mb:+.1f} MB), peak {run['peak_mib']:.1f} "
        f"MiB ({peak_mb:.1f} MB); {args.requests} lifecycles in {run['seconds']:.1f} s"
    )
    figures = [
        figure("tpd peak RSS (VmHWM)", round(peak_mb, 1), "MB", target=TARGET_RSS_MB),
        figure(
            f"tpd RSS growth across {args.requests} requests",
            round(growth_mb, 2),
            "MB",
            target=TARGET_GROWTH_MB if full else None,
        ),
        figure("tpd RSS after warm-up", round(run["baseline_mib"] * _e2e.MB_PER_MIB, 1), "MB"),
        figure(
            "tpd RSS above the baseline, largest at any checkpoint",
            round((run["max_checkpoint_mib"] - run["baseline_mib"]) * _e2e.MB_PER_MIB, 2),
            "MB",
        ),
        figure(
            "request lifecycles per second (create, approve, delete)",
            round(args.requests / run["seconds"], 1),
            "requests/s",
            better="higher",
        ),
    ]
    ok = peak_mb < TARGET_RSS_MB and (not full or growth_mb < TARGET_GROWTH_MB)
    print("targets: peak < 100 MB, growth < 10 MB:", "ok" if ok else "MISSED")
    _e2e.write_json(args.json, "e2e_memory", figures, run=run)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
