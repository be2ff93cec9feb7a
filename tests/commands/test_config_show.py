"""`tg config show`: what an override or a TRADING_* variable did, with secrets masked."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import invoke, run_tg


def test_environment_variable_shows_up(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_LOG_LEVEL", "DEBUG")
    assert invoke("config", "show", "--json").json()["logging"]["level"] == "DEBUG"


def test_command_line_wins_over_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_LOG_LEVEL", "DEBUG")
    out = invoke("config", "show", "logging.level=WARNING")
    assert "level: WARNING" in out.stdout
    assert "# command line: logging.level=WARNING" in out.stdout


def test_dotenv_is_applied_and_labelled(project: Path) -> None:
    (project / ".env").write_text("TRADING_METRICS_PORT=9300\n")
    out = invoke("config", "show")
    assert "port: 9300" in out.stdout and "# .env: serve.port=" in out.stdout


def test_secrets_are_masked_in_every_form(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADING_METRICS_API_KEY", "super-secret-key")
    for args in (["--json"], [], ["--resolve"], ["--json", "--resolve"]):
        out = invoke("config", "show", *args)
        assert out.code == 0
        assert "super-secret-key" not in out.stdout + out.stderr


def test_malformed_dotenv_is_exit_2_with_the_line(project: Path) -> None:
    (project / ".env").write_text("TRADING_MODE=live\nthis is not an assignment\n")
    out = run_tg("config", "show", cwd=project)
    assert out.code == 2
    assert ".env line 2" in out.stderr and "Traceback" not in out.stderr


def test_malformed_dotenv_makes_health_unhealthy_not_a_crash(project: Path) -> None:
    (project / ".env").write_text("garbage\n")
    out = run_tg("health", "--json", cwd=project)
    assert out.code == 1
    assert ".env line 1" in out.json()["checks"]["config"]["detail"]


def test_unreadable_config_file_is_a_clear_error(project: Path, conf_copy: Path) -> None:
    (conf_copy / "config.yaml").write_bytes(b"\xff\xfe\x00\x81 not utf-8")
    out = run_tg("config", "show", cwd=project, env={"TG_CONFIG_DIR": str(conf_copy)})
    assert out.code == 2
    assert out.stderr.startswith("tg: error:") and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_missing_config_tree_is_a_clear_error(project: Path) -> None:
    out = run_tg("config", "show", cwd=project, env={"TG_CONFIG_DIR": str(project / "nowhere")})
    assert out.code == 2 and "config tree not found" in out.stderr
