"""What `tpd run` serves on /metrics: a real subprocess against the e2e suite's fakes, scraped
once, and the families of an exposition with their types. Shared by the tests that compare the
metric reference (docs/operations.md) and the Grafana dashboard with what is really served."""

from __future__ import annotations

import re
import socket

import httpx

from tests.e2e.world import StartTpd


def served_types(text: str) -> dict[str, str]:
    """name -> type of every family in an exposition, from its `# TYPE` lines (a counter's
    name ends with `_total`; a histogram's series add `_bucket`, `_sum` and `_count`)."""
    return dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def scrape_tpd_run(start_tpd: StartTpd) -> str:
    """Start `tpd run` with `[metrics] listen` on a free loopback port, wait until it is ready,
    and return its /metrics page (the `start_tpd` fixture stops the process)."""
    port = free_port()
    await start_tpd(extra=f'[metrics]\nlisten = "127.0.0.1:{port}"\n')
    async with httpx.AsyncClient(timeout=10.0) as client:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200, response.text
    return response.text
