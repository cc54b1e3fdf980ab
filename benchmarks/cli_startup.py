"""CLI start-up benchmark: wall time of `tpd --help` and `tpd version`, each a fresh process.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15] [--json out.json]

Each command runs once to warm the file cache, then `--runs` times; the best and the median wall
times are printed. The best is compared with the target (issue 6): `tpd --help` under 0.3 s. A
bare `python -c pass` is measured too, as the floor no Python command can beat on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each command (15)")
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
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"benchmark": "cli_startup", "command": tpd, "runs": runs, "figures": figures}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
