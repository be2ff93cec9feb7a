"""Exit-code mapping at the CLI edge: interrupts, parser usage errors, tracebacks only with TG_DEBUG."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_tg
from tg import cli
from tg.errors import ArtifactError


def test_interrupt_exits_130(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tg.commands.health as health

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(health, "run_health", interrupted)
    with pytest.raises(SystemExit) as info:
        cli.main(["health"])
    assert info.value.code == 130
    assert "interrupted" in capsys.readouterr().err


def test_expected_error_is_one_line_and_debug_shows_the_traceback(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import tg.commands.health as health

    def tampered(*_: object, **__: object) -> None:
        raise ArtifactError("model v1 refused: scaler.json: sha256 mismatch (tampered)")

    monkeypatch.setattr(health, "run_health", tampered)
    with pytest.raises(SystemExit) as info:
        cli.main(["health"])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err == "tg: error: model v1 refused: scaler.json: sha256 mismatch (tampered)\n"
    monkeypatch.setenv("TG_DEBUG", "1")
    with pytest.raises(SystemExit):
        cli.main(["health"])
    assert "Traceback" in capsys.readouterr().err


def test_an_internal_error_is_one_line_with_the_traceback_in_the_log_file(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Before: stderr showed `tg: ERROR: internal error` above the promised line."""
    import tg.commands.health as health

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(health, "run_health", broken)
    for logs in (False, True):  # health creates no directory: without logs/ the line says how to see details
        if logs:
            (project / "logs").mkdir(exist_ok=True)
        else:
            shutil.rmtree(project / "logs", ignore_errors=True)
        with pytest.raises(SystemExit) as info:
            cli.main(["health"])
        err = capsys.readouterr().err
        assert info.value.code == 1 and err.count("\n") == 1, err
        if logs:
            log = project / "logs" / "trading.log"
            assert err == f"tg: error: internal error (RuntimeError: a bug); details in {log}\n"
            assert "Traceback" in log.read_text() and "RuntimeError: a bug" in log.read_text()
        else:
            assert err.endswith("run again with TG_DEBUG=1 for details\n")


def test_unknown_command_and_option_are_usage_errors(project: Path) -> None:
    assert run_tg("frobnicate", cwd=project).code == 2
    out = run_tg("health", "--nope", cwd=project)
    assert out.code == 2 and "Traceback" not in out.stderr


def test_python_dash_m_and_help(project: Path) -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tg", "--help"], capture_output=True, text=True, cwd=project)
    assert proc.returncode == 0 and "health" in proc.stdout and "doctor" in proc.stdout
