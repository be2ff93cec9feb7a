"""invoke tasks: the playbook as code (`invoke --list`).

Deploy and rollback arrive with the snapshot step; these are the gates they will call.
"""

from __future__ import annotations

import sys

from invoke import Context, task

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
