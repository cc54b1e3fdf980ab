"""`tpd render-config --format grafana`: a Grafana dashboard over the metrics `tpd run` serves.

The dashboard is declared as data: `SECTIONS`, rows of panels, each panel with its PromQL
queries, unit and a short description. `render_grafana()` lays the panels out on Grafana's
24-column grid, row by row, and writes the classic dashboard JSON model. Every query filters on
the `job` and `instance` template variables, and every panel reads the Prometheus data source
chosen in the `datasource` variable, so the file imports into any Grafana unchanged.

Pure: it returns text. deploy/grafana/tpd-dashboard.json is this rendering; a test keeps it
equal and checks that every metric a query names is one `tpd run` serves.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import attrs

__all__ = [
    "DASHBOARD_UID",
    "GRID_WIDTH",
    "SCHEMA_VERSION",
    "SECTIONS",
    "Panel",
    "Query",
    "Section",
    "dashboard",
    "render_grafana",
]

#: A recent version of Grafana's classic dashboard model. A Grafana that knows only earlier
#: versions loads the file without migrating it, and nothing in it needs a migration.
SCHEMA_VERSION = 41
#: Fixed, so that importing a newer rendering replaces the dashboard instead of adding one.
DASHBOARD_UID = "tpd-overview"
GRID_WIDTH = 24

#: Every panel and target reads the data source picked in the `datasource` variable.
_DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
#: The series of the replicas chosen in the `job` and `instance` variables.
_SELECTOR = 'job=~"$job", instance=~"$instance"'
#: Grafana's step-aware range for rate(): at least four scrape intervals.
_RATE_RANGE = "[$__rate_interval]"
#: The whole time range of the dashboard, for the totals of the stat panels.
_TOTAL_RANGE = "[$__range]"


@attrs.frozen(kw_only=True)
class Query:
    """One PromQL expression of a panel. `instant` asks for its value at the end of the range
    only (totals, tables), not a series."""

    expr: str
    legend: str = ""
    instant: bool = False


@attrs.frozen(kw_only=True)
class Panel:
    """One panel. `kind` is a Grafana panel type; `flag` shows a 0/1 gauge as no/yes in red
    and green; `warn_from` turns a stat red from that value up."""

    title: str
    description: str
    kind: str
    queries: tuple[Query, ...]
    unit: str = "short"
    width: int = 12
    height: int = 8
    flag: bool = False
    warn_from: float | None = None


@attrs.frozen(kw_only=True)
class Section:
    """A row of the dashboard: a title and the panels under it."""

    title: str
    panels: tuple[Panel, ...]


# -- PromQL ---------------------------------------------------------------------------------------


def _series(metric: str, matchers: str = "") -> str:
    """`metric` of the chosen replicas, with extra label `matchers` if any."""
    extra = f", {matchers}" if matchers else ""
    return f"{metric}{{{_SELECTOR}{extra}}}"


def _sum(expr: str, by: tuple[str, ...] = ()) -> str:
    if not by:
        return f"sum({expr})"
    return f"sum by ({', '.join(by)}) ({expr})"


def _per_second(metric: str, *, by: tuple[str, ...] = (), matchers: str = "") -> str:
    return _sum(f"rate({_series(metric, matchers)}{_RATE_RANGE})", by)


def _per_minute(metric: str, *, by: tuple[str, ...] = (), matchers: str = "") -> str:
    """For the rare events (incidents, approvals, 429s): a count per minute reads better than
    a small fraction per second."""
    return f"{_per_second(metric, by=by, matchers=matchers)} * 60"


def _total(metric: str, *, by: tuple[str, ...] = (), matchers: str = "") -> str:
    """How much a counter grew over the dashboard's time range."""
    return _sum(f"increase({_series(metric, matchers)}{_TOTAL_RANGE})", by)


