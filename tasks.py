"""invoke tasks: the playbook as code (`invoke --list`).

Deploy and rollback arrive with the snapshot step; these are the gates they will call, and the
daily routine (`invoke maintenance.daily`).
"""

from __future__ import annotations

import sys

from invoke import Collection, Context, task

PY = sys.executable


@task
def typecheck(c: Context) -> None:
    """Type gate: no mypy error beyond scripts/typecheck_baseline.json."""
    c.run(f"{PY} scripts/typecheck_gate.py", pty=False)


@task
def lint(c: Context) -> None:
    """ruff lint and format check."""
    c.run(f"{PY} -m ruff check tg tests scripts benchmarks tasks.py")
    c.run(f"{PY} -m ruff format --check tg tests scripts benchmarks tasks.py")


@task
def test(c: Context) -> None:
    """The test suite (the README's test command: system packages, then pytest)."""
    c.run("scripts/test")


@task
def preflight(c: Context) -> None:
    """Pre-deploy gates of the playbook: health, strict doctor, type gate, tests."""
    c.run("tg health")
    c.run("tg doctor profile=strict")
    typecheck(c)
    test(c)


@task
def bench(c: Context) -> None:
    """Startup, data, model and server benchmarks (benchmarks/*.py; quality.py is separate: ~10 minutes)."""
    c.run(f"{PY} benchmarks/startup.py")
    c.run(f"{PY} benchmarks/data.py")
    c.run(f"{PY} benchmarks/models.py")
    c.run(f"{PY} benchmarks/serve.py")


@task
def daily(c: Context) -> None:
    """After each close: fetch the universe's new bars (`tg data update`), then `tg health`; exit 1 if
    either failed (the update names its failed symbols, health its checks)."""
    update = c.run("tg data update", warn=True)
    health = c.run("tg health", warn=True)
    failed = [name for name, result in (("data update", update), ("health", health)) if result.exited != 0]
    print(f"daily: {'failed: ' + ', '.join(failed) if failed else 'ok'}")
    if failed:
        raise SystemExit(1)


namespace = Collection(typecheck, lint, test, preflight, bench)
namespace.add_collection(Collection("maintenance", daily))
