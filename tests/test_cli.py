"""Exit-code mapping at the CLI edge: interrupts, parser usage errors, tracebacks only with TG_DEBUG."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import run_tg
from tg import cli, main
from tg.errors import ArtifactError

# `tg health` is answered by the console script's fast path (tg.main, no Typer) and by the Typer app (tg.cli):
# the exit-code mapping is the same on both
ENTRIES = [pytest.param(main.main, id="fast-path"), pytest.param(cli.main, id="typer")]


@pytest.mark.parametrize("entry", ENTRIES)
def test_interrupt_exits_130(
    entry: Callable[[list[str]], None],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tg.commands.health as health

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(health, "run_health", interrupted)
    with pytest.raises(SystemExit) as info:
        entry(["health"])
    assert info.value.code == 130
    assert "interrupted" in capsys.readouterr().err


@pytest.mark.parametrize("entry", ENTRIES)
def test_expected_error_is_one_line_and_debug_shows_the_traceback(
    entry: Callable[[list[str]], None],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tg.commands.health as health

    def tampered(*_: object, **__: object) -> None:
        raise ArtifactError("model v1 refused: scaler.json: sha256 mismatch (tampered)")

    monkeypatch.setattr(health, "run_health", tampered)
    with pytest.raises(SystemExit) as info:
        entry(["health"])
    err = capsys.readouterr().err
    assert info.value.code == 1
    assert err == "tg: error: model v1 refused: scaler.json: sha256 mismatch (tampered)\n"
    monkeypatch.setenv("TG_DEBUG", "1")
    with pytest.raises(SystemExit):
        entry(["health"])
    assert "Traceback" in capsys.readouterr().err


@pytest.mark.parametrize("entry", ENTRIES)
def test_an_internal_error_is_one_line_with_the_traceback_in_the_log_file(
    entry: Callable[[list[str]], None],
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
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
            entry(["health"])
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


def test_health_arguments_take_only_what_needs_no_parser() -> None:
    assert main.health_arguments(["health"]) == ([], False)
    assert main.health_arguments(["health", "profile=strict", "--json", "mode=live"]) == (
        ["profile=strict", "mode=live"],
        True,
    )
    for typer_parses in (["health", "--help"], ["health", "--nope"], ["health", "--", "a=1"], ["doctor"], []):
        assert main.health_arguments(typer_parses) is None


def test_tg_health_answers_without_typer_and_as_the_typer_app_does(project: Path) -> None:
    """Before: every `tg health` imported Typer and built all twenty commands (~65 ms of its 80 ms budget)."""
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: sys.stderr.write('typer imported: %s\\n' % ('typer' in sys.modules)))\n"
        "from tg.{module} import main\n"
        "main(sys.argv[1:])\n"
    )
    runs = {}
    for module in ("main", "cli"):
        runs[module] = subprocess.run(
            [sys.executable, "-c", probe.format(module=module), "health", "--json", "profile=strict"],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    fast, typer = runs["main"], runs["cli"]
    assert "typer imported: False" in fast.stderr and "typer imported: True" in typer.stderr
    ageless = [re.sub(r'"age_seconds": \d+', '"age_seconds": …', run.stdout) for run in (fast, typer)]  # the clock
    assert fast.returncode == typer.returncode and ageless[0] == ageless[1]
    assert fast.returncode == 1 and '"profile": "strict"' in fast.stdout  # degraded fails under strict
    help_text = run_tg("health", "--help", cwd=project)  # anything else goes to Typer
    assert help_text.code == 0 and "Fast health verdict" in help_text.stdout
