"""Logging: `logs/trading.log` with size rotation and retention; stderr for warnings only.

stdout is reserved for command output. Read-only commands (health, doctor, config show) do not
create the log directory: they log to the file only when it already exists.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s [%(process)d] %(message)s"
_HANDLER_MARK = "_tg_handler"
# `log.error(..., extra=FILE_ONLY)`: a record for the log file that stderr leaves out (the caller prints its own line)
FILE_ONLY = {"tg_file_only": True}


def setup_logging(
    log_dir: Path,
    file_name: str,
    level: str,
    max_bytes: int,
    backup_count: int,
    retention_days: int,
    create_dir: bool,
    debug: bool = False,
) -> Path | None:
    """Configure the root logger once; return the log file path, or None when not logging to file."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(level)
    stderr = logging.StreamHandler(sys.stderr)
    stderr.setLevel(logging.DEBUG if debug else logging.WARNING)
    stderr.setFormatter(logging.Formatter("tg: %(levelname)s: %(message)s") if debug else _Brief())
    stderr.addFilter(lambda record: not getattr(record, "tg_file_only", False))
    _add(root, stderr)
    if create_dir:
        log_dir.mkdir(parents=True, exist_ok=True)
    if not (log_dir.is_dir() and os.access(log_dir, os.W_OK)):
        return None
    path = log_dir / file_name
    handler = SizeRotatingFile(path, max_bytes, backup_count)
    handler.setFormatter(logging.Formatter(FORMAT))
    _add(root, handler)
    if retention_days > 0:
        prune_rotated(log_dir, file_name, retention_days)
    return path


def log_file() -> Path | None:
    """The file tg logs to in this process, or None (not set up yet, or no writable log directory)."""
    for handler in logging.getLogger().handlers:
        if getattr(handler, _HANDLER_MARK, False) and isinstance(handler, logging.FileHandler):
            return Path(handler.baseFilename)
    return None


def prune_rotated(log_dir: Path, file_name: str, retention_days: int) -> list[Path]:
    """Delete rotated files (`trading.log.N`) older than the retention; return what was deleted."""
    cutoff = time.time() - retention_days * 86400
    removed = []
    for path in log_dir.glob(f"{file_name}.*"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except OSError:
            continue  # vanished or not ours to delete: retention retries next run
    return removed


class SizeRotatingFile(logging.FileHandler):
    """`logging.handlers.RotatingFileHandler`'s rotation by size (file → file.1 → … → file.<backup_count>, the
    oldest dropped), written here because importing `logging.handlers` (socket, pickle, queue, threading) cost
    ~12 ms of `tg health`'s 80 ms budget. The file is opened on the first record; a record that would take it
    past `max_bytes` rotates it first. `max_bytes` 0 or `backup_count` 0: no rotation, as there."""

    def __init__(self, path: Path, max_bytes: int, backup_count: int) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=True)
        self.max_bytes = max_bytes
        self.backup_count = backup_count

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._full(record):
                self._rotate()
        except Exception:  # noqa: BLE001 - logging never raises into the program: handleError reports it
            self.handleError(record)
            return
        super().emit(record)

    def _full(self, record: logging.LogRecord) -> bool:
        if self.max_bytes <= 0 or self.backup_count <= 0:
            return False
        if self.stream is None:
            self.stream = self._open()
        self.stream.seek(0, os.SEEK_END)
        return self.stream.tell() + len(self.format(record)) + len(self.terminator) >= self.max_bytes

    def _rotate(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None  # FileHandler reopens a None stream on emit
        base = self.baseFilename
        for n in range(self.backup_count - 1, 0, -1):
            if os.path.exists(f"{base}.{n}"):
                os.replace(f"{base}.{n}", f"{base}.{n + 1}")
        if os.path.exists(base):
            os.replace(base, f"{base}.1")


class _Brief(logging.Formatter):
    """stderr shows one line per record; tracebacks go to the log file (or TG_DEBUG=1)."""

    def __init__(self) -> None:
        super().__init__("tg: %(levelname)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return self.formatMessage(logging.makeLogRecord({**record.__dict__, "message": record.getMessage()}))


def _add(root: logging.Logger, handler: logging.Handler) -> None:
    setattr(handler, _HANDLER_MARK, True)
    root.addHandler(handler)
