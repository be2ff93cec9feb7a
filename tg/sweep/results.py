"""A sweep's results: one row per job (from the launcher's returns, else the `result.json` each job wrote),
`results.jsonl` in the sweep directory, the summary table, and the best point by the objective metric."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tg.sweep.job import OBJECTIVE, RESULT_FILE

RESULTS_FILE = "results.jsonl"
# the table's metric columns (every metric of a job is in results.jsonl and --json)
SHOWN = {"rank_ic": "rank_ic", "ic": "ic"}


@dataclass
class SweepResult:
    command: str
    launcher: str
    directory: Path
    rows: list[dict[str, Any]]
    varying: list[str]  # the swept keys: a row's point is its overrides of these
    dry_run: bool = False
    interrupted: bool = False
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[dict[str, Any]]:
        return [row for row in self.rows if not row["ok"]]

    @property
    def exit_code(self) -> int:
        """130 interrupted, 1 when a job failed (or in a dry run would not compose), else 0."""
        return 130 if self.interrupted else 1 if self.failed or not self.rows else 0

    @property
    def best(self) -> dict[str, Any] | None:
        """The finished job with the highest OBJECTIVE."""
        scored = [r for r in self.rows if r["ok"] and _number(r["metrics"].get(OBJECTIVE)) is not None]
        return max(scored, key=lambda r: r["metrics"][OBJECTIVE]) if scored else None

    def point(self, row: dict[str, Any]) -> str:
        return point_of(row["overrides"], self.varying)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "command": self.command,
            "launcher": self.launcher,
            "directory": None if self.dry_run else str(self.directory),
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "jobs": len(self.rows),
            "failed": len(self.failed),
            "seconds": round(self.seconds, 1),
            "objective": OBJECTIVE,
            "best": None if best is None else {"job": best["job"], "point": self.point(best), **best["metrics"]},
            "results": self.rows,
            "notes": self.notes,
        }

    def table(self) -> Any:
        from rich.table import Table

        verb = "would run" if self.dry_run else "ran"
        title = f"tg sweep {self.command}: {len(self.rows)} jobs {verb} on the {self.launcher} launcher"
        title += f" in {self.seconds:.1f} s, {len(self.failed)} failed" if not self.dry_run else ""
        title += "" if self.dry_run else f"\nin {self.directory}"
        table = Table(title=title, title_justify="left", caption=self._caption(), caption_justify="left")
        table.add_column("job", justify="right")
        # on a narrow terminal the point and the figures keep their width; the error / output column folds
        widest = max((len(part) for row in self.rows for part in self.point(row).split()), default=5)
        table.add_column("point", min_width=min(widest, 32))
        table.add_column("status", min_width=6)
        metrics = [] if self.dry_run else [m for m in SHOWN if any(m in r["metrics"] for r in self.rows)]
        for name in metrics:
            table.add_column(SHOWN[name], justify="right", min_width=7)
        table.add_column("universe" if self.dry_run else "s", justify="right")
        table.add_column("error / output", overflow="fold")
        for row in self.rows:
            status = ("valid" if self.dry_run else "ok") if row["ok"] else "FAILED"
            figures = [_shown(row["metrics"].get(name)) for name in metrics]
            last = str(row.get("universe", "")) if self.dry_run else f"{row['seconds']:.1f}"
            table.add_row(str(row["job"]), self.point(row), status, *figures, last, row["error"] or self._output(row))
        return table

    def _output(self, row: dict[str, Any]) -> str:
        """Where the job's model or report went, relative to the sweep directory when inside it."""
        where = row["paths"].get("model") or row["paths"].get("report") or ""
        return where.removeprefix(f"{self.directory}/")

    def _caption(self) -> str:
        lines = list(self.notes)
        best = self.best
        if best is not None:
            lines.append(
                f"best by {OBJECTIVE} (higher is better): job {best['job']} {self.point(best)}: "
                f"{OBJECTIVE} {best['metrics'][OBJECTIVE]:.4f}"
            )
        if self.interrupted:
            lines.append("interrupted: the jobs that finished are kept, the others were cancelled")
        return "\n".join(lines)


def point_of(overrides: list[str], varying: list[str]) -> str:
    """A job's values of the swept keys (`train.seed=1 model=fast`); all its overrides when nothing is swept."""
    chosen = [o for o in overrides if o.split("=", 1)[0].lstrip("+~") in varying]
    return " ".join(chosen) or " ".join(overrides) or "(defaults)"


def collect(
    directory: Path, returns: Any, jobs: int | None, missing: str = "no result: the job did not finish"
) -> list[dict[str, Any]]:
    """One row per job, by job number: what each job wrote (`<job>/result.json`), replaced by what the launcher
    returned where it returned it (a cluster without shared storage); a job that returned nothing is a failed row."""
    rows: dict[int, dict[str, Any]] = {}
    for path in directory.glob(f"*/{RESULT_FILE}"):
        try:
            row = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        rows[int(row["job"])] = row
    for job_return in _job_returns(returns):
        row = _row(job_return)
        if row is not None:
            rows[int(row["job"])] = row
    for number in range(jobs or 0):
        if number not in rows:
            rows[number] = failed_row(number, [], missing)
    return [rows[job] for job in sorted(rows)]


def write_results(directory: Path, rows: list[dict[str, Any]]) -> Path:
    """`results.jsonl`: one JSON object per job, in job order (strict JSON: no NaN)."""
    from tg.ops.atomic import atomic_write_text
    from tg.ops.json_safe import finite

    text = "".join(json.dumps(finite(row), sort_keys=True, default=str) + "\n" for row in rows)
    path = directory / RESULTS_FILE
    atomic_write_text(path, text)
    return path


def failed_row(job: int, overrides: list[str], error: str) -> dict[str, Any]:
    return {"job": job, "ok": False, "overrides": overrides, "metrics": {}, "paths": {}, "error": error, "seconds": 0}


def _row(job_return: Any) -> dict[str, Any] | None:
    """A row from one of Hydra's `JobReturn`s: the job's own result, or the failure that replaced it."""
    from hydra.core.utils import JobStatus

    job = _job_number(job_return)
    if job is None:
        return None
    value = job_return._return_value  # `return_value` would raise the failure instead of handing it over
    if job_return.status == JobStatus.COMPLETED and isinstance(value, dict):
        return dict(value)
    error = str(value).strip().splitlines()[0] if str(value).strip() else value.__class__.__name__
    return failed_row(job, [str(o) for o in job_return.overrides or []], f"{value.__class__.__name__}: {error}")


def _job_number(job_return: Any) -> int | None:
    try:
        return int(job_return.hydra_cfg.hydra.job.num)
    except (AttributeError, TypeError, ValueError):
        return None


def _job_returns(returns: Any) -> list[Any]:
    """The `JobReturn`s in what a sweeper returned (the basic sweeper: a list of batches; others: anything)."""
    from hydra.core.utils import JobReturn

    if isinstance(returns, JobReturn):
        return [returns]
    if isinstance(returns, list | tuple):
        return [r for item in returns for r in _job_returns(item)]
    return []


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _shown(value: Any) -> str:
    number = _number(value)
    return "" if number is None else f"{number:.4f}"