def _quantile(q: float, histogram: str, *, by: tuple[str, ...] = ()) -> str:
    buckets = f"rate({_series(histogram + '_bucket')}{_RATE_RANGE})"
    return f"histogram_quantile({q}, {_sum(buckets, ('le', *by))})"


def _latency(histogram: str) -> tuple[Query, ...]:
    return tuple(
        Query(expr=_quantile(q, histogram), legend=f"p{round(q * 100)}") for q in (0.5, 0.95, 0.99)
    )


# -- the panels -----------------------------------------------------------------------------------

_OVERVIEW = Section(
    title="Overview",
    panels=(
        Panel(
            title="Ready",
            description="Per replica: 1 when /readyz answers 200 (start-up done, the Teleport "
            "watch stream connected, PagerDuty reachable).",
            kind="stat",
            queries=(Query(expr=_series("tpd_ready"), legend="{{instance}}"),),
            width=3,
            height=4,
            flag=True,
        ),
        Panel(
            title="Teleport watch",
            description="Per replica: 1 while the access-request watch stream to Teleport is "
            "open and initialised.",
            kind="stat",
            queries=(Query(expr=_series("tpd_teleport_watch_connected"), legend="{{instance}}"),),
            width=3,
            height=4,
            flag=True,
        ),
        Panel(
            title="PagerDuty reachable",
            description="Per replica: 1 when PagerDuty's latest answer (to tpd or to its "
            "GET /abilities check) was usable: not a 5xx, 401 or 403.",
            kind="stat",
            queries=(Query(expr=_series("tpd_pagerduty_reachable"), legend="{{instance}}"),),
            width=3,
            height=4,
            flag=True,
        ),
        Panel(
            title="Events handled",
            description="Access-request events the replicas finished with in the time range, "
            "whatever the result.",
            kind="stat",
            queries=(Query(expr=_total("tpd_events_handled_total"), instant=True),),
            width=3,
            height=4,
        ),
        Panel(
            title="Failed events",
            description="Events whose handler raised or timed out in the time range; tpd "
            "retries their requests with backoff. The log says why.",
            kind="stat",
            queries=(
                Query(
                    expr=_total("tpd_events_handled_total", matchers='result=~"error|timeout"'),
                    instant=True,
                ),
            ),
            width=3,
            height=4,
            warn_from=1,
        ),
        Panel(
            title="Incidents created",
            description="PagerDuty incidents opened for access requests in the time range.",
            kind="stat",
            queries=(Query(expr=_total("tpd_incidents_created_total"), instant=True),),
            width=3,
            height=4,
        ),
        Panel(
            title="Approvals submitted",
            description="Requests tpd approved in the time range because the requester was on "
            "call.",
            kind="stat",
            queries=(Query(expr=_total("tpd_approvals_submitted_total"), instant=True),),
            width=3,
            height=4,
        ),
        Panel(
            title="Rules followed",
            description="Access Monitoring Rules for PagerDuty about access requests that tpd "
            "follows now (0 when it cannot read rules and routes by annotation only).",
            kind="stat",
            queries=(Query(expr=f"max({_series('tpd_access_monitoring_rules')})"),),
            width=3,
            height=4,
        ),
    ),
)

_HEALTH = Section(
    title="Health",
    panels=(
        Panel(
            title="Readiness, watch stream and PagerDuty",
            description="Each replica's readiness and the two conditions it depends on, over "
            "time. A replica that is not ready keeps trying and loses nothing; alert on minutes "
            "of it, not on single flips.",
            kind="state-timeline",
            queries=(
                Query(expr=_series("tpd_ready"), legend="ready {{instance}}"),
                Query(expr=_series("tpd_teleport_watch_connected"), legend="watch {{instance}}"),
                Query(expr=_series("tpd_pagerduty_reachable"), legend="PagerDuty {{instance}}"),
            ),
            width=16,
            height=7,
            flag=True,
        ),
        Panel(
            title="Watch stream reconnects",
            description="Reconnections of the Teleport watch stream per minute, by replica. "
            "After each one tpd lists the open requests again (catch-up).",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_teleport_watch_reconnects_total", by=("instance",)),
                    legend="{{instance}}",
                ),
            ),
            unit="opm",
            width=8,
            height=7,
        ),
    ),
)

