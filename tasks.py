"""invoke tasks: the operations playbook as code (`invoke --list`; every task takes `--dry`).

Each task is a thin layer over `tg` commands (and git): `deploy` and `rollback` run the steps of
`tg.ops.playbook`, which rolls a failed deploy back by itself; the maintenance routines run the
daily, weekly and monthly checks of the playbook. `--set KEY=VALUE` (repeatable) passes a Hydra
override to every `tg` command of the task.
"""

from __future__ import annotations

import sys
from pathlib import Path

from invoke import Collection, Context, task

PY = sys.executable
ROOT = Path(__file__).resolve().parent


def _tg(c: Context, command: str, overrides: list[str] | None, dry: bool, warn: bool = False):  # type: ignore[no-untyped-def]
    line = f"{PY} -m tg {command} {' '.join(overrides or [])}".strip()
    if dry:
        print(f"planned  {line}")
        return None
    return c.run(line, warn=warn)


@task(iterable=["set"], help={"set": "a Hydra override for every tg command, e.g. --set profile=strict"})
def preflight(c: Context, set=None, dry=False, tests=True) -> None:  # noqa: A002 - invoke names the flag
    """Pre-deploy gates: tg health, tg doctor profile=strict, the type gate, the tests (--no-tests: skip them)."""
    _tg(c, "health", set, dry)
    _tg(c, "doctor profile=strict", set, dry)
    if dry:
        print(f"planned  {PY} scripts/typecheck_gate.py" + ("\nplanned  scripts/test" if tests else ""))
        return
    typecheck(c)
    if tests:
        test(c)


@task(
    iterable=["set"],
    help={"ref": "the commit, tag or branch to deploy (fetched from origin)", "set": "a Hydra override (repeatable)"},
)
def deploy(c: Context, ref="main", set=None, dry=False) -> None:  # noqa: A002
    """Deploy REF: preflight, snapshot, stop, check out, install, health/doctor, start, wait for /readyz;
    any failure after the snapshot rolls back by itself (exit 1 with the report)."""
    report = _playbook(set, dry).deploy(ref)
    print(report.text())
    if report.failed:
        raise SystemExit(1)


@task(iterable=["set"], help={"archive": "a snapshot (default: the latest verified one)", "set": "a Hydra override"})
def rollback(c: Context, archive=None, set=None, dry=False) -> None:  # noqa: A002
    """Roll back to a snapshot and the code ref it recorded: stop, check out, restore, start, verify."""
    report = _playbook(set, dry).rollback(archive)
    print(report.text())
    if report.failed:
        raise SystemExit(1)


def _playbook(overrides: list[str] | None, dry: bool):  # type: ignore[no-untyped-def]
    from tg.config.loader import load_config
    from tg.ops.audit import AuditLog
    from tg.ops.playbook import Playbook

    loaded = load_config(list(overrides or []), cwd=ROOT)
    cfg = loaded.cfg

    def audit(event: str, details: dict) -> None:  # type: ignore[type-arg]
        if cfg.audit.enabled:
            AuditLog(loaded.path("audit") / cfg.audit.file).append(event, details)

    return Playbook(
        ROOT,
        list(overrides or []),
        dry=dry,
        ready_timeout_s=cfg.deploy.ready_timeout_s,
        install=cfg.deploy.install,
        audit=audit,
    )


@task
def typecheck(c: Context) -> None:
    """Type gate: no mypy error beyond scripts/typecheck_baseline.json."""
    c.run(f"{PY} scripts/typecheck_gate.py", pty=False)


@task
def lint(c: Context) -> None:
    """ruff lint and format check."""
    c.run(f"{PY} -m ruff check tg tests scripts benchmarks tasks.py hydra_plugins")
    c.run(f"{PY} -m ruff format --check tg tests scripts benchmarks tasks.py hydra_plugins")


@task
def test(c: Context) -> None:
    """The test suite (the README's test command: system packages, then pytest)."""
    c.run("scripts/test")


@task
def bench(c: Context) -> None:
    """Startup, data, model, server, snapshot and sweep benchmarks (quality.py is separate: ~10 minutes)."""
    for script in ("startup", "data", "models", "serve", "snapshot", "sweep"):
        c.run(f"{PY} benchmarks/{script}.py")


@task(iterable=["set"])
def daily(c: Context, set=None, dry=False) -> None:  # noqa: A002
    """After each close: `tg data update`, `tg health`, and the log's ERROR/WARNING lines of the day;
    exit 1 if the update or health failed."""
    update = _tg(c, "data update", set, dry, warn=True)
    health = _tg(c, "health", set, dry, warn=True)
    if dry:
        return
    _log_problems()
    failed = [name for name, result in (("data update", update), ("health", health)) if result.exited != 0]
    print(f"daily: {'failed: ' + ', '.join(failed) if failed else 'ok'}")
    if failed:
        raise SystemExit(1)


@task(iterable=["set"])
def weekly(c: Context, set=None, dry=False) -> None:  # noqa: A002
    """Full `tg doctor`, rotated logs older than 7 days deleted, the models backed up as a snapshot."""
    doctor = _tg(c, "doctor", set, dry, warn=True)
    _tg(c, "snapshot create --include-models", set, dry)
    if dry:
        print("planned  delete logs/trading.log.* older than 7 days")
        return
    from tg.ops.logsetup import prune_rotated

    removed = prune_rotated(ROOT / "logs", "trading.log", 7)
    print(f"weekly: {len(removed)} rotated log file(s) older than 7 days deleted")
    if doctor is not None and doctor.exited != 0:
        raise SystemExit(1)


@task(iterable=["set"])
def monthly(c: Context, set=None, dry=False) -> None:  # noqa: A002
    """Retrain on the latest data (`tg train`), then report outdated packages (`pip list --outdated`)."""
    _tg(c, "train --no-progress", set, dry)
    if dry:
        print(f"planned  {PY} -m pip list --outdated")
        return
    c.run(f"{PY} -m pip list --outdated", warn=True)


def _log_problems() -> None:
    """The ERROR and WARNING lines of logs/trading.log (the playbook's daily log review)."""
    log = ROOT / "logs" / "trading.log"
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines() if log.is_file() else []
    problems = [line for line in lines if " ERROR " in line or " WARNING " in line]
    print(f"daily: {len(problems)} ERROR/WARNING line(s) in {log}")
    for line in problems[-20:]:
        print("  " + line)


namespace = Collection(preflight, deploy, rollback, typecheck, lint, test, bench)
namespace.add_collection(Collection("maintenance", daily, weekly, monthly))
