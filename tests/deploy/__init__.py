"""Tests of the deployment assets under deploy/ (alert rules, Grafana dashboard, systemd unit).

Shared helpers: the metric names tg really exports, and the metric names a PromQL expression reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"

# Prometheus' own series about every target, used by TgDown and the "up" panel
PROMETHEUS_SERIES = frozenset({"up"})

# the ops playbook: metric -> the series tg exports for it
PLAYBOOK = {
    "data_fetch_errors": ("tg_data_fetch_errors_total",),
    "prediction_latency_seconds": ("tg_prediction_latency_seconds_bucket",),
    "model_load_errors": ("tg_model_load_errors_total",),
    "cache_hit_ratio": ("tg_cache_hits_total", "tg_cache_misses_total"),
    "consecutive_failures": ("tg_consecutive_failures",),
}


def exported_metric_names() -> set[str]:
    """Every series name in a real `TgMetrics` exposition, after one sample of every metric.

    Labelled metrics show no series until a child exists, and the scrape-time gauges only once a
    source is provided, so each gets one sample first. The names are the exposition's sample names:
    a counter's `_total`, a histogram's `_bucket`/`_sum`/`_count` (what PromQL can select), never a
    histogram's bare family name.
    """
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
    from prometheus_client.parser import text_string_to_metric_families

    from tg.ops.metrics import SCRAPE_GAUGES, TgMetrics

    metrics = TgMetrics(CollectorRegistry())
    for metric in vars(metrics).values():
        if not isinstance(metric, Counter | Gauge | Histogram):
            continue
        # one child per labelled metric (prometheus-client keeps no public accessor of label names)
        values = ["x"] * len(metric._labelnames)
        if isinstance(metric, Counter):
            (metric.labels(*values) if values else metric).inc()
        elif isinstance(metric, Gauge):
            (metric.labels(*values) if values else metric).set(1)
        else:
            (metric.labels(*values) if values else metric).observe(0.01)
    for name in SCRAPE_GAUGES:
        metrics.gauges.provide(name, lambda: {("x",): 1.0}, labels=("label",))
    text = generate_latest(metrics.registry).decode()
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    return names | PROMETHEUS_SERIES


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)")
# an identifier not preceded by a word character, `.` or `$` (numbers, durations, variables) and
# not followed by `(` (a function call)
_IDENT = re.compile(r"(?<![\w.$:])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()")
_KEYWORDS = frozenset(
    {
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
        "offset",
        "atan2",
        "inf",
        "nan",
    }
)


def promql_metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (label values, durations, functions excluded)."""
    expr = _STRINGS.sub('""', expr)
    expr = _MATCHERS.sub("", expr)
    expr = _RANGES.sub("", expr)
    expr = _GROUPING.sub("", expr)
    return {name for name in _IDENT.findall(expr) if name.lower() not in _KEYWORDS}


def raw_counter_uses(expr: str) -> list[str]:
    """Counters and histogram buckets read as raw values instead of through rate()/increase()."""
    bad = []
    for name in promql_metric_names(expr):
        if not name.endswith(("_total", "_bucket", "_sum", "_count")):
            continue
        uses = len(re.findall(rf"(?<![\w:]){re.escape(name)}(?![\w:])", expr))
        wrapped = len(re.findall(rf"\b(?:rate|irate|increase)\(\s*{re.escape(name)}\s*(?:\{{[^{{}}]*\}})?\s*\[", expr))
        if wrapped != uses:
            bad.append(name)
    return bad


def promtool() -> str:
    """The promtool binary; a missing one FAILS the test (CI installs it: scripts/system-deps)."""
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not installed: run scripts/system-deps (Debian package `prometheus`)")
    return path


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, timeout=120, check=False, cwd=REPO
    )