_EVENTS = Section(
    title="Access-request events",
    panels=(
        Panel(
            title="Events handled by result",
            description="Events finished per second. ok: handled; error, timeout: the handler "
            "failed (retried later); cancelled, dropped: cut short by a shutdown (redone by "
            "the next start's catch-up); coalesced: replaced by a newer event of the request.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_second("tpd_events_handled_total", by=("result",)),
                    legend="{{result}}",
                ),
            ),
            unit="ops",
        ),
        Panel(
            title="Handler latency",
            description="Time one event's handling took, every PagerDuty and Teleport call and "
            "retry included (coalesced and dropped events are not timed). [tpd] "
            "handler_timeout bounds it.",
            kind="timeseries",
            queries=_latency("tpd_handler_duration_seconds"),
            unit="s",
        ),
        Panel(
            title="Events by operation",
            description="Events finished per second: put (a request created or changed) and "
            "delete (a request removed).",
            kind="timeseries",
            queries=(
                Query(expr=_per_second("tpd_events_handled_total", by=("op",)), legend="{{op}}"),
            ),
            unit="ops",
            width=8,
        ),
        Panel(
            title="Events in flight and queued",
            description="Handlers running now, and events waiting behind an earlier event of "
            "the same request. A queue that only grows means handlers are stuck or slow.",
            kind="timeseries",
            queries=(
                Query(expr=_sum(_series("tpd_events_in_flight")), legend="in flight"),
                Query(expr=_sum(_series("tpd_events_queued")), legend="queued"),
            ),
            width=8,
        ),
        Panel(
            title="Requests scheduled for retry",
            description="Requests whose handling failed and that tpd will handle again after a "
            "backoff, per minute.",
            kind="timeseries",
            queries=(Query(expr=_per_minute("tpd_event_retries_total"), legend="retries"),),
            unit="opm",
            width=8,
        ),
    ),
)

_INCIDENTS = Section(
    title="Incidents and approvals",
    panels=(
        Panel(
            title="Incidents, notes and resolutions",
            description="Per minute: incidents opened (or found after a crash and recorded), "
            "review notes posted to them, and incidents resolved.",
            kind="timeseries",
            queries=(
                Query(expr=_per_minute("tpd_incidents_created_total"), legend="incidents created"),
                Query(expr=_per_minute("tpd_notes_posted_total"), legend="notes posted"),
                Query(expr=_per_minute("tpd_resolutions_total"), legend="incidents resolved"),
            ),
            unit="opm",
        ),
        Panel(
            title="Resolutions by outcome",
            description="Incidents resolved per minute, by what became of the request: "
            "approved, denied, expired or promoted.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_resolutions_total", by=("resolution",)),
                    legend="{{resolution}}",
                ),
            ),
            unit="opm",
        ),
        Panel(
            title="Approval attempts by result",
            description="Auto-approvals tpd tried per minute. approved: submitted; "
            "already_reviewed: another replica was first; refused: Teleport said no (the "
            "plugin may not review the request); failed: the call failed.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_approval_attempts_total", by=("result",)),
                    legend="{{result}}",
                ),
            ),
            unit="opm",
        ),
        Panel(
            title="Approvals submitted by replica",
            description="Approving reviews submitted per minute for requesters on call, by the "
            "replica that submitted them.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_approvals_submitted_total", by=("instance",)),
                    legend="{{instance}}",
                ),
            ),
            unit="opm",
        ),
    ),
)

