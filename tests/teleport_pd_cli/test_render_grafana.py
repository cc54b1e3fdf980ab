"""teleport_pd_cli.config.render_grafana: the Grafana dashboard in deploy/grafana/ is sound JSON
of Grafana's model, its panels fit the grid, and every metric its PromQL names is one that
`tpd run` serves (scraped live from a real process against the fakes)."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from teleport_pd_cli.config.render_grafana import DASHBOARD_UID, GRID_WIDTH
from teleport_pd_cli.ops.metrics import Metrics
from tests.e2e.world import StartTpd
from tests.teleport_pd_cli.daemon_view import FakeDaemon
from tests.teleport_pd_cli.served_metrics import scrape_tpd_run, served_types

DASHBOARD_FILE = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "tpd-dashboard.json"


# -- reading the metric names out of PromQL -------------------------------------------------------

#: PromQL's aggregation operators and functions (Prometheus 2.x/3.x), and `start`/`end` of `@`.
PROMQL_FUNCTIONS = frozenset(
    {
        *("sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values"),
        *("bottomk", "topk", "quantile", "limitk", "limit_ratio"),
        *("abs", "absent", "absent_over_time", "ceil", "changes", "clamp", "clamp_max"),
        *("clamp_min", "day_of_month", "day_of_week", "day_of_year", "days_in_month", "delta"),
        *("deriv", "exp", "floor", "histogram_avg", "histogram_count", "histogram_fraction"),
        *("histogram_quantile", "histogram_stddev", "histogram_stdvar", "histogram_sum"),
        *("holt_winters", "double_exponential_smoothing", "hour", "idelta", "increase", "irate"),
        *("label_join", "label_replace", "ln", "log2", "log10", "minute", "month"),
        *("predict_linear", "rate", "resets", "round", "scalar", "sgn", "sort", "sort_desc"),
        *("sort_by_label", "sort_by_label_desc", "sqrt", "time", "timestamp", "vector", "year"),
        *("avg_over_time", "min_over_time", "max_over_time", "sum_over_time", "count_over_time"),
        *("quantile_over_time", "stddev_over_time", "stdvar_over_time", "last_over_time"),
        *("present_over_time", "mad_over_time", "acos", "acosh", "asin", "asinh", "atan"),
        *("atanh", "cos", "cosh", "sin", "sinh", "tan", "tanh", "deg", "rad", "pi"),
        *("start", "end"),
    }
)
#: Words of the language that are neither metrics nor functions.
PROMQL_KEYWORDS = frozenset(
    {"and", "or", "unless", "bool", "offset", "atan2", "group_left", "group_right", "inf", "nan"}
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"' r"|'(?:[^'\\]|\\.)*'" r"|`[^`]*`")
_GRAFANA_VARIABLE = re.compile(r"\$\{\w+\}|\$\w+")
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\[\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
#: A name not glued to a number or another name (`5m`, `1e3`), and whether a call follows.
_WORD = re.compile(r"(?<![\w.:])([A-Za-z_:][\w:]*)(\s*\()?")
_NAMELESS_SELECTOR = re.compile(r"(?:^|[^\w:\s])\s*\{\}")


def queried_metrics(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: every name outside strings, label matchers,
    ranges and grouping clauses that is not a function call or a keyword. A call of an unknown
    function, or a selector without a metric name, is a ValueError."""
    text = _STRING.sub('""', expr)
    text = _GRAFANA_VARIABLE.sub("", text)
    text = _MATCHERS.sub("{}", text)
    text = _RANGE.sub("[]", text)
    text = _GROUPING.sub(" ", text)
    if _NAMELESS_SELECTOR.search(text):
        raise ValueError(f"a selector without a metric name in {expr!r}")
    names = set()
    for match in _WORD.finditer(text):
        word, call = match.group(1), match.group(2)
        if word.lower() in PROMQL_KEYWORDS:
            continue
        if call is not None:
            if word not in PROMQL_FUNCTIONS:
                raise ValueError(f"unknown PromQL function {word}() in {expr!r}")
            continue
        names.add(word)
    return names


def unserved(names: set[str], families: Mapping[str, str]) -> set[str]:
    """The names no series of `families` (name -> type) carries: a histogram is read through
    its `_bucket`, `_sum` and `_count` series, never by its own name."""

    def is_served(name: str) -> bool:
        if name in families:
            return families[name] not in ("histogram", "summary")
        for suffix in ("_bucket", "_sum", "_count"):
            base = name.removesuffix(suffix)
            if base != name and families.get(base) == "histogram":
                return True
        return False

    return {name for name in names if not is_served(name)}


def panels(board: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def panel_queries(board: Mapping[str, Any]) -> list[str]:
    return [target["expr"] for panel in panels(board) for target in panel.get("targets", [])]


def queries(board: Mapping[str, Any]) -> list[str]:
    """Every PromQL expression of the dashboard: the panels' and the template variables'
    (`label_values(SELECTOR, label)` reads SELECTOR)."""
    found = panel_queries(board)
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            selector = re.fullmatch(r"label_values\((.*),\s*\w+\)", variable["query"])
            assert selector is not None, variable["query"]
            found.append(selector.group(1))
    return found


def in_process_families() -> dict[str, str]:
    """The families of tpd's metric registry, without a process (for the parser's tests)."""
    return served_types(Metrics(FakeDaemon()).render().decode())


@pytest.fixture
def board() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD_FILE.read_text())
    return loaded


