"""A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
exposition format 0.0.4. Pure (no I/O) and stdlib-only, so tpd needs no client library.

    registry = Registry()
    handled = registry.counter("app_events_total", "Events handled.", ("op", "result"))
    handled.labels("put", "ok").inc()
    text = registry.render()

What the format asks for and this module does: one `# HELP` and one `# TYPE` line per family;
`\\` and newline escaped in help text, and `\\`, `"` and newline in label values; histograms as
cumulative `_bucket{le="..."}` series ending with `le="+Inf"`, then `_sum` and `_count`; values
as Go's parser reads them (`+Inf`, `-Inf`, `NaN`). Families render in registration order and
their series sorted by label values, so the output is stable.

Thread-safe: each family has a lock, so the sync PagerDuty client may report from threads.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import ClassVar, Generic, Literal, TypeVar

__all__ = [
    "CONTENT_TYPE",
    "DEFAULT_BUCKETS",
    "Counter",
    "Gauge",
    "Histogram",
    "Registry",
    "escape_help",
    "escape_label_value",
    "format_value",
]

#: The Content-Type of the text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Latency buckets in seconds (those of the official clients).
DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Kind = Literal["counter", "gauge", "histogram"]


def escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def escape_label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def format_value(value: float) -> str:
    """A sample value or `le` bound as Go's client writes it: whole numbers without a fraction
    ("3", "1"), other floats in their shortest round-tripping form ("0.005", "2.5", "1e+20"),
    and the specials "+Inf", "-Inf" and "NaN"."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def _labels_text(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [
        f'{name}="{escape_label_value(value)}"' for name, value in zip(names, values, strict=True)
    ]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


C = TypeVar("C")