_PAGERDUTY = Section(
    title="PagerDuty API",
    panels=(
        Panel(
            title="PagerDuty requests by status",
            description="HTTP attempts to PagerDuty per second, by status code (no_answer: a "
            "timeout or a failed connection).",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_second("tpd_pagerduty_requests_total", by=("status",)),
                    legend="{{status}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            title="PagerDuty requests by endpoint",
            description="HTTP attempts to PagerDuty per second, by method and path template.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_second("tpd_pagerduty_requests_total", by=("method", "endpoint")),
                    legend="{{method}} {{endpoint}}",
                ),
            ),
            unit="reqps",
        ),
        Panel(
            title="429 answers and retries",
            description="Per minute: PagerDuty's 429 Too Many Requests answers by endpoint "
            "(its limit is per API key, shared by the replicas), and attempts repeated after a "
            "failure.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_pagerduty_rate_limited_total", by=("method", "endpoint")),
                    legend="429 {{method}} {{endpoint}}",
                ),
                Query(expr=_per_minute("tpd_pagerduty_retries_total"), legend="retries"),
            ),
            unit="opm",
            width=8,
        ),
        Panel(
            title="PagerDuty latency",
            description="Duration of one HTTP attempt to PagerDuty, all endpoints together.",
            kind="timeseries",
            queries=_latency("tpd_pagerduty_request_duration_seconds"),
            unit="s",
            width=8,
        ),
        Panel(
            title="PagerDuty p95 latency by endpoint",
            description="The 95th percentile of the duration of one attempt, by method and "
            "endpoint.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_quantile(
                        0.95,
                        "tpd_pagerduty_request_duration_seconds",
                        by=("method", "endpoint"),
                    ),
                    legend="{{method}} {{endpoint}}",
                ),
            ),
            unit="s",
            width=8,
        ),
    ),
)

_ROUTING = Section(
    title="Routing: Access Monitoring Rules and annotations",
    panels=(
        Panel(
            title="Incidents by route",
            description="Incidents opened per minute, by what chose their PagerDuty service: "
            "rule (exactly one Access Monitoring Rule recipient) or annotation (no rule "
            "matched: the request's pagerduty_notify_service annotation).",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_requests_routed_total", by=("route",)),
                    legend="{{route}}",
                ),
            ),
            unit="opm",
        ),
        Panel(
            title="Routes in the time range",
            description="Incidents of the time range by route: the share routed by Access "
            "Monitoring Rules and by annotation.",
            kind="piechart",
            queries=(
                Query(
                    expr=_total("tpd_requests_routed_total", by=("route",)),
                    legend="{{route}}",
                    instant=True,
                ),
            ),
        ),
        Panel(
            title="Rules followed",
            description="Access Monitoring Rules tpd follows now, by replica; the replicas "
            "should agree.",
            kind="timeseries",
            queries=(
                Query(
                    expr=f"max by (instance) ({_series('tpd_access_monitoring_rules')})",
                    legend="{{instance}}",
                ),
            ),
        ),
        Panel(
            title="Rule evaluation errors",
            description="Rules that could not be evaluated for a request, per minute, by kind "
            "(parse, schedule, evaluation); each counts as no match and is logged once per "
            "rule revision.",
            kind="timeseries",
            queries=(
                Query(
                    expr=_per_minute("tpd_rule_evaluation_errors_total", by=("kind",)),
                    legend="{{kind}}",
                ),
            ),
            unit="opm",
        ),
    ),
)

