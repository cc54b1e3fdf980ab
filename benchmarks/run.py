"""Run every benchmark, print all figures as one table, and keep the results.

    .venv/bin/python benchmarks/run.py                 # every benchmark, full length
    .venv/bin/python benchmarks/run.py --quick         # shorter runs (smoke test, noisier)
    .venv/bin/python benchmarks/run.py --only where cli_startup
    .venv/bin/python benchmarks/run.py --update-docs   # also rewrite docs/benchmarks.md's results
    .venv/bin/python benchmarks/run.py --from-json benchmarks/results/latest.json --update-docs
    .venv/bin/python benchmarks/run.py --only e2e_burst --merge --update-docs  # keep the others
    .venv/bin/python benchmarks/run.py --list

Each benchmark is a script in this directory that accepts `--json PATH`; the runner starts it
with the same Python, shows its own output, reads its JSON, and writes:

* `benchmarks/results/<name>.json`: the script's own JSON (a plot a script makes lands beside it);
* `benchmarks/results/latest.json` (or `--json PATH`): every benchmark's figures, the machine,
  and the command lines, in one file;
* with `--update-docs`, the block between `<!-- results:start -->` and `<!-- results:end -->`
  in docs/benchmarks.md.

A script's figures are read from its JSON's `figures` list, each
`{"name", "value", "unit", "target" (or null), "better": "higher" | "lower"}`; scripts that
predate that convention get a small adapter here. Adding a benchmark is one `Benchmark(...)`
entry in `BENCHMARKS`. Exit status: 0 when every benchmark ran and met every known target.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results"
DOCS = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"

Figure = dict[str, Any]


# -- adapters for scripts written before the `figures` convention ---------------------------------


def watcher_figures(payload: dict[str, Any]) -> list[Figure]:
    target = payload.get("target_events_per_second")
    figures = []
    for name, result in payload["results"].items():
        over_tls = name in ("live", "catch_up")
        figures.append(
            figure(
                f"watcher {name}",
                result["events_per_second"],
                "events/s",
                target if over_tls else None,
            )
        )
    return figures


def proxy_figures(payload: dict[str, Any]) -> list[Figure]:
    figures = []
    for route, result in payload.items():
        figures.append(
            figure(f"Ping via {route}, sequential", result["sequential_calls_per_s"], "calls/s")
        )
        figures.append(
            figure(f"Ping via {route}, 32 in flight", result["concurrent_calls_per_s"], "calls/s")
        )
        figures.append(
            figure(f"Ping via {route}, first call", result["first_call_ms"], "ms", better="lower")
        )
    return figures


def standard_figures(payload: dict[str, Any]) -> list[Figure]:
    return [figure(**f) for f in payload["figures"]]


def figure(
    name: str,
    value: float,
    unit: str,
    target: float | None = None,
    better: str | None = None,
    **extra: Any,
) -> Figure:
    """A normalised figure: `better` defaults to "lower" for times, "higher" for rates."""
    if better is None:
        better = "lower" if unit in ("s", "ms", "MB", "MiB") else "higher"
    if better not in ("higher", "lower"):
        raise ValueError(f"{name}: better must be higher or lower, not {better!r}")
    return {"name": name, "value": value, "unit": unit, "target": target, "better": better, **extra}


def meets(fig: Figure) -> bool | None:
    """Whether a figure meets its target (None: it has none)."""
    target = fig.get("target")
    if target is None:
        return None
    value = float(fig["value"])
    limit = float(target)
    return value >= limit if fig["better"] == "higher" else value <= limit


# -- the benchmarks ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    args: Sequence[str] = ()
    #: Arguments for `--quick` (shorter, noisier runs).
    quick_args: Sequence[str] = ()
    extract: Callable[[dict[str, Any]], list[Figure]] = standard_figures
    #: Seconds before the run is abandoned.
    timeout: float = 900.0
    description: str = field(default="", compare=False)


BENCHMARKS: list[Benchmark] = [
    Benchmark(
        "cli_startup",
        "cli_startup.py",
        quick_args=("--runs", "5", "--ready-runs", "2"),
        description="`tpd --help` and `tpd version` wall time; `tpd run` time to ready",
    ),
    Benchmark(
        "where",
        "where.py",
        quick_args=("--seconds", "0.2"),
        description="`where` language: parses and evaluations per second",
    ),
    Benchmark(
        "predicate",
        "predicate.py",
        quick_args=("--seconds", "0.2"),
        description="access monitoring rule conditions: parses and evaluations per second",
    ),
    Benchmark(
        "pagerduty_client",
        "bench_pagerduty_client.py",
        quick_args=("--seconds", "0.5", "--calls", "300"),
        description="PagerDuty client overhead per call and loopback throughput",
    ),
    Benchmark(
        "watcher",
        "watcher.py",
        quick_args=("--events", "3000", "--repeat", "1"),
        extract=watcher_figures,
        description="access-request events decoded and dispatched per second over mTLS",
    ),
    Benchmark(
        "proxy_tunnel",
        "proxy_tunnel.py",
        quick_args=("--calls", "300"),
        extract=proxy_figures,
        description="Ping over each Teleport Proxy route vs a direct channel",
    ),
    Benchmark(
        "e2e_burst",
        "e2e_burst.py",
        quick_args=("--requests", "200", "--repeat", "1"),
        description="tpd run: a burst of 1,000 requests (time, latency, calls, RSS; plot)",
    ),
    Benchmark(
        "e2e_steady",
        "e2e_steady.py",
        quick_args=("--seconds", "5", "--repeat", "1"),
        description="tpd run: creation-to-incident latency at 20 requests per second",
    ),
    Benchmark(
        "e2e_ratelimit",
        "e2e_ratelimit.py",
        quick_args=("--requests", "100", "--limit", "40", "--window", "2.5", "--repeat", "1"),
        description="tpd run: a burst under PagerDuty's rate limit, paced and unpaced",
    ),
    Benchmark(
        "e2e_memory",
        "e2e_memory.py",
        quick_args=("--requests", "1000", "--warmup", "200", "--wave", "200"),
        description="tpd run: RSS across 10,000 request lifecycles",
    ),
]


def run_one(bench: Benchmark, *, quick: bool, echo: bool) -> dict[str, Any]:
    """Run one benchmark script; its figures, or the reason it produced none."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{bench.name}.json"
    out.unlink(missing_ok=True)
    args = list(bench.quick_args if quick else bench.args)
    command = [sys.executable, str(HERE / bench.script), *args, "--json", str(out)]
    shown = [
        "python",
        f"benchmarks/{bench.script}",
        *args,
        "--json",
        f"benchmarks/results/{out.name}",
    ]
    print(f"\n=== {bench.name}: {' '.join(shown)}", flush=True)
    started = time.perf_counter()
    record: dict[str, Any] = {"command": shown, "description": bench.description}
    try:
        completed = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=not echo,
            text=True,
            timeout=bench.timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        record.update(error=f"timed out after {bench.timeout:.0f} s", figures=[])
        return record
    record["seconds"] = round(time.perf_counter() - started, 1)
    record["returncode"] = completed.returncode
    if not echo and completed.returncode != 0:
        sys.stdout.write(completed.stdout or "")
        sys.stderr.write(completed.stderr or "")
    try:
        payload = json.loads(out.read_text())
        record["figures"] = bench.extract(payload)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        record.update(error=f"no usable JSON ({type(exc).__name__}: {exc}); exit status "
                      f"{completed.returncode}", figures=[])  # fmt: skip
    return record


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
    }