class _Family(Generic[C]):
    """A metric family: a name, help text, label names, and one child per label-value tuple."""

    kind: ClassVar[Kind]

    def __init__(self, name: str, help: str, labelnames: Sequence[str] = ()) -> None:
        if not _METRIC_NAME.fullmatch(name):
            raise ValueError(f"invalid metric name {name!r}")
        for label in labelnames:
            if not _LABEL_NAME.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"invalid label name {label!r} for {name}")
        if len(set(labelnames)) != len(labelnames):
            raise ValueError(f"duplicate label names for {name}: {list(labelnames)}")
        self.name = name
        self.help = help
        self.labelnames = tuple(labelnames)
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], C] = {}
        if not self.labelnames:  # an unlabelled metric shows 0 before its first change
            self._children[()] = self._new_child()

    def labels(self, *values: str, **named: str) -> C:
        """The child for these label values (positional, in label order, or by name)."""
        if values and named:
            raise ValueError("give label values by position or by name, not both")
        if named:
            if set(named) != set(self.labelnames):
                raise ValueError(
                    f"{self.name} has labels {list(self.labelnames)}, got {sorted(named)}"
                )
            values = tuple(named[label] for label in self.labelnames)
        if len(values) != len(self.labelnames):
            raise ValueError(
                f"{self.name} has labels {list(self.labelnames)}, got {len(values)} values"
            )
        key = tuple(str(value) for value in values)
        child = self._children.get(key)
        if child is None:
            with self._lock:
                child = self._children.get(key)
                if child is None:
                    child = self._children[key] = self._new_child()
        return child

    def _only(self) -> C:
        if self.labelnames:
            raise ValueError(f"{self.name} has labels {list(self.labelnames)}: use .labels(...)")
        return self.labels()

    def _new_child(self) -> C:
        raise NotImplementedError

    def _series(self) -> Iterator[tuple[tuple[str, ...], C]]:
        with self._lock:
            items = sorted(self._children.items())
        yield from items

    def samples(self) -> Iterator[str]:
        raise NotImplementedError

    def render(self) -> str:
        lines = [f"# HELP {self.name} {escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        lines.extend(self.samples())
        return "\n".join(lines) + "\n"


class _Value:
    """One number, optionally read from a function at scrape time."""

    __slots__ = ("_function", "_lock", "_value")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._value = 0.0
        self._function: Callable[[], float] | None = None

    def get(self) -> float:
        if self._function is not None:
            return float(self._function())
        return self._value

    def set_function(self, function: Callable[[], float]) -> None:
        """Read the value from `function` whenever the metric is rendered (state kept
        elsewhere, such as a watcher's reconnect count)."""
        self._function = function


class CounterChild(_Value):
    __slots__ = ()

    def inc(self, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError("a counter only goes up")
        with self._lock:
            self._value += amount


class GaugeChild(_Value):
    __slots__ = ()

    def set(self, value: float) -> None:
        with self._lock:
            self._value = float(value)

    def inc(self, amount: float = 1.0) -> None:
        with self._lock:
            self._value += amount

    def dec(self, amount: float = 1.0) -> None:
        self.inc(-amount)


V = TypeVar("V", bound=_Value)


class _ValueFamily(_Family[V]):
    """A family whose children are single values (counters and gauges)."""

    def get(self) -> float:
        return self._only().get()

    def set_function(self, function: Callable[[], float]) -> None:
        self._only().set_function(function)

    def samples(self) -> Iterator[str]:
        for values, child in self._series():
            yield f"{self.name}{_labels_text(self.labelnames, values)} {format_value(child.get())}"


class Counter(_ValueFamily[CounterChild]):
    """A value that only goes up. Name it `..._total`."""

    kind = "counter"

    def _new_child(self) -> CounterChild:
        return CounterChild()

    def inc(self, amount: float = 1.0) -> None:
        self._only().inc(amount)


class Gauge(_ValueFamily[GaugeChild]):
    """A value that goes up and down."""

    kind = "gauge"

    def _new_child(self) -> GaugeChild:
        return GaugeChild()

    def set(self, value: float) -> None:
        self._only().set(value)

    def inc(self, amount: float = 1.0) -> None:
        self._only().inc(amount)

    def dec(self, amount: float = 1.0) -> None:
        self._only().dec(amount)


class HistogramChild:
    __slots__ = ("_bounds", "_counts", "_lock", "_sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self._lock = threading.Lock()
        self._bounds = bounds
        # Per-bucket (not cumulative) counts; the last one is the +Inf bucket.
        self._counts = [0] * (len(bounds) + 1)
        self._sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bucket (le = "less or equal").
        index = bisect.bisect_left(self._bounds, value)
        with self._lock:
            self._counts[index] += 1
            self._sum += value

    def snapshot(self) -> tuple[list[int], float]:
        """Cumulative bucket counts (the +Inf bucket last, equal to the count) and the sum."""
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative: list[int] = []
        running = 0
        for count in counts:
            running += count
            cumulative.append(running)
        return cumulative, total


class Histogram(_Family[HistogramChild]):
    """Observations counted in cumulative buckets, with their sum and count."""

    kind = "histogram"

    def __init__(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> None:
        if "le" in labelnames:
            raise ValueError(f"{name}: a histogram cannot have a label named le")
        bounds = sorted(float(bound) for bound in buckets if not math.isinf(bound))
        if not bounds or len(set(bounds)) != len(bounds) or any(math.isnan(b) for b in bounds):
            raise ValueError(f"{name}: buckets must be distinct finite numbers")
        self.buckets = tuple(bounds)
        super().__init__(name, help, labelnames)

    def _new_child(self) -> HistogramChild:
        return HistogramChild(self.buckets)

    def observe(self, value: float) -> None:
        self._only().observe(value)

    def samples(self) -> Iterator[str]:
        for values, child in self._series():
            cumulative, total = child.snapshot()
            for bound, count in zip((*self.buckets, math.inf), cumulative, strict=True):
                le = f'le="{format_value(bound)}"'
                yield f"{self.name}_bucket{_labels_text(self.labelnames, values, le)} {count}"
            labels = _labels_text(self.labelnames, values)
            yield f"{self.name}_sum{labels} {format_value(total)}"
            yield f"{self.name}_count{labels} {cumulative[-1]}"


class Registry:
    """The metric families of one process, rendered together."""

    def __init__(self) -> None:
        self._families: dict[str, _Family[object]] = {}
        self._collectors: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def _add(self, family: _Family[C]) -> _Family[C]:
        with self._lock:
            if family.name in self._families:
                raise ValueError(f"metric {family.name} is already registered")
            self._families[family.name] = family  # type: ignore[assignment]
        return family

    def counter(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Counter:
        counter = Counter(name, help, labelnames)
        self._add(counter)
        return counter

    def gauge(self, name: str, help: str, labelnames: Sequence[str] = ()) -> Gauge:
        gauge = Gauge(name, help, labelnames)
        self._add(gauge)
        return gauge

    def histogram(
        self,
        name: str,
        help: str,
        labelnames: Sequence[str] = (),
        buckets: Iterable[float] = DEFAULT_BUCKETS,
    ) -> Histogram:
        histogram = Histogram(name, help, labelnames, buckets)
        self._add(histogram)
        return histogram

    def add_collector(self, collector: Callable[[], None]) -> None:
        """Run `collector` before each rendering (to refresh gauges from the outside world)."""
        self._collectors.append(collector)

    def render(self) -> str:
        """Every family in the text exposition format 0.0.4."""
        for collector in self._collectors:
            collector()
        with self._lock:
            families = list(self._families.values())
        return "".join(family.render() for family in families)
