"""deploy/prometheus/alerts.yml: promtool accepts it, its unit tests pass, and it matches tg's metrics."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

import tests.deploy as deploy
from tests.deploy import (
    DEPLOY,
    PLAYBOOK,
    exported_metric_names,
    promql_metric_names,
    raw_counter_uses,
    run_promtool,
)

RULES = DEPLOY / "prometheus" / "alerts.yml"
RULES_TEST = DEPLOY / "prometheus" / "alerts_test.yml"

# playbook metric -> (alert, the comparison with its threshold that must end the expression's condition)
THRESHOLDS = {
    "data_fetch_errors": ("TgDataFetchErrors", r">\s*5"),
    "prediction_latency_seconds": ("TgPredictionLatencyHigh", r">\s*2"),
    "model_load_errors": ("TgModelLoadErrors", r">\s*0"),
    "cache_hit_ratio": ("TgCacheHitRatioLow", r"<\s*0\.5"),
    "consecutive_failures": ("TgConsecutiveFailures", r">\s*3"),
}


def _alerts() -> dict[str, dict]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    groups = doc["groups"]
    assert [g["name"] for g in groups] == ["tg"]
    rules = groups[0]["rules"]
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert len(alerts) == len(rules), "duplicate alert names or non-alert rules in the tg group"
    return alerts


def test_promtool_check_rules() -> None:
    result = run_promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", RULES_TEST)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_playbook_threshold_has_an_alert() -> None:
    alerts = _alerts()
    assert set(THRESHOLDS) == set(PLAYBOOK)
    for metric, (name, comparison) in THRESHOLDS.items():
        assert name in alerts, f"no alert for playbook metric {metric}"
        expr = alerts[name]["expr"]
        assert set(PLAYBOOK[metric]) <= promql_metric_names(expr), f"{name} does not read {PLAYBOOK[metric]}"
        assert re.search(rf"\)\s*{comparison}\s*(?:$|\n|and\b)", expr), f"{name}: no `{comparison}` threshold"


def test_availability_alerts() -> None:
    alerts = _alerts()
    assert alerts["TgDown"]["expr"].strip() == 'up{job="tg"} == 0'
    assert alerts["TgDown"]["for"] == "1m"
    assert alerts["TgNotReady"]["expr"].strip() == "tg_ready == 0"
    assert alerts["TgNotReady"]["for"] == "5m"


def test_expressions_use_only_exported_metrics() -> None:
    exported = exported_metric_names()
    for name, rule in _alerts().items():
        used = promql_metric_names(rule["expr"])
        assert used, f"{name}: no metric found in its expression"
        assert used <= exported, f"{name} reads metrics tg does not export: {sorted(used - exported)}"


def test_counters_are_read_through_rate_or_increase() -> None:
    for name, rule in _alerts().items():
        assert not raw_counter_uses(rule["expr"]), (
            f"{name} compares raw counter values: {raw_counter_uses(rule['expr'])}"
        )


def test_every_alert_has_severity_summary_and_description() -> None:
    for name, rule in _alerts().items():
        assert rule.get("labels", {}).get("severity") in ("warning", "critical"), name
        annotations = rule.get("annotations", {})
        assert annotations.get("summary"), f"{name} has no summary"
        assert annotations.get("description"), f"{name} has no description"
        assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), f"{name} has no `for:` duration"


def test_every_alert_has_unit_tests() -> None:
    """alerts_test.yml asserts each alert both firing and not firing."""
    doc = yaml.safe_load(RULES_TEST.read_text(encoding="utf-8"))
    assert doc["rule_files"] == ["alerts.yml"]
    cases = [case for test in doc["tests"] for case in test.get("alert_rule_test", [])]
    for name in _alerts():
        mine = [case for case in cases if case["alertname"] == name]
        assert any(case.get("exp_alerts") for case in mine), f"no test where {name} fires"
        assert any(not case.get("exp_alerts") for case in mine), f"no test where {name} stays quiet"
        for case in mine:
            for alert in case.get("exp_alerts") or []:
                assert alert.get("exp_labels", {}).get("severity"), f"{name}: a firing case checks no labels"
                assert alert.get("exp_annotations"), f"{name}: a firing case checks no annotations"


def test_promtool_check_fails_on_broken_promql(tmp_path: Path) -> None:
    """The check can fail: a typo in one expression is reported."""
    broken = tmp_path / "alerts.yml"
    text = RULES.read_text(encoding="utf-8")
    assert "sum by (le) (rate(" in text
    broken.write_text(text.replace("sum by (le) (rate(", "sum by (le) (rate(("), encoding="utf-8")
    result = run_promtool("check", "rules", broken)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "TgPredictionLatencyHigh" in output and "parse error" in output, output


@pytest.mark.parametrize(
    ("original", "mutant"),
    [
        ("tg_data_fetch_errors_total[1m])) > 5", "tg_data_fetch_errors_total[1m])) >= 5"),
        ("tg_prediction_latency_seconds_bucket[5m]))) > 2", "tg_prediction_latency_seconds_bucket[5m]))) > 1.9"),
        (") < 0.5", ") <= 0.5"),
        ("(tg_consecutive_failures) > 3", "(tg_consecutive_failures) >= 3"),
        ("tg_model_load_errors_total[5m]) > 0", "tg_model_load_errors_total[5m]) > 1"),
        ('up{job="tg"} == 0', 'up{job="tg"} == 1'),
        ("tg_ready == 0", "tg_ready == 1"),
    ],
    ids=["fetch-errors", "latency", "cache-hit-ratio", "consecutive-failures", "model-load", "down", "not-ready"],
)
def test_unit_tests_catch_a_moved_threshold(tmp_path: Path, original: str, mutant: str) -> None:
    """The unit tests can fail: a threshold moved onto its boundary case breaks them."""
    text = RULES.read_text(encoding="utf-8")
    assert text.count(original) == 1, original
    (tmp_path / "alerts.yml").write_text(text.replace(original, mutant), encoding="utf-8")
    shutil.copy(RULES_TEST, tmp_path / "alerts_test.yml")
    assert run_promtool("check", "rules", tmp_path / "alerts.yml").returncode == 0
    result = run_promtool("test", "rules", tmp_path / "alerts_test.yml")
    assert result.returncode != 0, f"alerts_test.yml still passes with `{mutant}`"


def test_metric_name_extraction() -> None:
    """The helper the checks above rely on: functions, labels, durations and keywords are not metrics."""
    expr = (
        'histogram_quantile(0.99, sum by (le) (rate(a_bucket{x="y", z=~"$v"}[5m]))) > 2 '
        "and on (i) b offset 5m or sum(c_total) by (q) * 1e3 unless max without (w) (d:rec) > bool 0"
    )
    assert promql_metric_names(expr) == {"a_bucket", "b", "c_total", "d:rec"}
    assert raw_counter_uses("sum(c_total) > 1") == ["c_total"]
    assert raw_counter_uses('sum(increase(c_total{a="b"}[1m])) > 1') == []


def test_missing_promtool_fails_instead_of_skipping(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deploy.shutil, "which", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match="promtool is not installed"):
        deploy.promtool()
