"""What killed writes left behind: model staging directories and temp files of the bar stores.

Each is removed by the next write to the same place (a save clears `.tmp-*`, a bar-store save its
`.*.tmp` files); until then doctor lists them, so a full disk's cause is visible.
"""

from __future__ import annotations

from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.models.manifest import leftover_saves

SHOWN = 5


def check_leftovers(models_dir: Path, data_dir: Path) -> CheckResult:
    """ok when nothing is left over; warn naming the leftovers otherwise."""
    models = [str(models_dir / name) for name in leftover_saves(models_dir)] if models_dir.is_dir() else []
    data = sorted(str(p) for p in data_dir.rglob(".*.tmp") if p.is_file()) if data_dir.is_dir() else []
    found = models + data
    details = {"models": models, "data": data}
    if not found:
        return CheckResult("leftovers", Verdict.ok, "no leftovers of interrupted writes", details)
    shown = ", ".join(found[:SHOWN]) + (f" (+{len(found) - SHOWN} more)" if len(found) > SHOWN else "")
    detail = f"{len(found)} leftover(s) of interrupted writes, removed by the next write there: {shown}"
    return CheckResult("leftovers", Verdict.warn, detail, details)
