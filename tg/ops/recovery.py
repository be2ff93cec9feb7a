"""Recovery metrics: the outcome of every fetch, predict, train and snapshot operation over a
retention window.

Outcomes are counted per operation and UTC minute (`tg.ops.outcomes`), so memory is bounded by
minutes x operations however many calls are recorded. Every process shares
`<directory>/recovery.json`: an instance keeps what it recorded since its last flush (its delta) and
merges it into the file under an exclusive lock on `<directory>/recovery.lock`, so a server and CLI
commands can record at the same time.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tg.ops.atomic import atomic_write_bytes
from tg.ops.json_safe import finite
from tg.ops.outcomes import Bucket, OperationState, Outcomes, decode, encode
from tg.ops.redact import redact_url

if TYPE_CHECKING:
    from tg.config.schema import RecoveryConfig

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "tg-recovery-export/1"
DEFAULT_DIRECTORY = Path("logs/recovery")
OPERATION_NAME = re.compile(r"[a-z][a-z0-9_.]{0,63}")
MAX_ERROR_CHARS = 200
NO_ERROR_TEXT = "(no error message)"
TOP_FAILURES = 10


class RecoveryMetrics:
    """Outcomes of operations in `directory`, shared with every other process recording there."""

    def __init__(
        self,
        directory: Path,
        retention_hours: float = 24.0,
        flush_interval_s: float = 0.0,
        max_consecutive_failures: int = 3,
        degraded_below: float = 0.95,
        unhealthy_below: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not (math.isfinite(retention_hours) and retention_hours > 0):
            raise ValueError(f"retention_hours must be > 0, got {retention_hours!r}")
        if not flush_interval_s >= 0:
            raise ValueError(f"flush_interval_s must be >= 0, got {flush_interval_s!r}")
        self.directory = Path(directory)
        self.retention_hours = float(retention_hours)
        self.flush_interval_s = float(flush_interval_s)
        self.max_consecutive_failures = max_consecutive_failures
        self.degraded_below = degraded_below
        self.unhealthy_below = unhealthy_below
        self._clock = clock
        self._path = self.directory / "recovery.json"
        self._lock = threading.Lock()
        self._view = Outcomes()  # the file as last read or written by this instance
        self._delta = Outcomes()  # recorded here since the last successful flush
        self._seen: tuple[int, int, int] | None = None  # the file version `_view` holds
        self._pruned_for: int | None = None
        self._warned = False
        self._last_flush = clock()
        with self._lock:
            self._refresh()

    def record_operation(
        self, operation: str, success: bool, duration_seconds: float, attempts: int = 1, error: str | None = None
    ) -> None:
        """Count one outcome; ValueError on bad arguments, but a failing disk never raises from here."""
        _validate(operation, duration_seconds, attempts)
        text = None if success else _error_text(error)
        with self._lock:
            now = self._clock()
            self._delta.record(operation, bool(success), float(duration_seconds), attempts, text, now)
            self._prune_if_due(now)
            if self.flush_interval_s == 0 or now - self._last_flush >= self.flush_interval_s:
                self._flush_locked(now)

    def get_summary(self) -> dict[str, Any]:
        """Counts, rates, durations and failure runs per operation and in total over the window."""
        state, now = self._snapshot()
        return self._summary(state, now)

    def get_health(self) -> dict[str, Any]:
        """healthy / degraded / unhealthy, with one sentence per reason."""
        return self._health(self.get_summary())

    def export_metrics(self, output_path: str | Path | None = None) -> dict[str, Any]:
        """Summary, health, hourly trend and top failures; also written as JSON to `output_path` when given."""
        state, now = self._snapshot()
        summary = self._summary(state, now)
        export: dict[str, Any] = finite(
            {
                "format": EXPORT_FORMAT,
                "generated_at": summary["generated_at"],
                "summary": summary,
                "health": self._health(summary),
                "hourly_trend": _hourly_trend(state),
                "top_failures": _top_failures(state),
            }
        )
        if output_path is not None:
            path = Path(output_path)
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(path, (json.dumps(export, indent=2, allow_nan=False) + "\n").encode("utf-8"))
        return export

    def consecutive_failures(self) -> dict[str, int]:
        """Failures in a row per operation (the `tg_consecutive_failures` gauge)."""
        return {op: s["consecutive_failures"] for op, s in self.get_summary()["operations"].items()}

    def success_ratio(self) -> dict[str, float]:
        """Successes / outcomes per operation over the window (operations without outcomes are left out)."""
        operations = self.get_summary()["operations"].items()
        return {op: s["success_rate"] for op, s in operations if s["success_rate"] is not None}

    def flush(self) -> None:
        """Merge what this instance recorded into the file now (an I/O error is logged, the data kept)."""
        with self._lock:
            self._flush_locked(self._clock())

    def close(self) -> None:
        """Flush; safe to call twice (the second call has nothing left to write)."""
        self.flush()

    def _snapshot(self) -> tuple[Outcomes, float]:
        """A private copy of the file's content plus this instance's delta, pruned to the window."""
        with self._lock:
            now = self._clock()
            self._refresh()
            self._prune_if_due(now)
            state = Outcomes()
            state.merge(self._view)
            state.merge(self._delta)
            return state, now

    # -- state: the methods below expect self._lock to be held --

    def _first_minute(self, now: float) -> int:
        return math.floor((now - self.retention_hours * 3600) / 60)

    def _prune_if_due(self, now: float) -> None:
        # the window only moves once a minute: pruning on every call would walk every bucket for nothing
        first = self._first_minute(now)
        if first != self._pruned_for:
            self._view.prune(first)
            self._delta.prune(first)
            self._pruned_for = first

    def _refresh(self) -> None:
        """Reload the view when the file changed (another process flushed, or a restart)."""
        signature = self._signature()
        if signature == self._seen:
            return
        try:
            self._view = self._read_file()
        except ValueError as exc:
            logger.warning(
                "recovery metrics: %s is unreadable (%s); ignored until the next write moves it aside", self._path, exc
            )
            self._view = Outcomes()
        except OSError as exc:
            self._warn_once("recovery metrics: cannot read %s (%s)", self._path, exc)
            return
        self._seen = signature
        self._pruned_for = None

    def _flush_locked(self, now: float) -> None:
        self._last_flush = now
        if not self._delta.operations:
            return
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with self._file_lock():
                merged = self._read_for_update()
                merged.merge(self._delta)
                merged.prune(self._first_minute(now))
                merged.drop_idle()
                atomic_write_bytes(self._path, encode(merged))
                self._seen = self._signature()
        except OSError as exc:
            self._warn_once("recovery metrics: cannot write %s (%s); keeping the outcomes in memory", self._path, exc)
            return
        self._view, self._delta = merged, Outcomes()
        self._pruned_for = self._first_minute(now)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        """The lock every process takes to update the file (a separate file: the data file is replaced)."""
        with open(self.directory / "recovery.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def _read_file(self) -> Outcomes:
        """The file's content (empty when there is none); ValueError when it is not ours."""
        try:
            raw = self._path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return Outcomes()
        return decode(raw)

    def _read_for_update(self) -> Outcomes:
        """The file's content under the lock; a corrupt file is moved aside so recording goes on."""
        try:
            return self._read_file()
        except ValueError as exc:
            aside = self._path.with_name(f"{self._path.name}.corrupt-{int(self._clock())}")
            os.replace(self._path, aside)
            logger.warning(
                "recovery metrics: %s was unreadable (%s); moved to %s, starting empty", self._path, exc, aside
            )
            return Outcomes()

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            stat = self._path.stat()
        except OSError:
            return None
        return stat.st_ino, stat.st_mtime_ns, stat.st_size

    def _warn_once(self, message: str, *args: object) -> None:
        # a broken disk would otherwise log on every recorded outcome
        logger.log(logging.DEBUG if self._warned else logging.WARNING, message, *args)
        self._warned = True

    # -- views --

    def _summary(self, state: Outcomes, now: float) -> dict[str, Any]:
        operations: dict[str, Any] = {}
        total = Bucket()
        for name in state.shown():
            outcomes = _total(state.buckets.get(name, {}).values())
            operations[name] = _operation_summary(outcomes, state.operations.get(name, OperationState()))
            total.add(Bucket(outcomes.count, outcomes.successes, outcomes.failures))
        return {
            "window_hours": self.retention_hours,
            "since": _iso(self._first_minute(now) * 60),
            "generated_at": _iso(now),
            "operations": operations,
            "total": {
                "count": total.count,
                "successes": total.successes,
                "failures": total.failures,
                "success_rate": _ratio(total.successes, total.count),
            },
        }

    def _health(self, summary: dict[str, Any]) -> dict[str, Any]:
        operations: dict[str, Any] = summary["operations"]
        rate: float | None = summary["total"]["success_rate"]
        unhealthy: list[str] = []
        degraded: list[str] = []
        for name, op in operations.items():
            run = op["consecutive_failures"]
            if run > self.max_consecutive_failures:
                unhealthy.append(f"{name} failed {run} times in a row (limit {self.max_consecutive_failures})")
            elif run >= 1:
                degraded.append(f"{name} failed {run} time{'s' if run > 1 else ''} in a row")
        if rate is not None and rate < self.unhealthy_below:
            unhealthy.append(f"success rate {rate:.1%} is below {self.unhealthy_below:.1%}")
        elif rate is not None and rate < self.degraded_below:
            degraded.append(f"success rate {rate:.1%} is below {self.degraded_below:.1%}")
        status = "unhealthy" if unhealthy else "degraded" if degraded else "healthy"
        reasons = unhealthy + degraded if operations else ["no operations recorded in the window"]
        return {
            "status": status,
            "reasons": reasons,
            "success_rate": rate,
            "max_consecutive_failures": max((op["consecutive_failures"] for op in operations.values()), default=0),
        }


