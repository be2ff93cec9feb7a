"""One invocation of `tg`, without Typer: compose the config, set up logging, print a result, and turn every
outcome into one stderr line and an exit code (see `tg.errors`).

The Typer app (`tg.cli`) and the `tg health` fast path (`tg.main`) both end here, so a command answers the same
whichever way it was reached; Typer's own parser errors are mapped in `tg.cli`.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from tg.errors import EXIT_FAILED, EXIT_INTERRUPTED, ConfigError, TgError

log = logging.getLogger("tg")


def load(overrides: list[str] | None, *, command: str, creates_dirs: bool = False, records: bool = False) -> Any:
    """Compose the config for `command` and set up logging from it; `records`: the command's
    operations go to this installation's recovery metrics (written at once)."""
    from tg.config.loader import load_config

    loaded = load_config(overrides or [])
    setup_logging(loaded, creates_dirs)
    if records:
        from tg.ops.recovery import configured, use_recovery_metrics

        use_recovery_metrics(configured(loaded.cfg.recovery, loaded.path("logs"), flush_interval_s=0))
    log.debug("command %s (config cache %s)", command, "hit" if loaded.cache_hit else "miss")
    return loaded


def load_for_diagnosis(overrides: list[str] | None, command: str) -> tuple[Any, ConfigError | None]:
    """Health/doctor diagnose a broken installed config instead of refusing to run.

    A bad override on the command line is still a usage error (exit 2).
    """
    from tg.config.loader import fallback_config

    try:
        return load(overrides, command=command), None
    except ConfigError as exc:
        if exc.from_command_line:
            raise
        loaded = fallback_config(overrides)
        setup_logging(loaded, False)
        return loaded, exc


def setup_logging(loaded: Any, creates_dirs: bool) -> None:
    from tg.ops.logsetup import setup_logging as configure

    cfg = loaded.cfg.logging
    configure(
        loaded.path("logs"),
        cfg.file,
        cfg.level.value,
        cfg.max_bytes,
        cfg.backup_count,
        cfg.retention_days,
        create_dir=creates_dirs,
        debug=debug(),
    )


def emit(result: Any, as_json: bool) -> int:
    """Print a command's result (one JSON document with `as_json`); its exit code (0 for a result without one)."""
    if as_json:
        from tg.ops.json_safe import finite

        sys.stdout.write(json.dumps(finite(result.to_dict()), indent=2, default=str, allow_nan=False) + "\n")
    elif hasattr(result, "table"):
        from rich.console import Console

        Console(soft_wrap=True).print(result.table())  # text lines as they are; tables lay themselves out
    else:
        sys.stdout.write(result.text() + ("" if result.text().endswith("\n") else "\n"))
    sys.stdout.flush()
    return int(getattr(result, "exit_code", 0))


def debug() -> bool:
    return os.environ.get("TG_DEBUG", "") not in ("", "0")


def fail(message: str, exc: BaseException) -> None:
    sys.stderr.write(f"tg: error: {message}\n")
    if debug():
        import traceback

        traceback.print_exception(exc, file=sys.stderr)


def exit_with(body: Callable[[], int], args: list[str]) -> NoReturn:
    """Run `body` (a whole command) and exit with its code; an expected failure (`TgError`) is one line and its
    exit code, Ctrl-C is 130, anything else an internal error in one line with the traceback in the log file."""
    began = time.perf_counter()
    try:
        code = body()
    except TgError as exc:
        log.debug("tg %s failed", args[0] if args else "", exc_info=True)
        fail(str(exc), exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        code = EXIT_INTERRUPTED
    except Exception as exc:  # a bug, not an expected failure: still one line, details in the log
        from tg.ops.logsetup import FILE_ONLY, log_file

        path = log_file()
        if path is not None:  # before logging is set up, Python's last-resort handler would print it to stderr
            log.error("internal error", exc_info=True, extra=FILE_ONLY)
        where = f"details in {path}" if path is not None else "run again with TG_DEBUG=1 for details"
        fail(f"internal error ({exc.__class__.__name__}: {exc}); {where}", exc)
        code = EXIT_FAILED
    log.info("%s: exit %d in %.2f s", described(args), code, time.perf_counter() - began)
    if code == EXIT_INTERRUPTED:
        sys.stderr.write("tg: interrupted\n")
    sys.exit(code)


def described(args: list[str]) -> str:
    """The command line for the log: command words, options and override keys; override values are left out
    (a proxy URL or a token may be one)."""
    words = [arg.split("=", 1)[0] + "=…" if "=" in arg else arg for arg in args]
    return "tg " + " ".join(words)
