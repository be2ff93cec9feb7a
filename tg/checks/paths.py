"""Runtime directories: present, a directory, writable — checked without creating anything."""

from __future__ import annotations

import os
from pathlib import Path

from tg.checks.base import CheckResult, Verdict

PATH_NAMES = ("data", "models", "logs", "cache", "audit", "backups")


def inspect_path(path: Path) -> dict[str, object]:
    exists = path.exists()
    is_dir = path.is_dir()
    writable = is_dir and os.access(path, os.W_OK | os.X_OK)
    return {"path": str(path), "exists": exists, "is_dir": is_dir, "writable": writable}


def check_paths(paths: dict[str, Path]) -> CheckResult:
    """Missing directories degrade (doctor --fix creates them); unwritable ones fail."""
    report = {name: inspect_path(path) for name, path in paths.items()}
    broken = [n for n, r in report.items() if r["exists"] and not r["writable"]]
    missing = [n for n, r in report.items() if not r["exists"]]
    if broken:
        detail = "not a writable directory: " + ", ".join(f"{n} ({report[n]['path']})" for n in broken)
        return CheckResult("paths", Verdict.fail, detail, {"paths": report})
    if missing:
        detail = "missing: " + ", ".join(missing) + " (run `tg doctor --fix` to create them)"
        return CheckResult("paths", Verdict.warn, detail, {"paths": report})
    return CheckResult("paths", Verdict.ok, f"{len(report)} directories present and writable", {"paths": report})


def create_missing(paths: dict[str, Path]) -> list[str]:
    """Create missing directories (doctor --fix); return the ones created."""
    created = []
    for path in paths.values():
        if not path.exists():
            path.mkdir(parents=True, exist_ok=True)
            created.append(str(path))
    return created
