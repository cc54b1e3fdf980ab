# ruff: noqa: ASYNC109  (waits take plain seconds, like the fakes' own wait_for*)
"""Shared pieces of the end-to-end benchmarks: the fakes, `tpd run` as a subprocess, figures.

The world every e2e benchmark runs in:

* the fake Auth Service (`teleport_access.testing.FakeAuthServer`, gRPC with mutual TLS on
  127.0.0.1) and the fake PagerDuty (`pagerduty_client.testing.FakePagerDuty`, HTTP/1.1 on
  127.0.0.1) both serve from the benchmark's own event loop, in the benchmark's process;
* `tpd run` is a separate process (`TpdProcess`), configured as an operator would, logging at
  INFO to a file (a pipe the benchmark must drain would throttle it), with `[metrics] listen`
  so its own counters can be scraped;
* requesters ask for the `editor` role through a role annotated with the notify service, so
  every new request means one PagerDuty incident.

Latency is measured from the request's `created` time (set by the fake Auth Service when the
request is stored) to the moment the fake PagerDuty recorded the `POST /incidents` that created
its incident: both are wall-clock times taken in this process, so no clock skew enters.

The tpd process is measured from /proc: `VmRSS` / `VmHWM` (peak RSS) in /proc/<pid>/status and
user + system CPU seconds in /proc/<pid>/stat, so the fakes' memory and CPU never count.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import re
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from pagerduty_client import Service
from pagerduty_client.testing import FakePagerDuty, RecordedRequest
from teleport_access import (
    AccessRequest,
    RequestConditions,
    ReviewConditions,
    Role,
    RoleConditions,
    User,
)
from teleport_access.testing import FakeAuthServer

ROOT = Path(__file__).resolve().parent.parent
API_KEY = "bench-pd-key-4Jd8sQ2vX6"
BOT_EMAIL = "bot@example.com"
NOTIFY_SERVICE = "Teleport Access Requests"
PLUGIN_USER = "access-plugin"
INCIDENT_KEY_PREFIX = "teleport-access-request/"

Figure = dict[str, Any]
#: /proc counts KiB; the targets are in MB (10**6 bytes).
MB_PER_MIB = 1024 * 1024 / 1_000_000


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    target: float | None = None,
    better: str = "lower",
    **extra: Any,
) -> Figure:
    """One figure in the runner's convention (benchmarks/README.md)."""
    return {"name": name, "value": value, "unit": unit, "target": target, "better": better, **extra}


def write_json(path: Path | None, benchmark: str, figures: list[Figure], **extra: Any) -> None:
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"benchmark": benchmark, "figures": figures, "machine": machine(), **extra}
    path.write_text(json.dumps(payload, indent=2) + "\n")


def machine() -> dict[str, Any]:
    """The machine and how busy it was: other work shares these cores."""
    load = os.getloadavg()
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in load]}


# -- statistics ------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1) of `values` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def spread(values: Sequence[float]) -> dict[str, float]:
    """Best, median and worst of repeated runs, for the JSON."""
    return {
        "best": min(values),
        "median": statistics.median(values),
        "worst": max(values),
        "runs": len(values),
    }


# -- the fakes -------------------------------------------------------------------------------------


@attrs.define
class Fakes:
    """The running fakes, the plugin's identity and the requesters."""

    auth: FakeAuthServer
    pagerduty: FakePagerDuty
    pagerduty_url: str
    directory: Path
    identity: Path
    notify_service: Service
    requesters: tuple[str, ...]

    def create_request(self, index: int) -> AccessRequest:
        """A new PENDING request for `editor` by one of the requesters (round robin)."""
        user = self.requesters[index % len(self.requesters)]
        return self.auth.create_request(user, ["editor"], reason=f"benchmark request {index}")

    def write_config(
        self,
        *,
        metrics_port: int | None = None,
        pagerduty_extra: str = "",
        extra: str = "",
        name: str = "tpd.toml",
    ) -> tuple[Path, Path]:
        """A `tpd run` config pointing at the fakes; returns (config, log file)."""
        log = self.directory / f"{Path(name).stem}.log"
        text = (
            f'[teleport]\naddr = "{self.auth.address}"\nidentity = "{self.identity}"\n\n'
            f'[pagerduty]\napi_key = "{API_KEY}"\nuser_email = "{BOT_EMAIL}"\n'
            f'api_endpoint = "{self.pagerduty_url}"\n{pagerduty_extra}\n'
            f'[log]\noutput = "{log}"\nseverity = "info"\nformat = "json"\n\n'
        )
        if metrics_port is not None:
            text += f'[metrics]\nlisten = "127.0.0.1:{metrics_port}"\n\n'
        path = self.directory / name
        path.write_text(text + extra)
        return path, log