def _operation_summary(outcomes: Bucket, state: OperationState) -> dict[str, Any]:
    return {
        "count": outcomes.count,
        "successes": outcomes.successes,
        "failures": outcomes.failures,
        "success_rate": _ratio(outcomes.successes, outcomes.count),
        "avg_duration_seconds": _ratio(outcomes.duration_sum, outcomes.count),
        "max_duration_seconds": outcomes.duration_max if outcomes.count else None,
        "avg_attempts": _ratio(outcomes.attempts_sum, outcomes.count),
        "consecutive_failures": state.consecutive_failures,
        "last_success": _iso(state.last_success),
        "last_failure": _iso(state.last_failure),
        "last_error": state.last_error,
    }


def _hourly_trend(state: Outcomes) -> list[dict[str, Any]]:
    hours: dict[tuple[int, str], Bucket] = {}
    for name, minutes in state.buckets.items():
        for minute, bucket in minutes.items():
            hours.setdefault((minute // 60, name), Bucket()).add(bucket)
    return [
        {
            "hour": _iso(hour * 3600),
            "operation": name,
            "count": b.count,
            "failures": b.failures,
            "success_rate": _ratio(b.successes, b.count),
            "avg_duration_seconds": _ratio(b.duration_sum, b.count),
        }
        for (hour, name), b in sorted(hours.items(), key=lambda item: item[0])
    ]


def _top_failures(state: Outcomes) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], tuple[int, int]] = {}  # (operation, error) -> (count, last minute)
    for name, minutes in state.buckets.items():
        for minute, bucket in minutes.items():
            for text, count in bucket.errors.items():
                total, last = seen.get((name, text), (0, minute))
                seen[(name, text)] = (total + count, max(last, minute))
    ranked = sorted(seen.items(), key=lambda item: (-item[1][0], -item[1][1], item[0]))[:TOP_FAILURES]
    return [
        {"operation": name, "error": text, "count": count, "last_seen": _iso(minute * 60)}
        for (name, text), (count, minute) in ranked
    ]


