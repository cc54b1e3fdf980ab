"""CLI start-up benchmark: wall time of `tpd --help` and `tpd version`, each a fresh process,
and how long `tpd run` takes to become ready against the local fakes.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--ready-runs 5] [--json out.json]

Each command runs once to warm the file cache, then `--runs` times; the best and the median wall
times are printed. The best is compared with the target (issue 6): `tpd --help` under 0.3 s. A
bare `python -c pass` is measured too, as the floor no Python command can beat on this machine.

`tpd run` to ready: the fake Auth Service (mutual TLS) and the fake PagerDuty (HTTP) run on
127.0.0.1 in this process, seeded as `tpd demo` seeds them; `tpd run` starts as a subprocess with
`[metrics] listen`, and the clock stops at its "Plugin is ready" log line (start-up checks done,
watch stream initialised, existing requests listed) and at the first 200 from /readyz. Then it
is stopped with SIGTERM. Best and median of `--ready-runs`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_HELP_SECONDS = 0.3


def tpd_command() -> list[str]:
    """The installed `tpd` console script beside this Python, else `python -m teleport_pd_cli`."""
    script = Path(sys.executable).with_name("tpd")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "teleport_pd_cli"]


def wall_times(command: list[str], runs: int) -> list[float]:
    subprocess.run(command, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return times


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _readyz_ok(port: int) -> bool:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    try:
        writer.write(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return (await reader.read()).startswith(b"HTTP/1.1 200 ")
    finally:
        writer.close()


async def time_to_ready(tpd: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Seconds from spawning `tpd run` to its "Plugin is ready" line, and to /readyz 200."""
    from pagerduty_client.testing import FakePagerDuty
    from teleport_access.testing import FakeAuthServer
    from teleport_pd_cli.tools import _demo_seed as seed

    to_log: list[float] = []
    to_readyz: list[float] = []
    pagerduty = FakePagerDuty(api_key="bench-api-key-0123456789", openapi=False)
    seed.seed_pagerduty(pagerduty)
    auth = FakeAuthServer()
    seed.seed_teleport(auth)
    with tempfile.TemporaryDirectory() as directory:
        async with auth, pagerduty.serve() as url:
            identity = auth.write_identity_file(
                Path(directory) / "identity",
                seed.PLUGIN_USER,
                roles=seed.roles_of(seed.PLUGIN_USER),
            )
            for _ in range(runs + 1):  # the first run warms the caches and is not counted
                port = _free_port()
                config = Path(directory) / "teleport-pagerduty.toml"
                config.write_text(
                    f'[teleport]\naddr = "{auth.address}"\nidentity = "{identity}"\n'
                    f'[pagerduty]\napi_key = "bench-api-key-0123456789"\n'
                    f'user_email = "{seed.BOT_EMAIL}"\napi_endpoint = "{url}"\n'
                    f'[log]\noutput = "stderr"\nseverity = "info"\n'
                    f'[metrics]\nlisten = "127.0.0.1:{port}"\n'
                )
                started = time.perf_counter()
                process = await asyncio.create_subprocess_exec(
                    *tpd, "run", "-c", str(config),
                    stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
                )  # fmt: skip
                assert process.stderr is not None
                try:
                    async with asyncio.timeout(60):
                        while b"Plugin is ready" not in (line := await process.stderr.readline()):
                            if not line:
                                raise RuntimeError("tpd run exited before it was ready")
                        logged = time.perf_counter() - started
                        while not await _readyz_ok(port):  # noqa: ASYNC110 - polling over HTTP
                            await asyncio.sleep(0.005)
                        ready = time.perf_counter() - started
                finally:
                    if process.returncode is None:
                        process.send_signal(signal.SIGTERM)
                    # Drain stderr so the process never blocks on a full pipe while stopping.
                    await process.stderr.read()
                    await process.wait()
                to_log.append(logged)
                to_readyz.append(ready)
    return to_log[1:], to_readyz[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (15)")
    parser.add_argument("--ready-runs", type=int, default=5, help="timed `tpd run` starts (5)")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)
    runs = max(1, args.runs)

    tpd = tpd_command()
    measured = [
        ("python -c pass (floor)", [sys.executable, "-c", "pass"], None),
        ("tpd --help", [*tpd, "--help"], TARGET_HELP_SECONDS),
        ("tpd version", [*tpd, "version"], None),
    ]
    print(f"CLI start-up: {' '.join(tpd)}, best and median of {runs} runs")
    figures: list[dict[str, Any]] = []
    ok = True
    for name, command, target in measured:
        times = wall_times(command, runs)
        best, median = min(times), statistics.median(times)
        verdict = ""
        if target is not None:
            met = best < target
            ok = ok and met
            verdict = f"target < {target:.2f} s: {'ok' if met else 'MISSED'}"
        print(f"  {name:<24} best {best:6.3f} s   median {median:6.3f} s   {verdict}")
        figures.append(
            {
                "name": f"{name}, best of {runs}",
                "value": round(best, 4),
                "unit": "s",
                "target": target,
                "better": "lower",
                "median": round(median, 4),
            }
        )
    ready_runs = max(1, args.ready_runs)
    to_log, to_readyz = asyncio.run(time_to_ready(tpd, ready_runs))
    for name, times in (
        ("tpd run: start to 'Plugin is ready'", to_log),
        ("tpd run: start to /readyz 200", to_readyz),
    ):
        best, median = min(times), statistics.median(times)
        print(f"  {name:<36} best {best:6.3f} s   median {median:6.3f} s")
        figures.append(
            {
                "name": f"{name}, best of {ready_runs}",
                "value": round(best, 4),
                "unit": "s",
                "target": None,
                "better": "lower",
                "median": round(median, 4),
            }
        )
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"benchmark": "cli_startup", "command": tpd, "runs": runs, "figures": figures}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
