"""The Prometheus registry and its text exposition format 0.0.4, byte for byte."""

from __future__ import annotations

import math
import re
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from teleport_pd_cli.ops._prometheus import (
    CONTENT_TYPE,
    Registry,
    escape_label_value,
    format_value,
)


def test_a_registry_renders_help_type_and_samples_exactly() -> None:
    registry = Registry()
    events = registry.counter("app_events_total", "Events handled.", ("op", "result"))
    events.labels("put", "ok").inc()
    events.labels("put", "ok").inc(2)
    events.labels(op="delete", result="error").inc()
    temperature = registry.gauge("app_temperature_celsius", "Current temperature.")
    temperature.set(21.5)
    latency = registry.histogram("app_latency_seconds", "Latency.", ("op",), buckets=(0.1, 1, 5))
    for value in (0.05, 0.1, 0.7, 3, 9):
        latency.labels("put").observe(value)

    assert registry.render() == (
        "# HELP app_events_total Events handled.\n"
        "# TYPE app_events_total counter\n"
        'app_events_total{op="delete",result="error"} 1\n'
        'app_events_total{op="put",result="ok"} 3\n'
        "# HELP app_temperature_celsius Current temperature.\n"
        "# TYPE app_temperature_celsius gauge\n"
        "app_temperature_celsius 21.5\n"
        "# HELP app_latency_seconds Latency.\n"
        "# TYPE app_latency_seconds histogram\n"
        'app_latency_seconds_bucket{op="put",le="0.1"} 2\n'
        'app_latency_seconds_bucket{op="put",le="1"} 3\n'
        'app_latency_seconds_bucket{op="put",le="5"} 4\n'
        'app_latency_seconds_bucket{op="put",le="+Inf"} 5\n'
        'app_latency_seconds_sum{op="put"} 12.85\n'
        'app_latency_seconds_count{op="put"} 5\n'
    )


def test_the_content_type_is_the_text_format_0_0_4() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4; charset=utf-8"


def test_label_values_escape_backslash_quote_and_newline() -> None:
    registry = Registry()
    counter = registry.counter("x_total", "X.", ("path",))
    counter.labels('C:\\dir "quoted"\nnext').inc()
    assert 'x_total{path="C:\\\\dir \\"quoted\\"\\nnext"} 1\n' in registry.render()


def test_help_text_escapes_backslash_and_newline_but_not_quotes() -> None:
    registry = Registry()
    registry.gauge("g", 'Line one\nsays "a\\b".')
    assert registry.render().startswith('# HELP g Line one\\nsays "a\\\\b".\n# TYPE g gauge\n')


def test_an_unlabelled_metric_shows_zero_before_its_first_change() -> None:
    registry = Registry()
    registry.counter("starts_total", "Starts.")
    assert registry.render().endswith("starts_total 0\n")


def test_a_labelled_metric_without_series_shows_only_its_help_and_type() -> None:
    registry = Registry()
    registry.counter("calls_total", "Calls.", ("endpoint",))
    assert registry.render() == "# HELP calls_total Calls.\n# TYPE calls_total counter\n"


def test_an_empty_histogram_has_zero_buckets_sum_and_count() -> None:
    registry = Registry()
    registry.histogram("h_seconds", "H.", buckets=(1,))
    assert registry.render().splitlines()[2:] == [
        'h_seconds_bucket{le="1"} 0',
        'h_seconds_bucket{le="+Inf"} 0',
        "h_seconds_sum 0",
        "h_seconds_count 0",
    ]


def test_an_observation_equal_to_a_bound_falls_in_that_bucket() -> None:
    registry = Registry()
    histogram = registry.histogram("h", "H.", buckets=(1, 2))
    histogram.observe(1.0)
    assert 'h_bucket{le="1"} 1' in registry.render()


