"""The `tg` console script. `tg health [--json] [overrides]` runs here without Typer: its budget is 80 ms from
start to exit, and importing Typer and building the app's twenty commands cost ~65 ms of it
(benchmarks/startup.py). Everything else — other commands, `--help`, any other option, shell completion — goes
to the Typer app in `tg.cli`, which parses `tg health` the same way (both end in `tg.invocation`).
"""

from __future__ import annotations

import os
import sys


def health_arguments(args: list[str]) -> tuple[list[str], bool] | None:
    """(overrides, --json) when `args` is a `tg health` that needs no parser; None for anything else."""
    if not args or args[0] != "health" or "_TG_COMPLETE" in os.environ:  # Typer's completion variable
        return None
    overrides, as_json = [], False
    for arg in args[1:]:
        if arg == "--json":
            as_json = True
        elif arg.startswith("-"):  # --help, an unknown option, `--`: Typer says what they mean
            return None
        else:
            overrides.append(arg)
    return overrides, as_json


def health_code(overrides: list[str], as_json: bool) -> int:
    """`tg health`: print the report; its exit code (the Typer app's `health` runs this too)."""
    from tg.commands.health import run_health
    from tg.invocation import emit, load_for_diagnosis

    loaded, error = load_for_diagnosis(overrides, "health")
    return emit(run_health(loaded, error), as_json)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    health = health_arguments(args)
    if health is not None:
        from tg.invocation import exit_with

        exit_with(lambda: health_code(*health), args)
    from tg.cli import main as typer_main

    typer_main(args)


if __name__ == "__main__":
    main()