def seed_teleport(auth: FakeAuthServer, requesters: Iterable[str]) -> None:
    notify = {"pagerduty_notify_service": (NOTIFY_SERVICE,)}
    auth.add_role(Role(name="editor"))
    auth.add_role(
        Role(
            name="editor-requester",
            allow=RoleConditions(request=RequestConditions(roles=("editor",), annotations=notify)),
        )
    )
    auth.add_role(
        Role(
            name="editor-reviewer",
            allow=RoleConditions(review_requests=ReviewConditions(roles=("editor",))),
        )
    )
    auth.add_role(Role(name=PLUGIN_USER))
    for name in requesters:
        auth.add_user(User(name=name, roles=("editor-requester",)))
    auth.add_user(User(name="reviewer@example.com", roles=("editor-reviewer",)))
    auth.add_user(User(name=PLUGIN_USER, roles=(PLUGIN_USER,)))


def seed_pagerduty(pagerduty: FakePagerDuty) -> Service:
    pagerduty.add_user("Teleport Access Bot", BOT_EMAIL, role="admin")
    reviewer = pagerduty.add_user("Riley Reviewer", "reviewer@example.com")
    policy = pagerduty.add_escalation_policy("Access request reviewers", rules=[[reviewer]])
    # A few other services, so the lookup by name has something to search through.
    for number in range(1, 6):
        pagerduty.add_service(f"Other service {number}", policy)
    return pagerduty.add_service(NOTIFY_SERVICE, policy)


@contextlib.asynccontextmanager
async def running_fakes(*, requesters: int = 20) -> AsyncIterator[Fakes]:
    """Start both fakes on the running loop, seeded; stop them on exit.

    The fake PagerDuty checks nothing against the OpenAPI document here (the e2e tests do):
    that check costs the fake milliseconds per request, which would be charged to tpd.
    """
    names = tuple(f"requester{number}@example.com" for number in range(requesters))
    pagerduty = FakePagerDuty(api_key=API_KEY, openapi=False)
    service = seed_pagerduty(pagerduty)
    auth = FakeAuthServer()
    seed_teleport(auth, names)
    with tempfile.TemporaryDirectory(prefix="tpd-bench-") as name:
        directory = Path(name)
        async with auth, pagerduty.serve() as url:
            identity = auth.write_identity_file(
                directory / "identity", PLUGIN_USER, roles=(PLUGIN_USER,)
            )
            yield Fakes(
                auth=auth,
                pagerduty=pagerduty,
                pagerduty_url=url,
                directory=directory,
                identity=identity,
                notify_service=service,
                requesters=names,
            )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


# -- reading what the fake PagerDuty saw ---------------------------------------------------------


def incident_times(requests: Iterable[RecordedRequest]) -> dict[str, datetime]:
    """Request id -> when the fake recorded the successful `POST /incidents` for it."""
    created: dict[str, datetime] = {}
    for recorded in requests:
        if recorded.method != "POST" or recorded.operation != "/incidents":
            continue
        if recorded.status != 201 or not isinstance(recorded.body, dict):
            continue
        key = recorded.body.get("incident", {}).get("incident_key", "")
        if key.startswith(INCIDENT_KEY_PREFIX):
            created.setdefault(key[len(INCIDENT_KEY_PREFIX) :], recorded.at)
    return created


def call_counts(requests: Iterable[RecordedRequest]) -> Counter[str]:
    """`METHOD /operation status` -> how many the fake received."""
    return Counter(f"{r.method} {r.operation} {r.status}" for r in requests)


async def wait_for_incidents(fakes: Fakes, count: int, *, timeout: float) -> float:
    """Wait until `count` new incidents were created through the API; the monotonic time the
    last one was seen. `next_incident()` is the fake's own FIFO of created incidents."""
    deadline = time.monotonic() + timeout
    for seen in range(count):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"only {seen} of {count} incidents within {timeout:g} s")
        await fakes.pagerduty.next_incident(timeout=left)
    return time.monotonic()


# -- tpd run, as a process -----------------------------------------------------------------------


