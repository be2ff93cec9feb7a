"""Prometheus metrics of tg (prometheus-client), on a registry the caller chooses.

`TgMetrics(registry)` creates every metric on that registry, so tests build their own and never
collide; a process uses one instance (`process_metrics()`, created once on first use). The data
chain, the caches, the predictor, train and the server record into it themselves; `tg serve`
exposes it at `/metrics`.

Names: `tg_` prefix, base units (seconds, bytes), counters end in `_total`, no per-symbol labels.
Gauges whose value is a fact about the system at scrape time (model age, data age, readiness,
consecutive failures) are read through `GaugeSource` callbacks when Prometheus scrapes.

prometheus-client costs ~20 ms to import: only the code that records metrics imports this module.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from tg import __version__

if TYPE_CHECKING:
    from tg.ops.recovery import RecoveryMetrics

# 1 ms .. 5 s: a warm prediction takes ~1 ms, a cold one (new date) ~50 ms, the alert fires at 2 s
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
HTTP_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

CACHES = ("bars", "predictions")
OPERATIONS = ("fetch", "predict", "train")

# name -> help, for the gauges computed at scrape time (see `GaugeSource`)
SCRAPE_GAUGES = {
    "tg_model_age_seconds": "Seconds since the current model was trained (absent when there is none).",
    "tg_data_last_bar_age_seconds": "Seconds since the close (15:00 Asia/Shanghai) of the model data's last bar.",
    "tg_data_sessions_behind": "Exchange sessions (XSHG) closed since the model data's last bar.",
    "tg_ready": "1 when /readyz would answer 200, else 0.",
    "tg_cache_hit_ratio": "Hits / lookups of a cache since the process started (absent before the first lookup).",
    "tg_consecutive_failures": "Failed runs of an operation in a row, from the recovery metrics.",
    "tg_operation_success_ratio": "Share of successful runs of an operation over the recovery window.",
}


class TgMetrics:
    """Every metric tg records, created on `registry`."""

    def __init__(self, registry: CollectorRegistry | None = None, process: bool = True) -> None:
        from prometheus_client import disable_created_metrics

        disable_created_metrics()  # no `_created` twin of every counter: half the exposition, no value to us
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        r = self.registry
        self.fetch_errors = Counter(
            "tg_data_fetch_errors", "Failed requests to a market-data source (each attempt).", ["source"], registry=r
        )
        self.fetches = Counter("tg_data_fetches", "Requests answered by a market-data source.", ["source"], registry=r)
        self.breaker_open = Gauge(
            "tg_source_breaker_open", "1 while the circuit breaker of a source is open.", ["source"], registry=r
        )
        self.prediction_latency = Histogram(
            "tg_prediction_latency_seconds",
            "Time to answer one prediction (answer-cache hits included).",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_load_errors = Counter(
            "tg_model_load_errors", "Models refused at load (partial, tampered, unreadable).", registry=r
        )
        self.cache_hits = Counter("tg_cache_hits", "Cache lookups answered from the cache.", ["cache"], registry=r)
        self.cache_misses = Counter("tg_cache_misses", "Cache lookups that missed.", ["cache"], registry=r)
        self.operations = Counter(
            "tg_operations", "Operations run by this process, by outcome.", ["operation", "outcome"], registry=r
        )
        self.operation_duration = Histogram(
            "tg_operation_duration_seconds",
            "Duration of fetch, predict, train and other recorded operations.",
            ["operation"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0, 120.0, 600.0, 1800.0),
            registry=r,
        )
        self.http_requests = Counter(
            "tg_http_requests", "HTTP requests served, by route template.", ["route", "method", "status"], registry=r
        )
        self.http_latency = Histogram(
            "tg_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["route"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.build_info = Gauge(
            "tg_build_info", "Always 1; labels name the build.", ["version", "python", "commit"], registry=r
        )
        self.build_info.labels(__version__, platform.python_version(), _commit()).set(1)
        self.gauges = GaugeSource()
        r.register(self.gauges)
        if process:
            ProcessCollector(registry=r)

    def prepare(self, sources: list[str], operations: tuple[str, ...] = OPERATIONS) -> None:
        """Create the labelled series a long-running process will use, at zero, so every metric is
        in the exposition from the first scrape (and `rate()` sees the first increment)."""
        for source in sources:
            self.fetch_errors.labels(source)
            self.fetches.labels(source)
            self.breaker_open.labels(source).set(0)
        for cache in CACHES:
            self.cache_hits.labels(cache)
            self.cache_misses.labels(cache)
        for operation in operations:
            for outcome in ("success", "failure"):
                self.operations.labels(operation, outcome)

    def record_operation(
        self,
        recovery: RecoveryMetrics,
        operation: str,
        success: bool,
        duration_seconds: float,
        attempts: int = 1,
        error: str | None = None,
    ) -> None:
        """One run of `operation`: into the recovery metrics (persisted, shared by every process) and
        this process's `tg_operations_total` / `tg_operation_duration_seconds`."""
        recovery.record_operation(operation, success, duration_seconds, attempts=attempts, error=error)
        self.operations.labels(operation, "success" if success else "failure").inc()
        self.operation_duration.labels(operation).observe(duration_seconds)

    def cache_lookup(self, cache: str, hit: bool) -> None:
        (self.cache_hits if hit else self.cache_misses).labels(cache).inc()

    def cache_ratio(self, cache: str) -> float | None:
        """Hits / lookups of `cache` so far in this process (None before the first lookup)."""
        hits, misses = counted(self.cache_hits, cache=cache), counted(self.cache_misses, cache=cache)
        return hits / (hits + misses) if hits + misses else None


