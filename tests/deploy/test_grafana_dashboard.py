"""deploy/grafana/tg-dashboard.json: a valid Grafana dashboard over the metrics tg really exports."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy import (
    DEPLOY,
    PLAYBOOK,
    exported_metric_names,
    promql_metric_names,
    raw_counter_uses,
    run_promtool,
)

DASHBOARD = DEPLOY / "grafana" / "tg-dashboard.json"
# Grafana's variables, replaced by what Grafana would send so promtool can parse the expressions
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h", "$instance": ".*"}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # rows hold their panels when collapsed


def _targets(dashboard: dict[str, Any]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for panel in _panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield panel, target


def _variable_exprs(dashboard: dict[str, Any]) -> Iterator[str]:
    """The PromQL of query variables: `label_values(expr, label)` reads `expr`."""
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
        match = re.fullmatch(r"label_values\((.*),\s*\w+\)", query.strip())
        yield match.group(1) if match else query


def test_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "tg-overview"
    assert dashboard["title"] == "tg — Trading Graph"
    assert dashboard["schemaVersion"] == 39


def test_datasource_variable(dashboard: dict[str, Any]) -> None:
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in _panels(dashboard["panels"]):
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
    for _, target in _targets(dashboard):
        assert target["datasource"]["uid"] == "${datasource}"


def test_panel_ids_unique_and_laid_out(dashboard: dict[str, Any]) -> None:
    panels = list(_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), f"duplicate panel ids: {sorted(i for i in ids if ids.count(i) > 1)}"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0, panel["title"]
    for _, target in _targets(dashboard):
        assert target["expr"].strip() and target["refId"]


def test_exprs_use_only_exported_metrics(dashboard: dict[str, Any]) -> None:
    exported = exported_metric_names()
    exprs = [(panel["title"], target["expr"]) for panel, target in _targets(dashboard)]
    exprs += [("variable", expr) for expr in _variable_exprs(dashboard)]
    assert len(exprs) > 10
    for title, expr in exprs:
        used = promql_metric_names(expr)
        assert used, f"{title}: no metric in {expr!r}"
        assert used <= exported, f"{title} reads metrics tg does not export: {sorted(used - exported)}"
        assert not raw_counter_uses(expr), f"{title} plots raw counter values: {raw_counter_uses(expr)}"


def test_every_playbook_metric_has_a_panel(dashboard: dict[str, Any]) -> None:
    used = set().union(*(promql_metric_names(target["expr"]) for _, target in _targets(dashboard)))
    for metric, series in PLAYBOOK.items():
        assert set(series) <= used, f"no panel shows playbook metric {metric} ({series})"


def test_requested_panels(dashboard: dict[str, Any]) -> None:
    used = set().union(*(promql_metric_names(target["expr"]) for _, target in _targets(dashboard)))
    wanted = {
        "up",
        "tg_ready",
        "tg_model_age_seconds",
        "tg_data_last_bar_age_seconds",
        "tg_source_breaker_open",
        "tg_http_requests_total",
        "tg_http_request_duration_seconds_bucket",
        "tg_cache_hit_ratio",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
    }
    assert wanted <= used, f"no panel for {sorted(wanted - used)}"
    exprs = [target["expr"] for _, target in _targets(dashboard)]
    assert any("histogram_quantile(0.5," in e and "tg_prediction_latency_seconds_bucket" in e for e in exprs)
    assert any("histogram_quantile(0.99," in e and "tg_prediction_latency_seconds_bucket" in e for e in exprs)
    assert any("/ 3600" in e and "tg_model_age_seconds" in e for e in exprs), "model age not in hours"


def test_exprs_parse_as_promql(dashboard: dict[str, Any], tmp_path: Path) -> None:
    """promtool parses every expression (written as recording rules, Grafana variables filled in)."""
    rules = []
    for n, (_, target) in enumerate(_targets(dashboard)):
        expr = target["expr"]
        for variable, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(variable, value)
        assert "$" not in expr, f"unknown Grafana variable in {expr!r}"
        rules.append({"record": f"dashboard:target_{n}", "expr": expr})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8")
    result = run_promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