def tpd_command() -> list[str]:
    """The installed `tpd` console script beside this Python, else `python -m teleport_pd_cli`."""
    script = Path(sys.executable).with_name("tpd")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "teleport_pd_cli"]


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class TpdProcess:
    """`tpd run -c CONFIG` as a subprocess, with its log file, /proc figures and metrics."""

    def __init__(self, config: Path, log: Path, *, metrics_port: int | None = None) -> None:
        self.config = config
        self.log = log
        self.metrics_port = metrics_port
        self.stderr_path = config.with_suffix(".stderr")
        self.process: asyncio.subprocess.Process | None = None
        self.started_at = 0.0

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def start(self) -> None:
        env = {**os.environ}
        env.pop("TPD_CONFIG", None)
        with self.stderr_path.open("wb") as stderr:
            self.started_at = time.perf_counter()
            self.process = await asyncio.create_subprocess_exec(
                *tpd_command(), "run", "-c", str(self.config),
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=stderr, cwd=ROOT, env=env,
            )  # fmt: skip

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_messages(self, text: str) -> list[dict[str, Any]]:
        """The JSON log records whose message contains `text`."""
        found = []
        for line in self.log_text().splitlines():
            if text in line:
                with contextlib.suppress(ValueError):
                    found.append(json.loads(line))
        return found

    async def wait_for_log(self, text: str, *, timeout: float = 60.0) -> float:
        """Wait until the log has a line containing `text`; seconds since start."""
        assert self.process is not None
        deadline = time.monotonic() + timeout
        offset = 0
        pending = b""
        while True:
            with contextlib.suppress(FileNotFoundError), self.log.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
                offset += len(chunk)
                pending += chunk
                if text.encode() in pending:
                    return time.perf_counter() - self.started_at
                pending = pending[pending.rfind(b"\n") + 1 :]
            if self.process.returncode is not None:
                raise RuntimeError(
                    f"tpd run exited ({self.process.returncode}) before logging {text!r}:\n"
                    f"{self.stderr_path.read_text(errors='replace')[-3000:]}"
                )
            if time.monotonic() > deadline:
                raise TimeoutError(f"tpd run did not log {text!r} within {timeout:g} s")
            await asyncio.sleep(0.005)

    async def wait_ready(self, *, timeout: float = 60.0) -> float:
        return await self.wait_for_log("Plugin is ready", timeout=timeout)

    async def stop(self, *, timeout: float = 30.0) -> int:
        """SIGTERM and wait (SIGKILL after `timeout`); the exit status."""
        if self.process is None:
            return 0
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                return await asyncio.wait_for(self.process.wait(), timeout)
            except TimeoutError:
                self.process.kill()
        return await self.process.wait()

    # --- /proc -----------------------------------------------------------------------------------

    def status_kib(self, field: str) -> int:
        """A `kB` field of /proc/<pid>/status: VmRSS (resident now), VmHWM (peak resident)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def rss_mib(self) -> float:
        return self.status_kib("VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return self.status_kib("VmHWM") / 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time the tpd process has used so far."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS

    # --- metrics ---------------------------------------------------------------------------------

    async def metrics(self) -> dict[str, float]:
        """`/metrics` as {"name{labels}": value} (the Prometheus text format, samples only)."""
        if self.metrics_port is None:
            return {}
        reader, writer = await asyncio.open_connection("127.0.0.1", self.metrics_port)
        try:
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
            raw = await reader.read()
        finally:
            writer.close()
        body = raw.partition(b"\r\n\r\n")[2].decode()
        samples: dict[str, float] = {}
        for line in body.splitlines():
            if not line or line.startswith("#"):
                continue
            name, _, value = line.rpartition(" ")
            with contextlib.suppress(ValueError):
                samples[name] = float(value)
        return samples


def metric_sum(samples: dict[str, float], name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels`."""
    total = 0.0
    for key, value in samples.items():
        base, _, rest = key.partition("{")
        if base != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', rest))
        if all(found.get(k) == v for k, v in labels.items()):
            total += value
    return total


@contextlib.asynccontextmanager
async def running_tpd(
    fakes: Fakes,
    *,
    pagerduty_extra: str = "",
    extra: str = "",
    name: str = "tpd.toml",
    ready_timeout: float = 60.0,
) -> AsyncIterator[TpdProcess]:
    """Start `tpd run` against the fakes, wait until ready, and stop it on exit."""
    port = free_port()
    config, log = fakes.write_config(
        metrics_port=port, pagerduty_extra=pagerduty_extra, extra=extra, name=name
    )
    tpd = TpdProcess(config, log, metrics_port=port)
    await tpd.start()
    try:
        await tpd.wait_ready(timeout=ready_timeout)
        yield tpd
    finally:
        await tpd.stop()


@contextlib.asynccontextmanager
async def profiled(pid: int, output: Path | None) -> AsyncIterator[None]:
    """Sample process `pid` with py-spy (`pip install py-spy`) into `output` (speedscope JSON,
    open it at https://www.speedscope.app) while the block runs; nothing when `output` is None."""
    if output is None:
        yield
        return
    spy = Path(sys.executable).with_name("py-spy")
    command = str(spy) if spy.is_file() else "py-spy"
    output.parent.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        command, "record", "--pid", str(pid), "--rate", "200", "--format", "speedscope",
        "--output", str(output), "--nonblocking",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    await asyncio.sleep(0.5)  # attaching takes a moment
    try:
        yield
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        await process.wait()


async def create_requests(fakes: Fakes, count: int, *, first: int = 0) -> list[AccessRequest]:
    """Create `count` requests as fast as the fake takes them, letting the loop stream the
    events in between (creating all before yielding would hold every watch event back)."""
    created = []
    for index in range(first, first + count):
        created.append(fakes.create_request(index))
        if index % 20 == 19:
            await asyncio.sleep(0)
    return created