# -- the parser -----------------------------------------------------------------------------------


def test_the_parser_reads_the_metric_of_a_histogram_quantile() -> None:
    expr = (
        "histogram_quantile(0.99, sum by (le) "
        '(rate(tpd_handler_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))'
    )
    assert queried_metrics(expr) == {"tpd_handler_duration_seconds_bucket"}


def test_the_parser_reads_bare_names_before_a_space_or_a_parenthesis() -> None:
    expr = "sum(tpd_ready) and on (instance) time() - process_start_time_seconds > 60"
    assert queried_metrics(expr) == {"tpd_ready", "process_start_time_seconds"}


def test_label_names_and_values_are_not_taken_for_metrics() -> None:
    expr = (
        'sum without (op) (rate(tpd_events_handled_total{result=~"error|time_out{x}"}[5m]'
        " offset 1h)) * 60 > bool 1e3"
    )
    assert queried_metrics(expr) == {"tpd_events_handled_total"}


def test_a_call_of_an_unknown_function_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"unknown PromQL function rat\(\)"):
        queried_metrics("sum(rat(tpd_events_handled_total[5m]))")


def test_a_selector_without_a_metric_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="without a metric name"):
        queried_metrics('sum(rate({__name__="tpd_events_handled_total"}[5m]))')


def test_a_misspelt_metric_is_found_unserved() -> None:
    expr = 'sum by (result) (rate(tpd_event_handled_total{job=~"$job"}[$__rate_interval]))'
    assert unserved(queried_metrics(expr), in_process_families()) == {"tpd_event_handled_total"}


def test_a_histogram_is_served_through_its_series_only() -> None:
    families = in_process_families()
    histogram = "tpd_handler_duration_seconds"
    series = {f"{histogram}_bucket", f"{histogram}_sum", f"{histogram}_count"}
    assert unserved(series, families) == set()
    assert unserved({histogram}, families) == {histogram}
    assert unserved({"tpd_events_handled_total_bucket"}, families) == {
        "tpd_events_handled_total_bucket"
    }


# -- the dashboard (the file in deploy/; test_deploy checks it is the current rendering) ----------


def test_the_dashboard_is_grafanas_classic_model_with_a_fixed_uid(board: dict[str, Any]) -> None:
    assert isinstance(board["schemaVersion"], int)
    assert board["schemaVersion"] >= 39
    assert board["uid"] == DASHBOARD_UID
    assert board["id"] is None
    assert board["title"]
    assert isinstance(board["refresh"], str)


def test_panel_ids_are_unique(board: dict[str, Any]) -> None:
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids))
    assert all(isinstance(panel_id, int) and panel_id > 0 for panel_id in ids)


def test_panels_lie_inside_the_grid_without_overlapping(board: dict[str, Any]) -> None:
    boxes = [(panel["title"], panel["gridPos"]) for panel in board["panels"]]
    for title, box in boxes:
        assert min(box["x"], box["y"]) >= 0, title
        assert min(box["w"], box["h"]) > 0, title
        assert box["x"] + box["w"] <= GRID_WIDTH, title
    for (first, a), (second, b) in itertools.combinations(boxes, 2):
        apart = (
            a["x"] + a["w"] <= b["x"]
            or b["x"] + b["w"] <= a["x"]
            or a["y"] + a["h"] <= b["y"]
            or b["y"] + b["h"] <= a["y"]
        )
        assert apart, f"{first!r} overlaps {second!r}"


def test_every_panel_has_a_title_a_description_and_queries(board: dict[str, Any]) -> None:
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["title"], panel["id"]
        assert len(panel["description"]) > 20, panel["title"]
        assert panel["targets"], panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


def test_every_panel_reads_the_chosen_prometheus_data_source(board: dict[str, Any]) -> None:
    [variable] = [v for v in board["templating"]["list"] if v["type"] == "datasource"]
    assert variable["query"] == "prometheus"
    chosen = {"type": "prometheus", "uid": "${" + variable["name"] + "}"}
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == chosen, panel["title"]
        assert all(target["datasource"] == chosen for target in panel["targets"]), panel["title"]


def test_every_selector_filters_on_the_job_and_instance_variables(board: dict[str, Any]) -> None:
    for expr in panel_queries(board):
        for matchers in re.findall(r"\{([^{}]*)\}", expr):
            assert 'job=~"$job"' in matchers, expr
            assert 'instance=~"$instance"' in matchers, expr


def test_every_variable_the_queries_use_is_defined(board: dict[str, Any]) -> None:
    defined = {variable["name"] for variable in board["templating"]["list"]}
    for expr in queries(board):
        used = set(re.findall(r"\$\{?(\w+)", expr))
        assert {name for name in used if not name.startswith("__")} <= defined, expr


def test_the_dashboard_shows_every_family_of_tpd(board: dict[str, Any]) -> None:
    queried = {name for expr in queries(board) for name in queried_metrics(expr)}
    bases = {re.sub(r"_(bucket|sum|count)$", "", name) for name in queried}
    tpd_families = {name for name in in_process_families() if name.startswith("tpd_")}
    assert tpd_families - bases == set()


async def test_every_metric_the_dashboard_queries_is_served_by_tpd_run(
    board: dict[str, Any], start_tpd: StartTpd
) -> None:
    families = served_types(await scrape_tpd_run(start_tpd))
    queried = {name for expr in queries(board) for name in queried_metrics(expr)}
    assert len(queried) > 20
    assert unserved(queried, families) == set()