def _total(buckets: Any) -> Bucket:
    total = Bucket()
    for bucket in buckets:
        total.add(bucket)
    return total


def _ratio(part: float, whole: int) -> float | None:
    return part / whole if whole else None


def _iso(epoch: float | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _validate(operation: str, duration_seconds: float, attempts: int) -> None:
    if not isinstance(operation, str) or not OPERATION_NAME.fullmatch(operation):
        raise ValueError(f"operation must match [a-z][a-z0-9_.]{{0,63}}, got {operation!r}")
    if not (math.isfinite(duration_seconds) and duration_seconds >= 0):
        raise ValueError(f"duration_seconds must be finite and >= 0, got {duration_seconds!r}")
    if not isinstance(attempts, int) or attempts < 1:
        raise ValueError(f"attempts must be an integer >= 1, got {attempts!r}")


def _error_text(error: str | None) -> str:
    """The stored form of an error: credentials masked, on one line, at most MAX_ERROR_CHARS."""
    text = " ".join(redact_url(str(error or "")).split())[:MAX_ERROR_CHARS]
    return text or NO_ERROR_TEXT


# -- the process-wide instance --


def configured(node: RecoveryConfig, logs_dir: Path, flush_interval_s: float | None = None) -> RecoveryMetrics:
    """The recovery metrics of an installation: `<logs>/recovery/`, with the `recovery` config node's
    settings (`flush_interval_s` overrides the node's: 0 for a command that writes at once)."""
    return RecoveryMetrics(
        logs_dir / "recovery",
        retention_hours=node.retention_hours,
        flush_interval_s=node.flush_interval_s if flush_interval_s is None else flush_interval_s,
        max_consecutive_failures=node.max_consecutive_failures,
        degraded_below=node.degraded_below,
        unhealthy_below=node.unhealthy_below,
    )


_process: RecoveryMetrics | None = None
_process_lock = threading.Lock()


def get_recovery_metrics() -> RecoveryMetrics:
    """The process-wide instance: the one set by `use_recovery_metrics`, else one at logs/recovery."""
    global _process
    with _process_lock:
        if _process is None:
            _process = RecoveryMetrics(DEFAULT_DIRECTORY)
        return _process


def use_recovery_metrics(metrics: RecoveryMetrics | None) -> None:
    """Make `metrics` the process-wide instance (None: back to the default on next use)."""
    global _process
    with _process_lock:
        _process = metrics


def record_operation(
    operation: str, success: bool, duration_seconds: float, attempts: int = 1, error: str | None = None
) -> None:
    """Record one outcome on the process-wide instance."""
    get_recovery_metrics().record_operation(operation, success, duration_seconds, attempts, error)
