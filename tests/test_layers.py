"""Imports point downwards (DESIGN §3): no command imports another; data, models, ops and the sweep machinery
never import commands, the CLI or the renderers (`tg sweep` gets the command's function from the CLI)."""

from __future__ import annotations

import ast
from pathlib import Path

TG = Path(__file__).resolve().parents[1] / "tg"


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_command_imports_another() -> None:
    offenders = {
        f"{path.name}: {name}"
        for path in (TG / "commands").glob("*.py")
        for name in imported(path)
        if name.startswith("tg.commands")
    }
    assert offenders == set()


def test_lower_layers_never_import_commands_cli_or_rendering() -> None:
    offenders = {
        f"{path.relative_to(TG)}: {name}"
        for layer in ("data", "models", "ops", "checks", "config", "sweep")
        for path in (TG / layer).rglob("*.py")
        for name in imported(path)
        if name.startswith(("tg.commands", "tg.cli", "tg.render"))
    }
    assert offenders == set()