_PROCESS = Section(
    title="Process",
    panels=(
        Panel(
            title="Build",
            description="The tpd and Python versions each replica runs.",
            kind="table",
            queries=(Query(expr=_series("tpd_build_info"), instant=True),),
            width=16,
            height=6,
        ),
        Panel(
            title="Uptime",
            description="Time since each replica started.",
            kind="stat",
            queries=(
                Query(
                    expr=f"time() - {_series('process_start_time_seconds')}",
                    legend="{{instance}}",
                ),
            ),
            unit="s",
            width=8,
            height=6,
        ),
        Panel(
            title="CPU",
            description="CPU time used per second of each replica (1 = one core).",
            kind="timeseries",
            queries=(
                Query(
                    expr=f"rate({_series('process_cpu_seconds_total')}{_RATE_RANGE})",
                    legend="{{instance}}",
                ),
            ),
            unit="percentunit",
            width=8,
        ),
        Panel(
            title="Resident memory",
            description="Resident memory of each replica (tpd stays under 100 MB).",
            kind="timeseries",
            queries=(Query(expr=_series("process_resident_memory_bytes"), legend="{{instance}}"),),
            unit="bytes",
            width=8,
        ),
        Panel(
            title="Open file descriptors",
            description="File descriptors each replica has open, and its limit.",
            kind="timeseries",
            queries=(
                Query(expr=_series("process_open_fds"), legend="open {{instance}}"),
                Query(expr=_series("process_max_fds"), legend="limit {{instance}}"),
            ),
            width=8,
        ),
    ),
)

SECTIONS: tuple[Section, ...] = (
    _OVERVIEW,
    _HEALTH,
    _EVENTS,
    _INCIDENTS,
    _PAGERDUTY,
    _ROUTING,
    _PROCESS,
)


# -- JSON -----------------------------------------------------------------------------------------


def _target(query: Query, ref_id: str, *, table: bool) -> dict[str, Any]:
    return {
        "datasource": _DATASOURCE,
        "expr": query.expr,
        "legendFormat": query.legend or "__auto",
        "instant": query.instant,
        "range": not query.instant,
        "format": "table" if table else "time_series",
        "refId": ref_id,
    }


def _thresholds(panel: Panel) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    if panel.flag:
        steps = [{"color": "red", "value": None}, {"color": "green", "value": 1}]
    elif panel.warn_from is not None:
        steps.append({"color": "red", "value": panel.warn_from})
    return {"mode": "absolute", "steps": steps}


#: A 0/1 gauge shown as words.
_FLAG_MAPPING = {
    "type": "value",
    "options": {
        "0": {"text": "no", "color": "red", "index": 0},
        "1": {"text": "yes", "color": "green", "index": 1},
    },
}


def _field_defaults(panel: Panel) -> dict[str, Any]:
    defaults: dict[str, Any] = {"unit": panel.unit, "thresholds": _thresholds(panel)}
    if panel.flag:
        defaults["mappings"] = [_FLAG_MAPPING]
    if panel.kind == "timeseries":
        defaults["min"] = 0
        defaults["color"] = {"mode": "palette-classic"}
        defaults["custom"] = {
            "drawStyle": "line",
            "lineWidth": 1,
            "fillOpacity": 10,
            "showPoints": "never",
            "spanNulls": False,
        }
    elif panel.kind == "state-timeline":
        defaults["color"] = {"mode": "thresholds"}
    elif panel.kind == "piechart":
        defaults["color"] = {"mode": "palette-classic"}
    return defaults


_LAST_VALUE = {"calcs": ["lastNotNull"], "fields": "", "values": False}
_LEGEND = {"displayMode": "list", "placement": "bottom", "showLegend": True}


def _options(panel: Panel) -> dict[str, Any]:
    if panel.kind == "stat":
        return {
            "reduceOptions": _LAST_VALUE,
            "colorMode": "background" if panel.flag or panel.warn_from is not None else "value",
            "graphMode": "none",
            "justifyMode": "auto",
            "orientation": "auto",
            "textMode": "auto",
        }
    if panel.kind == "state-timeline":
        return {
            "mergeValues": True,
            "showValue": "never",
            "alignValue": "left",
            "rowHeight": 0.9,
            "legend": {**_LEGEND, "showLegend": False},
            "tooltip": {"mode": "single", "sort": "none"},
        }
    if panel.kind == "piechart":
        return {
            "reduceOptions": _LAST_VALUE,
            "pieType": "pie",
            "legend": {
                "displayMode": "table",
                "placement": "right",
                "showLegend": True,
                "values": ["value", "percent"],
            },
            "tooltip": {"mode": "single", "sort": "none"},
        }
    if panel.kind == "table":
        return {"showHeader": True, "cellHeight": "sm"}
    return {"legend": _LEGEND, "tooltip": {"mode": "multi", "sort": "desc"}}


