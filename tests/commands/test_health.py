"""`tg health`: verdicts computed from real broken states, the JSON shape, and exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg, without_file_permission_override

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
    assert set(report["checks"]) == {"config", "paths", "models", "data", "audit", "restore", "execution"}
    data = report["checks"]["data"]
    assert data["verdict"] == "ok" and data["last_bar"] == "2025-10-31" and data["calendar"].startswith("XSHG")
    assert "not gated by this profile" in data["detail"]
    assert all({"ok", "verdict", "detail"} <= set(c) for c in report["checks"].values())


def test_degraded_fails_under_strict(project: Path) -> None:
    assert invoke("health", "profile=strict", "--json").code == 1


def test_trained_model_makes_it_healthy_and_ready(trained_project: Path) -> None:
    version = (trained_project / "models_saved" / "CURRENT").read_text().split()[0]
    out = invoke("health", "--json")
    report = out.json()
    assert (out.code, report["status"], report["analysis_ready"]) == (0, "healthy", True)
    assert version in report["note"]
    assert invoke("health", "profile=strict", "profile.max_data_lag_sessions=0").code == 0
    strict = invoke("health", "profile=strict", "--json")  # one session of lag allowed: the embedded data is older
    assert strict.code == 1 and strict.json()["checks"]["data"]["verdict"] == "warn"
    assert strict.json()["analysis_ready"] is True  # stale data still answers, and says so


def current_dir(project: Path) -> Path:
    models = project / "models_saved"
    return models / (models / "CURRENT").read_text().split()[0]


def test_tampered_model_is_unhealthy(trained_project: Path) -> None:
    target = current_dir(trained_project) / "linear.json"
    target.write_bytes(target.read_bytes().replace(b"1", b"7", 1))
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


def test_unreadable_model_file_is_an_unhealthy_verdict_naming_it(trained_project: Path) -> None:
    """Permission denied on a model file: every command gives one line, health a verdict (not
    "internal error"), so a monitor still gets JSON."""
    (current_dir(trained_project) / "gbm_regressor.txt").chmod(0)
    wrap = without_file_permission_override()
    health = run_tg("health", "--json", cwd=trained_project, wrap=wrap)
    assert health.code == 1, health.stderr
    report = health.json()
    assert report["status"] == "unhealthy" and report["analysis_ready"] is False
    assert "gbm_regressor.txt: unreadable (Permission denied)" in report["checks"]["models"]["detail"]
    quick = run_tg("health", "profile=quick", "--json", cwd=trained_project, wrap=wrap)
    assert quick.json()["status"] == "unhealthy"  # sizes only, but a file predict cannot open is refused
    doctor = run_tg("doctor", "--json", cwd=trained_project, wrap=wrap)
    assert "gbm_regressor.txt" in doctor.json()["models"]["detail"]
    strict = run_tg("doctor", "profile=strict", "--json", cwd=trained_project, wrap=wrap)
    assert strict.code == 1 and strict.stderr == ""
    assert "models" in strict.json()["summary"]["failed"]
    for args in (("predict", "600519"), ("evaluate",)):
        out = run_tg(*args, cwd=trained_project, wrap=wrap)
        assert out.code == 1, (args, out.stderr)
        assert out.stderr.count("\n") == 1 and "internal error" not in out.stderr, (args, out.stderr)
    for args in (("predict", "600519"), ("evaluate",)):
        assert "gbm_regressor.txt: unreadable" in run_tg(*args, cwd=trained_project, wrap=wrap).stderr


def test_leftover_of_an_interrupted_save_is_reported_not_while_a_save_runs(trained_project: Path) -> None:
    import fcntl

    leftover = trained_project / "models_saved" / ".tmp-20990101T000000000000Z"
    leftover.mkdir()
    (leftover / "gbm_classifier.txt").write_text("partial")
    report = invoke("health", "--json").json()
    assert report["status"] == "degraded" and report["analysis_ready"] is True
    assert leftover.name in report["checks"]["models"]["detail"]
    assert report["checks"]["models"]["leftovers"] == [leftover.name]
    with open(trained_project / "models_saved" / ".save.lock", "a+b") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # a save in progress: its staging is not a leftover
        assert invoke("health", "--json").json()["status"] == "healthy"


def test_an_interrupted_restore_is_reported(project: Path) -> None:
    (project / ".tg-restore-20261203T000000Z-abcd").mkdir()
    report = invoke("health", "--json").json()
    assert report["checks"]["restore"]["verdict"] == "warn" and "tg snapshot" in report["checks"]["restore"]["detail"]