# -- output ----------------------------------------------------------------------------------------


def format_number(value: float) -> str:
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if value else "0"


def rows(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(benchmark, measurement, value, target, verdict) for every figure, and one row per
    benchmark that produced none."""
    table = []
    for name, record in results["benchmarks"].items():
        if record.get("error"):
            table.append((name, "(did not run)", "", "", f"ERROR: {record['error']}"))
        for fig in record.get("figures", []):
            value = f"{format_number(fig['value'])} {fig['unit']}"
            target = ""
            if fig.get("target") is not None:
                sign = ">=" if fig["better"] == "higher" else "<="
                target = f"{sign} {format_number(fig['target'])} {fig['unit']}"
            verdict = {True: "pass", False: "FAIL", None: ""}[meets(fig)]
            table.append((name, fig["name"], value, target, verdict))
    return table


def text_table(results: dict[str, Any]) -> str:
    header = ("benchmark", "measurement", "value", "target", "result")
    table = [header, *rows(results)]
    widths = [max(len(row[i]) for row in table) for i in range(5)]
    lines = []
    for index, row in enumerate(table):
        cells = [
            row[i].rjust(widths[i]) if i in (2, 3) else row[i].ljust(widths[i]) for i in range(5)
        ]
        lines.append("  ".join(cells).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_results(results: dict[str, Any]) -> str:
    info = results["machine"]
    mode = "quick runs (`--quick`)" if results.get("quick") else "full runs"
    stamps = sorted(
        {r.get("generated", results["generated"]) for r in results["benchmarks"].values()}
    )
    when = f"between {stamps[0]} and {stamps[-1]}" if len(stamps) > 1 else results["generated"]
    out = [
        f"Measured {when} with `benchmarks/run.py` ({mode}): Python "
        f"{info['python']}, {info['cpus']} CPUs, {info['platform']}. Raw figures: "
        "[benchmarks/results/latest.json](../benchmarks/results/latest.json).",
        "",
        "| benchmark | measurement | value | target | result |",
        "|---|---|---:|---:|---|",
    ]
    for row in rows(results):
        cells = [cell.replace("|", "\\|") for cell in row]
        out.append("| " + " | ".join(cells) + " |")
    return "\n".join(out)


def update_docs(results: dict[str, Any], path: Path = DOCS) -> None:
    text = path.read_text()
    pattern = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{path}: no {START} ... {END} block to rewrite")
    block = f"{START}\n{markdown_results(results)}\n{END}"
    path.write_text(pattern.sub(lambda _: block, text, count=1))
    print(f"Updated {path.relative_to(ROOT)}")


def all_pass(results: dict[str, Any]) -> bool:
    for record in results["benchmarks"].values():
        if record.get("error") or record.get("returncode", 0) not in (0, 1):
            return False
        if any(meets(fig) is False for fig in record["figures"]):
            return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    names = [bench.name for bench in BENCHMARKS]
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=", ".join(names))
    parser.add_argument("--quick", action="store_true", help="shorter runs, for a smoke test")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="combined JSON")
    parser.add_argument("--update-docs", action="store_true", help="rewrite docs/benchmarks.md")
    parser.add_argument("--from-json", type=Path, help="do not run: report this combined JSON")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument(
        "--merge",
        action="store_true",
        help="keep the other benchmarks' results already in --json (replace only those run)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show each script's output")
    args = parser.parse_args(argv)

    if args.list:
        for bench in BENCHMARKS:
            print(f"{bench.name:<18} benchmarks/{bench.script:<28} {bench.description}")
        return 0
    if args.from_json is not None:
        results = json.loads(args.from_json.read_text())
    else:
        selected = [bench for bench in BENCHMARKS if not args.only or bench.name in args.only]
        stamp = _now()
        ran = {}
        for bench in selected:
            ran[bench.name] = run_one(bench, quick=args.quick, echo=args.verbose)
            ran[bench.name]["generated"] = _now()
        if args.merge and args.json.is_file():
            earlier = json.loads(args.json.read_text())
            if bool(earlier.get("quick")) != args.quick:
                raise SystemExit(f"{args.json}: cannot --merge quick and full runs")
            for record in earlier["benchmarks"].values():
                record.setdefault("generated", earlier["generated"])
            merged = {**earlier["benchmarks"], **ran}
            order = [bench.name for bench in BENCHMARKS]
            known = {name: index for index, name in enumerate(order)}
            ran = dict(sorted(merged.items(), key=lambda item: known.get(item[0], len(order))))
        results = {
            "generated": stamp,
            "machine": machine(),
            "quick": args.quick,
            "benchmarks": ran,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(text_table(results))
    if args.from_json is None:
        print(f"\nWrote {args.json}")
    if args.update_docs:
        update_docs(results)
    return 0 if all_pass(results) else 1


if __name__ == "__main__":
    sys.exit(main())
