"""`tg health`: verdicts computed from real broken states, the JSON shape, and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg
from tests.models.test_manifest import make_model

TOP_LEVEL = {"status", "execution_enabled", "can_trade", "analysis_ready", "note", "mode", "profile", "checks"}


def test_fresh_clone_is_degraded_not_ready_and_says_run_train(project: Path) -> None:
    out = invoke("health", "--json")
    report = out.json()
    assert set(report) == TOP_LEVEL
    assert out.code == 0
    assert report["status"] == "degraded"
    assert report["execution_enabled"] is False and report["can_trade"] is False
    assert report["analysis_ready"] is False
    assert "tg train" in report["note"]
    assert set(report["checks"]) == {"config", "paths", "models", "audit", "execution"}
    assert all({"ok", "verdict", "detail"} <= set(c) for c in report["checks"].values())


def test_degraded_fails_under_strict(project: Path) -> None:
    assert invoke("health", "profile=strict", "--json").code == 1


def test_trained_model_makes_it_healthy_and_ready(project: Path) -> None:
    make_model(project / "models_saved")
    out = invoke("health", "--json")
    report = out.json()
    assert (out.code, report["status"], report["analysis_ready"]) == (0, "healthy", True)
    assert "v1" in report["note"]
    assert invoke("health", "profile=strict").code == 0


def test_tampered_model_is_unhealthy(project: Path) -> None:
    model_dir = make_model(project / "models_saved")
    (model_dir / "scaler.json").write_bytes(b'{"mean": [9]}')
    out = invoke("health", "--json")
    assert out.code == 1
    assert out.json()["status"] == "unhealthy"
    assert "sha256 mismatch" in out.json()["checks"]["models"]["detail"]


def test_missing_directory_degrades_and_names_it(project: Path) -> None:
    shutil.rmtree(project / "backups")
    report = invoke("health", "--json").json()
    assert report["checks"]["paths"]["verdict"] == "warn"
    assert "backups" in report["checks"]["paths"]["detail"]
    assert not (project / "backups").exists()  # health never creates what it checks


def test_tampered_audit_chain_is_unhealthy(project: Path) -> None:
    from tg.ops.audit import AuditLog

    log = AuditLog(project / "audit" / "audit.jsonl")
    log.append("train", {"n": 1})
    log.append("deploy", {"n": 2})
    log.path.write_text(log.path.read_text().replace('"n": 1', '"n": 5'))
    out = invoke("health", "--json")
    assert out.code == 1
    assert "line 1" in out.json()["checks"]["audit"]["detail"]


def test_corrupt_installed_config_is_an_unhealthy_verdict_not_a_traceback(project: Path, conf_copy: Path) -> None:
    (conf_copy / "config.yaml").write_text("defaults: [tg_schema\n")
    out = invoke("health", "--json")
    assert out.code == 1
    report = out.json()
    assert report["status"] == "unhealthy" and report["checks"]["config"]["verdict"] == "fail"
    assert "Traceback" not in out.stderr


def test_unknown_key_on_the_command_line_is_usage_exit_2(project: Path) -> None:
    out = invoke("health", "foo.bar=1")
    assert out.code == 2
    assert "foo" in out.stderr and "Traceback" not in out.stderr
    assert out.stdout == ""


def test_execution_enabled_in_config_is_flagged(project: Path) -> None:
    report = invoke("health", "execution_enabled=true", "--json").json()
    assert report["execution_enabled"] is False  # nothing can execute, whatever the config says
    assert report["checks"]["execution"]["verdict"] == "fail"


def test_read_only_directory_is_unhealthy(project: Path) -> None:
    """A real read-only directory (a read-only bind mount when running as root)."""
    import os

    target = project / "logs"
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.fail("unshare is required to make a read-only mount as root")
        wrap = [
            "unshare",
            "-m",
            "sh",
            "-c",
            f'mount --bind "{target}" "{target}" && mount -o remount,bind,ro "{target}" && exec "$0" "$@"',
        ]
    else:
        target.chmod(0o555)
        wrap = None
    out = run_tg("health", "--json", cwd=project, wrap=wrap)
    assert out.code == 1, out.stderr
    assert out.json()["checks"]["paths"]["paths"]["logs"]["writable"] is False
    assert "logs" in out.json()["checks"]["paths"]["detail"]


def test_installed_console_script_health_json(project: Path) -> None:
    out = run_tg("health", "--json", cwd=project)
    assert out.code == 0
    assert out.json()["status"] == "degraded"
    assert run_tg("health", "profile=nope", cwd=project).code == 2
