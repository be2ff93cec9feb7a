#!/usr/bin/env python3
"""The Qlib side's own virtual environment (stdlib only).

`ensure_env()` makes `benchmarks/qlib_peer/.venv` when it is missing or was built from another
`requirements.txt` (a stamp in the venv records the hash of what it was built from), installs
`pyqlib==0.9.7` without its dependencies (its metadata pulls in jupyter and mlflow 3) and then the
pinned `requirements.txt`, and returns the venv's python. Building it takes a few minutes; later
calls only read the stamp.

Run as a script (`python benchmarks/qlib_peer/env.py [--verbose]`) it prints that python's path.
"""

from __future__ import annotations

import fcntl
import hashlib
import shutil
import subprocess
import sys
import time
import venv
from pathlib import Path

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
REQUIREMENTS = HERE / "requirements.txt"
QLIB = "pyqlib==0.9.7"
STAMP_NAME = ".qlib_peer-stamp"


def _wanted_stamp() -> str:
    digest = hashlib.sha256()
    digest.update(REQUIREMENTS.read_bytes())
    digest.update(QLIB.encode())
    digest.update(f"{sys.version_info.major}.{sys.version_info.minor}".encode())
    return digest.hexdigest()


def _python() -> Path:
    return VENV / "bin" / "python"


def _is_current(stamp: str) -> bool:
    path = VENV / STAMP_NAME
    return _python().exists() and path.exists() and path.read_text().strip() == stamp


def _pip(args: list[str], quiet: bool) -> None:
    cmd = [str(_python()), "-m", "pip", "install", "--disable-pip-version-check", *args]
    if quiet:
        cmd.insert(4, "-q")
    # pip's own chatter goes to stderr: a caller may be reading our stdout
    proc = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"qlib_peer env: {' '.join(cmd[3:])} failed (exit {proc.returncode})")


def ensure_env(quiet: bool = True) -> Path:
    """Return the Qlib venv's python, building the venv first when it is missing or stale."""
    stamp = _wanted_stamp()
    if _is_current(stamp):
        return _python()
    HERE.joinpath(".work").mkdir(exist_ok=True)
    with open(HERE / ".work" / "env.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second caller waits for the first build
        if _is_current(stamp):
            return _python()
        began = time.perf_counter()
        if VENV.exists():
            shutil.rmtree(VENV)
        if not quiet:
            print(f"qlib_peer env: building {VENV}", file=sys.stderr)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
        _pip(["--no-deps", QLIB], quiet)
        _pip(["-r", str(REQUIREMENTS)], quiet)
        (VENV / STAMP_NAME).write_text(stamp + "\n")
        if not quiet:
            print(f"qlib_peer env: built in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return _python()


def main(argv: list[str]) -> int:
    quiet = "--verbose" not in argv
    try:
        print(ensure_env(quiet=quiet))
    except (RuntimeError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