def counted(counter: Counter, **labels: str) -> float:
    """The current value of one labelled series of `counter` (0 before its first increment).

    Reads only that metric: the registry's `get_sample_value` would collect every collector,
    the scrape-time gauges included."""
    for family in counter.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels == labels:
                return float(sample.value)
    return 0.0


class GaugeSource(Collector):
    """Gauges computed when scraped: each name maps to a callback returning {labels: value}."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[tuple[str, ...], Callable[[], dict[tuple[str, ...], float]]]] = {}
        self._lock = threading.Lock()

    def provide(
        self, name: str, read: Callable[[], dict[tuple[str, ...], float]], labels: tuple[str, ...] = ()
    ) -> None:
        """Serve gauge `name` (one of SCRAPE_GAUGES) from `read()`; an empty dict leaves it absent."""
        if name not in SCRAPE_GAUGES:
            raise ValueError(f"unknown scrape-time gauge {name!r}")
        with self._lock:
            self._sources[name] = (labels, read)

    def describe(self) -> list[Any]:
        return []  # values depend on state: nothing to check for collisions at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self._lock:
            sources = dict(self._sources)
        for name, (labels, read) in sources.items():
            family = GaugeMetricFamily(name, SCRAPE_GAUGES[name], labels=list(labels))
            for key, value in read().items():
                family.add_metric(list(key), value)
            yield family


_process: TgMetrics | None = None
_process_lock = threading.Lock()


def process_metrics() -> TgMetrics:
    """This process's metrics: the ones `use_process_metrics` installed, else a set on
    prometheus-client's default registry (created on first use)."""
    global _process
    with _process_lock:
        if _process is None:
            from prometheus_client import REGISTRY

            # the default registry already carries the process and platform collectors
            _process = TgMetrics(REGISTRY, process=False)
        return _process


def use_process_metrics(metrics: TgMetrics) -> None:
    """Make `metrics` this process's (the server installs the set it exposes at /metrics)."""
    global _process
    with _process_lock:
        _process = metrics


def _commit() -> str:
    """The git commit of the running code when it runs from a checkout, else "unknown"."""
    from pathlib import Path

    git = Path(__file__).resolve().parents[2] / ".git"
    try:
        ref = (git / "HEAD").read_text(encoding="utf-8").strip()
        if ref.startswith("ref: "):
            name = ref[5:]
            loose = git / name
            if loose.is_file():
                ref = loose.read_text(encoding="utf-8").strip()
            else:
                packed = (git / "packed-refs").read_text(encoding="utf-8").splitlines()
                ref = next((line.split()[0] for line in packed if line.endswith(" " + name)), "")
        return ref[:12] or "unknown"
    except OSError:
        return "unknown"
