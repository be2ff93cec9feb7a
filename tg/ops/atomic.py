"""Atomic file writes: temp file in the same directory, fsync, rename, fsync the directory.

A reader sees the old content or the new content, never a partial file, even after a kill.
"""

from __future__ import annotations

import os
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes, mode: int = 0o644) -> None:
    """Replace `path` with `data` atomically."""
    import tempfile  # here: `tg health` imports this module and never writes (tempfile costs ~6 ms)

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Replace `path` with UTF-8 `text` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def fsync_dir(directory: Path) -> None:
    """Persist a rename in `directory` (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
