"""The metric reference in docs/operations.md against what is served: the families `tpd run`
serves on `/metrics` (a real subprocess against the fakes) and their types, and the labels of
every family once each kind of daemon event was counted."""

from __future__ import annotations

import re
from pathlib import Path

import attrs

from pagerduty_client import CallAttempt, CallRetry
from teleport_pd_cli.daemon import events
from teleport_pd_cli.ops.metrics import Metrics
from tests.e2e.world import StartTpd
from tests.teleport_pd_cli.daemon_view import FakeDaemon
from tests.teleport_pd_cli.served_metrics import scrape_tpd_run, served_types

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


@attrs.frozen
class Documented:
    type: str
    labels: frozenset[str]


def metric_reference() -> dict[str, Documented]:
    """The rows of the guide's "Metric reference" table: name -> type and label names."""
    section = GUIDE.read_text().split("### Metric reference", 1)[1].split("\n#", 1)[0]
    table: dict[str, Documented] = {}
    for row in re.findall(r"^\| `.*\|$", section, re.M):
        name, kind, labels, _meaning = (cell.strip() for cell in row.strip("|").split("|"))
        # Label names are the backticked words outside the parenthesised lists of values.
        label_names = re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", labels))
        table[name.strip("`")] = Documented(kind, frozenset(label_names))
    return table


def test_the_reference_table_is_read() -> None:
    reference = metric_reference()
    assert reference["tpd_events_handled_total"] == Documented(
        "counter", frozenset({"op", "result"})
    )
    assert reference["tpd_events_in_flight"] == Documented("gauge", frozenset())
    assert len(reference) > 20


async def test_tpd_run_serves_exactly_the_documented_families(start_tpd: StartTpd) -> None:
    served = served_types(await scrape_tpd_run(start_tpd))
    documented = {name: row.type for name, row in metric_reference().items()}
    assert {n: t for n, t in served.items() if n not in documented} == {}, "served, undocumented"
    assert {n: t for n, t in documented.items() if n not in served} == {}, "documented, not served"
    assert served == documented


def test_every_family_has_the_documented_labels() -> None:
    daemon = FakeDaemon()
    metrics = Metrics(daemon)
    daemon.emit(  # one of each kind, so that every labelled family has a series
        events.EventHandled(request_id="r1", op="put", result="ok", duration=0.1),
        CallAttempt(method="POST", endpoint="/incidents", status=429, elapsed=0.1),
        CallRetry(method="POST", endpoint="/incidents", delay=1.0),
        events.IncidentResolved(request_id="r1", incident_id="P1", resolution="approved"),
        events.ApprovalOutcome(request_id="r1", result="approved"),
    )
    labels: dict[str, set[str]] = {}
    family = ""
    for line in metrics.render().decode().splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
            labels[family] = set()
        elif not line.startswith("#"):
            labels[family] |= set(re.findall(r'(\w+)="', line.partition("{")[2])) - {"le"}
    documented = {name: set(row.labels) for name, row in metric_reference().items()}
    assert labels == documented
