"""`tg doctor`: the report's shape, profile gating, --fix, and real broken states."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg

SECTIONS = {
    "timestamp",
    "tg_version",
    "python",
    "profile",
    "dependencies",
    "paths",
    "models",
    "data",
    "leftovers",
    "config",
    "institutional_readiness",
    "checks",
    "fixed",
    "summary",
}
CONTROLS = {
    "execution_disabled",
    "audit_log",
    "model_checksums",
    "log_rotation",
    "metrics_exposure",
    "no_credentials_in_config",
    "recent_snapshot",
}


def test_fresh_clone_passes_default_and_fails_strict_naming_models(project: Path) -> None:
    out = invoke("doctor", "--json")
    report = out.json()
    assert out.code == 0, report["summary"]
    assert set(report) == SECTIONS
    assert report["summary"] == {"pass": True, "failed": [], "warnings": ["models"]}
    assert "+" in report["timestamp"] or report["timestamp"].endswith("Z")  # has a zone
    assert {"ensembles", "forecasters", "scalers"} <= set(report["models"])
    assert {c["id"] for c in report["institutional_readiness"]["controls"]} == CONTROLS
    for control in report["institutional_readiness"]["controls"]:
        assert set(control) == {"id", "required", "ok", "expected", "actual", "message", "evaluated"}
        assert control["evaluated"] == control["required"]  # only what the profile requires is evaluated
    assert report["dependencies"]["hydra-core"]["installed"] is True
    assert report["dependencies"]["hydra-core"]["required"] is True
    strict = invoke("doctor", "profile=strict", "--json")
    assert strict.code == 1
    assert "models" in strict.json()["summary"]["failed"]


def test_strict_passes_with_a_model_and_a_recent_verified_snapshot_only(trained_project: Path) -> None:
    project = trained_project
    fresh_enough = "profile.max_data_lag_sessions=0"  # the embedded data ends 2025-10-31: not gated here
    placeholder = project / "backups" / "snapshot_29991231.tar.gz"
    placeholder.write_bytes(b"placeholder")  # named like a snapshot, sorts newest: proves nothing
    report = invoke("doctor", "profile=strict", fresh_enough, "--json").json()
    assert report["summary"]["failed"] == ["institutional_readiness"]
    control = next(c for c in report["institutional_readiness"]["controls"] if c["id"] == "recent_snapshot")
    assert not control["ok"] and "does not verify" in control["actual"]
    placeholder.unlink()
    assert invoke("snapshot", "create", "--include-models").code == 0
    assert invoke("doctor", "profile=strict", fresh_enough).code == 0
    time.sleep(0.5)
    too_old = invoke("doctor", "profile=strict", fresh_enough, "profile.snapshot_max_age_hours=0.0001", "--json")
    control = next(c for c in too_old.json()["institutional_readiness"]["controls"] if c["id"] == "recent_snapshot")
    assert too_old.code == 1 and not control["ok"] and "verified" in control["actual"]
    stale = invoke("doctor", "profile=strict", "--json").json()  # strict allows one session of lag
    assert stale["summary"]["failed"] == ["data"] and stale["data"]["detail"].startswith("stale: last bar 2025-10-31")


def test_missing_required_package_fails_the_dependency_section(project: Path) -> None:
    out = invoke("doctor", "profile.required_packages=[hydra-core,no-such-package-tg]", "--json")
    assert out.code == 1
    report = out.json()
    assert report["dependencies"]["no-such-package-tg"] == {"installed": False, "version": None, "required": True}
    assert report["summary"]["failed"] == ["dependencies"]


def test_missing_optional_package_is_reported_but_does_not_fail(project: Path) -> None:
    out = invoke("doctor", "profile.optional_packages=[no-such-package-tg]", "--json")
    assert out.code == 0
    assert out.json()["dependencies"]["no-such-package-tg"]["installed"] is False


def test_doctor_never_creates_what_it_checks_and_fix_says_what_it_created(project: Path) -> None:
    shutil.rmtree(project / "cache")
    shutil.rmtree(project / "audit")
    out = invoke("doctor", "--json")
    assert out.code == 1 and out.json()["summary"]["failed"] == ["paths"]
    assert not (project / "cache").exists()
    fixed = invoke("doctor", "--fix", "--json")
    assert fixed.code == 0
    assert sorted(Path(p).name for p in fixed.json()["fixed"]) == ["audit", "cache"]
    assert (project / "cache").is_dir()


def test_tampered_audit_chain_fails_readiness(project: Path) -> None:
    from tg.ops.audit import AuditLog

    log = AuditLog(project / "audit" / "audit.jsonl")
    log.append("train")
    log.append("train")
    lines = log.path.read_text().splitlines()
    log.path.write_text(lines[1] + "\n" + lines[0] + "\n")
    report = invoke("doctor", "--json").json()
    audit = next(c for c in report["institutional_readiness"]["controls"] if c["id"] == "audit_log")
    assert not audit["ok"] and "line 1" in audit["actual"]
    assert report["institutional_readiness"]["pass"] is False


def test_public_bind_without_api_key_fails_metrics_exposure(project: Path) -> None:
    report = invoke("doctor", "serve.host=0.0.0.0", "--json").json()
    control = next(c for c in report["institutional_readiness"]["controls"] if c["id"] == "metrics_exposure")
    assert not control["ok"]
    keyed = invoke("doctor", "serve.host=0.0.0.0", "--json", "serve.api_key=k").json()
    control = next(c for c in keyed["institutional_readiness"]["controls"] if c["id"] == "metrics_exposure")
    assert control["ok"] and "k" not in control["actual"].replace("api_key", "")


def test_credentials_in_a_config_file_fail_the_control_without_echoing_them(project: Path, conf_copy: Path) -> None:
    text = (conf_copy / "config.yaml").read_text().replace('api_key: ""', "api_key: sk-live-123456")
    (conf_copy / "config.yaml").write_text(text)
    out = invoke("doctor", "--json")
    controls = out.json()["institutional_readiness"]["controls"]
    control = next(c for c in controls if c["id"] == "no_credentials_in_config")
    assert not control["ok"] and "config.yaml" in control["actual"]
    assert "sk-live-123456" not in out.stdout


def test_disabled_log_rotation_fails_the_control(project: Path) -> None:
    report = invoke("doctor", "logging.max_bytes=0", "--json").json()
    control = next(c for c in report["institutional_readiness"]["controls"] if c["id"] == "log_rotation")
    assert not control["ok"]


def test_corrupt_config_fails_doctor_with_the_error_listed(project: Path, conf_copy: Path) -> None:
    (conf_copy / "profile" / "default.yaml").write_text("name: default\nfail_on_degraded: maybe\n")
    out = invoke("doctor", "--json")
    assert out.code == 1
    report = out.json()
    assert report["config"]["valid"] is False and "fail_on_degraded" in report["config"]["errors"][0]
    assert "config" in report["summary"]["failed"]


def test_unknown_profile_exits_2_in_a_subprocess(project: Path) -> None:
    out = run_tg("doctor", "profile=nope", cwd=project)
    assert out.code == 2
    assert "profile/nope" in out.stderr and "Traceback" not in out.stderr


def test_readable_table_without_json(project: Path) -> None:
    out = invoke("doctor")
    assert "institutional readiness" in out.stdout and "PASS" in out.stdout


def test_each_profile_hashes_only_what_it_requires_and_each_file_once(
    trained_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """quick re-hashes nothing; default and strict hash every model file exactly once per run."""
    from tg.models import manifest

    hashed: list[str] = []
    real = manifest.sha256_file

    def counting(path: Path) -> str:
        hashed.append(path.name)
        return real(path)

    monkeypatch.setattr(manifest, "sha256_file", counting)
    files = len(json.loads((next((trained_project / "models_saved").glob("*/manifest.json"))).read_text())["files"])
    for profile, expected in (("quick", 0), ("default", files), ("strict", files)):
        hashed.clear()
        invoke("doctor", f"profile={profile}", "--json")
        assert len(hashed) == expected, (profile, hashed)
        assert len(set(hashed)) == len(hashed)
        hashed.clear()
        invoke("health", f"profile={profile}", "--json")
        assert len(hashed) == expected, (profile, hashed)


def test_quick_profile_lists_unrequired_controls_as_not_evaluated(trained_project: Path) -> None:
    report = invoke("doctor", "profile=quick", "--json").json()
    controls = {c["id"]: c for c in report["institutional_readiness"]["controls"]}
    assert controls["execution_disabled"]["ok"] is True
    assert controls["model_checksums"] == {
        "id": "model_checksums",
        "required": False,
        "ok": None,
        "evaluated": False,
        "expected": "",
        "actual": "",
        "message": "not evaluated: profile quick does not require it",
    }


def test_leftovers_of_killed_writes_are_listed_then_cleared_by_the_next_write(project: Path) -> None:
    from datetime import date

    import numpy as np

    from tg.data.bar_store import BarStore
    from tg.data.bars import BarSet
    from tg.data.symbols import parse_symbol

    store = project / "data_storage" / "bars" / "none"
    symbol = parse_symbol("600519")
    bars = BarSet(
        symbol,
        "tencent",
        "none",
        np.array(["2025-10-30"], dtype="datetime64[D]"),
        np.ones(1),
        np.ones(1),
        np.ones(1),
        np.ones(1),
        np.full(1, 100.0),
        np.full(1, 100.0),
    )
    BarStore(store).save(bars)
    leftover = store / "features" / "sh600519" / ".close.day.bin.abc123.tmp"
    leftover.write_bytes(b"half")
    old = time.time() - 3600
    os.utime(leftover, (old, old))
    (project / "models_saved" / ".tmp-20990101T000000000000Z").mkdir()
    report = invoke("doctor", "--json").json()
    assert report["leftovers"]["ok"] is False and report["leftovers"]["data"] == [str(leftover)]
    assert report["leftovers"]["models"] == [str(project / "models_saved" / ".tmp-20990101T000000000000Z")]
    assert "leftovers" in report["summary"]["warnings"]
    BarStore(store).save(bars.select(np.array([True])))
    assert not leftover.exists() and date(2025, 10, 30) == BarStore(store).last_date(symbol)


def test_a_broken_env_file_still_runs_the_profile_asked_for(project: Path) -> None:
    """Before: with a malformed `.env`, `tg doctor profile=strict` fell back to the default profile and its
    (fewer) requirements, silently."""
    (project / ".env").write_text("TG_PROFILE=dev\nTHIS LINE IS BROKEN\n")
    out = run_tg("doctor", "profile=strict", "--json", cwd=project)
    report = json.loads(out.stdout)
    assert out.code == 1 and report["profile"] == "strict"
    assert "line 2" in json.dumps(report["config"])
    controls = report["institutional_readiness"]["controls"]
    assert {c["id"] for c in controls if c["required"]} == CONTROLS
