"""docs/OPERATIONS.md stays true: every command of its `bash safe` blocks runs, line by line, on a
fresh project with a trained model, and exits 0 (lines that may fail say `|| true`)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

GUIDE = REPO / "docs" / "OPERATIONS.md"
BLOCK = re.compile(r"```(\w+)( safe)?\n(.*?)```", re.S)


def commands(safe: bool) -> list[str]:
    lines = []
    for _, marker, body in BLOCK.findall(GUIDE.read_text(encoding="utf-8")):
        if bool(marker) == safe:
            lines += [line for line in body.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return lines


def test_every_safe_command_of_the_guide_runs(trained_project: Path) -> None:
    shutil.copy(REPO / "tasks.py", trained_project / "tasks.py")  # invoke finds its tasks here
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING_")}
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    env["TG_CONFIG_DIR"] = str(REPO / "conf")
    ran = commands(safe=True)
    assert len(ran) >= 15
    for line in ran:
        proc = subprocess.run(
            ["sh", "-c", line], cwd=trained_project, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert proc.returncode == 0, f"{line!r} exited {proc.returncode}: {proc.stderr.strip()[-500:]}"


def test_every_command_shown_names_a_real_command() -> None:
    """The blocks not run still name only tg commands and invoke tasks that exist."""
    from typer.main import get_command

    from tg.cli import app

    group = get_command(app)
    tasks = subprocess.run(
        [str(Path(sys.executable).parent / "invoke"), "--list"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    for line in commands(safe=False) + commands(safe=True):
        for match in re.finditer(r"(?:^|\s)tg ([a-z]+)(?: ([a-z]+))?", line):
            name, sub = match.groups()
            command = group.commands.get(name)  # type: ignore[attr-defined]
            assert command is not None, f"{line!r}: no command tg {name}"
            subcommands = getattr(command, "commands", None)
            if subcommands is not None and sub is not None:
                assert sub in subcommands, f"{line!r}: no command tg {name} {sub}"
        for match in re.finditer(r"invoke ([a-z.]+)", line):
            assert match.group(1) in tasks, f"{line!r}: no invoke task {match.group(1)}"
