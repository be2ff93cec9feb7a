"""`tg deploy` with the local target: a real background `tg serve`, supervised through its pid file."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests.conftest import run_tg
from tests.server.conftest import free_port


def test_start_status_restart_stop_each_audited(trained_project: Path) -> None:
    port = f"serve.port={free_port()}"
    started = run_tg("deploy", "start", port, "--json", cwd=trained_project)
    try:
        assert started.code == 0, started.stderr
        first = started.json()
        assert first["running"] and first["healthz"] == 200 and first["readyz"] == 200
        pid_file = trained_project / "cache" / "tg-serve.pid"
        assert int(pid_file.read_text()) == first["pid"]
        again = run_tg("deploy", "start", port, "--json", cwd=trained_project).json()
        assert again["pid"] == first["pid"]  # already running: not started twice
        restarted = run_tg("deploy", "restart", port, "--json", cwd=trained_project).json()
        assert restarted["running"] and restarted["pid"] != first["pid"]
    finally:
        stopped = run_tg("deploy", "stop", port, "--json", cwd=trained_project)
    assert stopped.code == 0 and stopped.json()["running"] is False
    assert run_tg("deploy", "status", port, cwd=trained_project).code == 1
    events = [
        json.loads(line)["event"] for line in (trained_project / "audit" / "audit.jsonl").read_text().splitlines()
    ]
    assert events[-4:] == ["deploy.start", "deploy.start", "deploy.restart", "deploy.stop"]
    assert "listening on" in (trained_project / "logs" / "serve.out").read_text()


def test_a_stale_pid_file_is_not_a_running_service(project: Path) -> None:
    pid_file = project / "cache" / "tg-serve.pid"
    pid_file.write_text(f"{os.getpid()}\n")  # a live process, but not tg serve: never signalled
    status = run_tg("deploy", "status", "--json", cwd=project)
    assert status.code == 1 and status.json()["running"] is False and not pid_file.exists()
    assert run_tg("deploy", "stop", cwd=project).code == 0  # nothing to stop, and this process survives
    os.kill(os.getpid(), 0)  # this process was not signalled


def test_a_server_that_cannot_start_is_one_line_and_exit_1(project: Path) -> None:
    out = run_tg("deploy", "start", "serve.host=0.0.0.0", cwd=project)  # tg serve refuses: no API key
    assert out.code == 1 and "tg serve exited 2 at start" in out.stderr and out.stderr.count("\n") == 1


def test_the_systemd_unit_is_rendered_with_every_placeholder_filled(project: Path) -> None:
    out = run_tg("deploy", "unit", "deploy=systemd", "deploy.user=tg", cwd=project)
    assert out.code == 0 and "{{" not in out.stdout
    assert f"WorkingDirectory={project}" in out.stdout and "User=tg" in out.stdout
    assert "ExecStart=" in out.stdout and out.stdout.split("ExecStart=")[1].split()[1] == "serve"
