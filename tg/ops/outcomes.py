"""Outcomes of operations per UTC minute, and their file form (`tg-recovery/1`): what the recovery
metrics keep. Memory and file size are bounded by minutes × operations, however many calls are
counted; `Outcomes.merge` is how several processes' records add up."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

FORMAT = "tg-recovery/1"
# distinct error texts kept per bucket: a flood of unique messages must not grow memory or the file
MAX_ERROR_TEXTS = 20
OTHER_ERRORS = "(other errors)"


@dataclass
class Bucket:
    """Outcomes of one operation in one UTC minute."""

    count: int = 0
    successes: int = 0
    failures: int = 0
    duration_sum: float = 0.0
    duration_max: float = 0.0
    attempts_sum: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def add(self, other: Bucket) -> None:
        """Add `other`'s outcomes into this bucket."""
        self.count += other.count
        self.successes += other.successes
        self.failures += other.failures
        self.duration_sum += other.duration_sum
        self.duration_max = max(self.duration_max, other.duration_max)
        self.attempts_sum += other.attempts_sum
        for text, count in other.errors.items():
            _count_error(self.errors, text, count)


def _count_error(errors: dict[str, int], text: str, count: int) -> None:
    kept = len(errors) - (OTHER_ERRORS in errors)
    if text not in errors and kept >= MAX_ERROR_TEXTS:
        text = OTHER_ERRORS
    errors[text] = errors.get(text, 0) + count


@dataclass
class OperationState:
    """What outlives the buckets of an operation: its failures in a row and its last outcomes."""

    consecutive_failures: int = 0
    last_success: float | None = None
    last_failure: float | None = None
    last_error: str | None = None

    def merge(self, later: OperationState) -> None:
        """Apply `later` (recorded after this state, possibly by another process) on top of this state."""
        # a success in `later` ends the run counted here; without one, its failures extend the run
        if later.last_success is not None:
            self.consecutive_failures = later.consecutive_failures
        else:
            self.consecutive_failures += later.consecutive_failures
        if later.last_success is not None and (self.last_success is None or later.last_success >= self.last_success):
            self.last_success = later.last_success
        if later.last_failure is not None and (self.last_failure is None or later.last_failure >= self.last_failure):
            self.last_failure, self.last_error = later.last_failure, later.last_error


@dataclass
class Outcomes:
    """Buckets ({operation: {epoch minute: bucket}}) and per-operation state: the file, a view or a delta."""

    buckets: dict[str, dict[int, Bucket]] = field(default_factory=dict)
    operations: dict[str, OperationState] = field(default_factory=dict)

    def record(
        self, operation: str, success: bool, duration: float, attempts: int, error: str | None, now: float
    ) -> None:
        """Count one outcome at `now`."""
        one = Bucket(1, int(success), int(not success), duration, duration, attempts, {error: 1} if error else {})
        self.buckets.setdefault(operation, {}).setdefault(int(now // 60), Bucket()).add(one)
        outcome = OperationState(0, now, None, None) if success else OperationState(1, None, now, error)
        self.operations.setdefault(operation, OperationState()).merge(outcome)

    def merge(self, later: Outcomes) -> None:
        """Add `later` into this state; nothing of `later` is shared afterwards."""
        for operation, minutes in later.buckets.items():
            mine = self.buckets.setdefault(operation, {})
            for minute, bucket in minutes.items():
                mine.setdefault(minute, Bucket()).add(bucket)
        for operation, state in later.operations.items():
            self.operations.setdefault(operation, OperationState()).merge(state)

    def prune(self, first_minute: int) -> None:
        """Drop the buckets of minutes before `first_minute`."""
        for operation in list(self.buckets):
            minutes = self.buckets[operation]
            for minute in [m for m in minutes if m < first_minute]:
                del minutes[minute]
            if not minutes:
                del self.buckets[operation]

    def drop_idle(self) -> None:
        """Forget operations with nothing in the window and no failure run (keeps the file bounded)."""
        for operation in [op for op, s in self.operations.items() if not s.consecutive_failures]:
            if operation not in self.buckets:
                del self.operations[operation]

    def shown(self) -> list[str]:
        """Operations a summary lists: those with outcomes in the window or a failure run still open."""
        names = set(self.buckets) | {op for op, s in self.operations.items() if s.consecutive_failures}
        return sorted(names)


def encode(state: Outcomes) -> bytes:
    document = {
        "format": FORMAT,
        "buckets": {op: {str(m): asdict(b) for m, b in minutes.items()} for op, minutes in state.buckets.items()},
        "operations": {op: asdict(s) for op, s in state.operations.items()},
    }
    return json.dumps(document, sort_keys=True, separators=(",", ":"), allow_nan=False).encode("utf-8")


def decode(raw: bytes) -> Outcomes:
    """Parse a tg-recovery/1 document; ValueError for anything else."""
    try:
        document = json.loads(raw, parse_constant=_reject_constant)
        if document.get("format") != FORMAT:
            raise ValueError(f"format {document.get('format')!r}, expected {FORMAT!r}")
        state = Outcomes()
        for op, minutes in document["buckets"].items():
            state.buckets[str(op)] = {int(m): _decode_bucket(b) for m, b in minutes.items()}
        for op, s in document["operations"].items():
            state.operations[str(op)] = OperationState(
                int(s["consecutive_failures"]),
                _optional_float(s["last_success"]),
                _optional_float(s["last_failure"]),
                None if s["last_error"] is None else str(s["last_error"]),
            )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"unexpected content: {exc!r}") from exc
    return state


def _decode_bucket(b: dict[str, Any]) -> Bucket:
    errors = {str(text): int(count) for text, count in b["errors"].items()}
    return Bucket(
        int(b["count"]),
        int(b["successes"]),
        int(b["failures"]),
        float(b["duration_sum"]),
        float(b["duration_max"]),
        int(b["attempts_sum"]),
        errors,
    )


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")