def test_buckets_are_sorted_and_an_explicit_infinity_is_not_repeated() -> None:
    registry = Registry()
    histogram = registry.histogram("h", "H.", buckets=(5, 0.5, math.inf))
    assert histogram.buckets == (0.5, 5.0)
    assert registry.render().count('le="+Inf"') == 1


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (3.0, "3"),
        (-2, "-2"),
        (0.005, "0.005"),
        (2.5, "2.5"),
        (1e20, "1e+20"),
        (math.inf, "+Inf"),
        (-math.inf, "-Inf"),
        (math.nan, "NaN"),
    ],
)
def test_values_are_written_as_prometheus_parses_them(value: float, text: str) -> None:
    assert format_value(value) == text


@given(st.floats(allow_nan=False))
def test_every_finite_value_reads_back_exactly(value: float) -> None:
    text = format_value(value)
    if not math.isinf(value):
        assert float(text) == value


@given(st.text())
def test_an_escaped_label_value_has_no_raw_newline_or_unescaped_quote(value: str) -> None:
    escaped = escape_label_value(value)
    assert "\n" not in escaped
    assert re.search(r'(?<!\\)(\\\\)*"', escaped) is None


def test_series_render_sorted_by_label_values() -> None:
    registry = Registry()
    counter = registry.counter("c_total", "C.", ("name",))
    for name in ("b", "a", "c"):
        counter.labels(name).inc()
    samples = [line for line in registry.render().splitlines() if not line.startswith("#")]
    assert samples == ['c_total{name="a"} 1', 'c_total{name="b"} 1', 'c_total{name="c"} 1']


def test_a_gauge_goes_up_and_down_and_can_be_read_at_scrape_time() -> None:
    registry = Registry()
    gauge = registry.gauge("queue", "Q.")
    gauge.inc(5)
    gauge.dec(2)
    assert gauge.get() == 3
    state = {"value": 7}
    gauge.set_function(lambda: state["value"])
    state["value"] = 9
    assert registry.render().endswith("queue 9\n")


def test_collectors_run_before_each_rendering() -> None:
    registry = Registry()
    gauge = registry.gauge("renders", "R.")
    registry.add_collector(lambda: gauge.inc())
    registry.render()
    assert registry.render().endswith("renders 2\n")


def test_a_counter_refuses_to_go_down() -> None:
    counter = Registry().counter("c_total", "C.")
    with pytest.raises(ValueError, match="only goes up"):
        counter.inc(-1)


@pytest.mark.parametrize("name", ["", "1abc", "a-b", "a b", "é"])
def test_invalid_metric_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="invalid metric name"):
        Registry().counter(name, "x")


@pytest.mark.parametrize("label", ["__reserved", "1a", "a-b"])
def test_invalid_label_names_are_refused(label: str) -> None:
    with pytest.raises(ValueError, match="invalid label name"):
        Registry().counter("c_total", "x", (label,))


def test_a_histogram_cannot_have_an_le_label() -> None:
    with pytest.raises(ValueError, match="le"):
        Registry().histogram("h", "x", ("le",))


def test_registering_a_name_twice_is_refused() -> None:
    registry = Registry()
    registry.counter("c_total", "x")
    with pytest.raises(ValueError, match="already registered"):
        registry.gauge("c_total", "x")


def test_the_wrong_number_of_label_values_is_refused() -> None:
    counter = Registry().counter("c_total", "x", ("a", "b"))
    with pytest.raises(ValueError, match="has labels"):
        counter.labels("only-one")
    with pytest.raises(ValueError, match="has labels"):
        counter.labels(a="1", c="2")


def test_a_labelled_metric_needs_labels_before_inc() -> None:
    counter = Registry().counter("c_total", "x", ("a",))
    with pytest.raises(ValueError, match=r"use \.labels"):
        counter.inc()


def test_concurrent_increments_from_threads_are_all_counted() -> None:
    registry = Registry()
    counter = registry.counter("c_total", "x", ("t",))
    histogram = registry.histogram("h", "x", buckets=(1,))

    def work() -> None:
        for _ in range(5000):
            counter.labels("same").inc()
            histogram.observe(0.5)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    text = registry.render()
    assert 'c_total{t="same"} 20000' in text
    assert "h_count 20000" in text