def _panel(panel: Panel, panel_id: int, grid: dict[str, int]) -> dict[str, Any]:
    table = panel.kind == "table"
    ref_ids = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "gridPos": grid,
        "datasource": _DATASOURCE,
        "targets": [
            _target(query, ref_ids[index], table=table) for index, query in enumerate(panel.queries)
        ],
        "fieldConfig": {"defaults": _field_defaults(panel), "overrides": []},
        "options": _options(panel),
    }
    if table:
        # One row per replica: its labels, without the sample's time and constant value.
        hidden = {"Time": True, "Value": True, "__name__": True}
        out["transformations"] = [
            {
                "id": "organize",
                "options": {"excludeByName": hidden, "indexByName": {}, "renameByName": {}},
            }
        ]
    return out


def _layout(sections: tuple[Section, ...]) -> Iterator[dict[str, Any]]:
    """Rows and panels with ids and grid positions: each section starts a row; its panels fill
    the width left to right and wrap below the tallest panel of the line."""
    panel_id = 0
    y = 0
    for section in sections:
        panel_id += 1
        yield {
            "id": panel_id,
            "type": "row",
            "title": section.title,
            "collapsed": False,
            "gridPos": {"h": 1, "w": GRID_WIDTH, "x": 0, "y": y},
            "panels": [],
        }
        y += 1
        x = 0
        line_height = 0
        for panel in section.panels:
            if x + panel.width > GRID_WIDTH:
                x, y, line_height = 0, y + line_height, 0
            panel_id += 1
            grid = {"h": panel.height, "w": panel.width, "x": x, "y": y}
            yield _panel(panel, panel_id, grid)
            x += panel.width
            line_height = max(line_height, panel.height)
        y += line_height


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    """A multi-value `label_values` variable, "All" (every value) until the user picks."""
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": _DATASOURCE,
        "definition": query,
        "query": query,
        "refresh": 2,
        "regex": "",
        "sort": 1,
        "includeAll": True,
        "allValue": ".*",
        "multi": True,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "options": [],
        "hide": 0,
    }


def dashboard() -> dict[str, Any]:
    """The dashboard as a JSON-ready dict (Grafana's classic model)."""
    return {
        "title": "tpd: Teleport access requests on PagerDuty",
        "uid": DASHBOARD_UID,
        "description": "tpd, the Teleport PagerDuty access-request plugin: events handled, "
        "incidents, approvals, PagerDuty calls, routing and readiness. Generated by "
        "`tpd render-config --format grafana`.",
        "tags": ["tpd", "teleport", "pagerduty", "access-requests"],
        "id": None,
        "version": 1,
        "schemaVersion": SCHEMA_VERSION,
        "editable": True,
        "graphTooltip": 1,
        "fiscalYearStartMonth": 0,
        "liveNow": False,
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "weekStart": "",
        "refresh": "1m",
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "label": "Data source",
                    "type": "datasource",
                    "query": "prometheus",
                    "regex": "",
                    "refresh": 1,
                    "includeAll": False,
                    "multi": False,
                    "current": {},
                    "options": [],
                    "hide": 0,
                },
                _variable("job", "Job", "label_values(tpd_build_info, job)"),
                _variable(
                    "instance", "Instance", 'label_values(tpd_build_info{job=~"$job"}, instance)'
                ),
            ]
        },
        "panels": list(_layout(SECTIONS)),
    }


def render_grafana() -> str:
    """deploy/grafana/tpd-dashboard.json: the dashboard, indented, with a final newline."""
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"
