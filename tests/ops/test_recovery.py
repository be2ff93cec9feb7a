"""Recovery metrics count every outcome exactly, share one file between processes and keep a bounded window."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tg.ops.recovery import (
    RecoveryMetrics,
    get_recovery_metrics,
    record_operation,
    use_recovery_metrics,
)

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 3, 1, 9, 30, 15, tzinfo=UTC).timestamp()
HOUR = 3600.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "recovery"


@pytest.fixture
def process_instance() -> Iterator[None]:
    """Leave no process-wide instance behind for other tests."""
    use_recovery_metrics(None)
    yield
    use_recovery_metrics(None)


def stored(directory: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((directory / "recovery.json").read_text())
    return document


def stored_count(directory: Path, operation: str) -> int:
    return sum(b["count"] for b in stored(directory)["buckets"].get(operation, {}).values())


def op_summary(metrics: RecoveryMetrics, operation: str) -> dict[str, Any]:
    summary: dict[str, Any] = metrics.get_summary()["operations"][operation]
    return summary


def test_playbook_example_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, process_instance: None) -> None:
    monkeypatch.chdir(tmp_path)
    metrics = get_recovery_metrics()
    assert metrics is get_recovery_metrics()
    assert metrics.directory == Path("logs/recovery")

    metrics.record_operation(operation="fetch_data", success=True, duration_seconds=1.5, attempts=2)
    summary = metrics.get_summary()
    export = metrics.export_metrics(output_path="metrics.json")

    fetch = summary["operations"]["fetch_data"]
    assert (fetch["count"], fetch["successes"], fetch["failures"], fetch["success_rate"]) == (1, 1, 0, 1.0)
    assert (fetch["avg_duration_seconds"], fetch["max_duration_seconds"], fetch["avg_attempts"]) == (1.5, 1.5, 2.0)
    assert summary["total"] == {"count": 1, "successes": 1, "failures": 0, "success_rate": 1.0}
    assert json.loads((tmp_path / "metrics.json").read_text()) == export
    assert stored_count(tmp_path / "logs" / "recovery", "fetch_data") == 1  # CLI default: written at once

    record_operation("fetch_data", success=False, duration_seconds=0.5, error="timeout")
    assert get_recovery_metrics().get_summary()["operations"]["fetch_data"]["count"] == 2

    custom = RecoveryMetrics(tmp_path / "elsewhere")
    use_recovery_metrics(custom)
    assert get_recovery_metrics() is custom
    use_recovery_metrics(None)
    assert get_recovery_metrics() is not custom


@pytest.mark.parametrize(("flush_interval_s", "threads", "per_thread"), [(3600.0, 8, 500), (0.0, 4, 24)])
def test_counts_are_exact_under_concurrent_threads(
    directory: Path, flush_interval_s: float, threads: int, per_thread: int
) -> None:
    metrics = RecoveryMetrics(directory, flush_interval_s=flush_interval_s)
    start = threading.Barrier(threads)

    def work(worker: int) -> None:
        start.wait()
        for i in range(per_thread):
            metrics.record_operation("predict", success=i % 4 != 0, duration_seconds=0.001 * worker, attempts=1 + i % 2)

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible: a race shows up as a lost count
    try:
        workers = [threading.Thread(target=work, args=(w,)) for w in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        sys.setswitchinterval(switch)
    metrics.close()

    total = threads * per_thread
    predict = op_summary(metrics, "predict")
    assert (predict["count"], predict["failures"]) == (total, total // 4)
    assert predict["avg_attempts"] == 1.5
    assert stored_count(directory, "predict") == total


def test_a_restart_keeps_the_window_and_sees_other_instances(directory: Path, clock: Clock) -> None:
    first = RecoveryMetrics(directory, clock=clock)
    first.record_operation("train", success=True, duration_seconds=30.0)
    first.record_operation("train", success=True, duration_seconds=10.0)
    clock.advance(60)
    first.record_operation("train", success=False, duration_seconds=5.0, error="out of memory")

    second = RecoveryMetrics(directory, clock=clock)
    train = op_summary(second, "train")
    assert (train["count"], train["failures"], train["max_duration_seconds"]) == (3, 1, 30.0)
    assert train["consecutive_failures"] == 1
    assert train["last_error"] == "out of memory"
    assert train["last_failure"] == datetime.fromtimestamp(T0 + 60, UTC).isoformat(timespec="seconds")

    second.record_operation("train", success=True, duration_seconds=1.0)
    assert op_summary(first, "train")["count"] == 4  # the first instance rereads the changed file
    assert op_summary(first, "train")["consecutive_failures"] == 0


def test_records_older_than_the_retention_vanish(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    metrics.record_operation("fetch_data", success=True, duration_seconds=1.0)
    clock.advance(24 * HOUR - 60)
    assert op_summary(metrics, "fetch_data")["count"] == 1

    clock.advance(120)
    assert metrics.get_summary()["operations"] == {}
    assert metrics.get_health()["reasons"] == ["no operations recorded in the window"]
    assert RecoveryMetrics(directory, clock=clock).get_summary()["operations"] == {}

    metrics.record_operation("snapshot", success=True, duration_seconds=2.0)
    assert list(stored(directory)["buckets"]) == ["snapshot"]  # the expired minute left the file too


def test_a_failure_run_outlives_its_expired_buckets(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    metrics.record_operation("fetch_data", success=False, duration_seconds=1.0, error="refused")
    clock.advance(25 * HOUR)
    fetch = op_summary(metrics, "fetch_data")
    assert (fetch["count"], fetch["success_rate"], fetch["consecutive_failures"]) == (0, None, 1)
    assert metrics.get_health()["status"] == "degraded"


def test_a_custom_retention_sets_the_window(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, retention_hours=1.0, clock=clock)
    metrics.record_operation("predict", success=True, duration_seconds=0.01)
    clock.advance(30 * 60)
    summary = metrics.get_summary()
    assert summary["window_hours"] == 1.0
    assert summary["since"] == "2024-03-01T09:00:00+00:00"
    assert summary["operations"]["predict"]["count"] == 1
    clock.advance(32 * 60)
    assert metrics.get_summary()["operations"] == {}


def test_a_flush_interval_batches_writes(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, flush_interval_s=60.0, clock=clock)
    metrics.record_operation("predict", success=True, duration_seconds=0.01)
    clock.advance(30)
    metrics.record_operation("predict", success=True, duration_seconds=0.01)
    assert not (directory / "recovery.json").exists()
    assert op_summary(metrics, "predict")["count"] == 2  # unflushed outcomes are shown all the same

    clock.advance(31)
    metrics.record_operation("predict", success=True, duration_seconds=0.01)
    assert stored_count(directory, "predict") == 3
    before = (directory / "recovery.json").read_bytes()
    clock.advance(10)
    metrics.record_operation("predict", success=False, duration_seconds=0.01)
    assert (directory / "recovery.json").read_bytes() == before

    metrics.close()
    metrics.close()
    assert stored_count(directory, "predict") == 4


CHILD = """
import sys
from pathlib import Path
from tg.ops.recovery import RecoveryMetrics
metrics = RecoveryMetrics(Path(sys.argv[1]))
print("ready", flush=True)
sys.stdin.readline()
for i in range(int(sys.argv[2])):
    metrics.record_operation("fetch_data", success=i % 5 != 0, duration_seconds=0.01, error="timeout")
metrics.close()
"""


def test_two_processes_recording_at_once_lose_nothing(directory: Path) -> None:
    per_process = 200
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(directory), str(per_process)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:  # both have started and imported: release them together
        assert child.stdout is not None and child.stdout.readline() == "ready\n"
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.close()
    assert [child.wait(timeout=60) for child in children] == [0, 0]

    fetch = op_summary(RecoveryMetrics(directory), "fetch_data")
    assert (fetch["count"], fetch["failures"]) == (2 * per_process, 2 * per_process // 5)


def test_failure_runs_merge_across_instances(directory: Path, clock: Clock) -> None:
    server = RecoveryMetrics(directory, flush_interval_s=3600.0, clock=clock)
    command = RecoveryMetrics(directory, clock=clock)
    server.record_operation("fetch_data", success=False, duration_seconds=1.0, error="a")
    server.record_operation("fetch_data", success=False, duration_seconds=1.0, error="b")
    command.record_operation("fetch_data", success=False, duration_seconds=1.0, error="c")
    server.flush()  # no success in the server's batch: its failures extend the run in the file
    assert stored(directory)["operations"]["fetch_data"]["consecutive_failures"] == 3

    server.record_operation("fetch_data", success=True, duration_seconds=1.0)
    server.record_operation("fetch_data", success=False, duration_seconds=1.0, error="d")
    command.record_operation("fetch_data", success=False, duration_seconds=1.0, error="e")
    assert stored(directory)["operations"]["fetch_data"]["consecutive_failures"] == 4
    server.flush()  # a success in the batch: the run restarts after it
    assert stored(directory)["operations"]["fetch_data"]["consecutive_failures"] == 1
    assert command.consecutive_failures() == {"fetch_data": 1}
    assert command.success_ratio() == {"fetch_data": pytest.approx(1 / 6)}


def test_health_follows_failure_runs_and_success_rate(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    assert metrics.get_health() == {
        "status": "healthy",
        "reasons": ["no operations recorded in the window"],
        "success_rate": None,
        "max_consecutive_failures": 0,
    }
    for _ in range(100):
        metrics.record_operation("predict", success=True, duration_seconds=0.01)
    assert metrics.get_health()["status"] == "healthy"

    metrics.record_operation("predict", success=False, duration_seconds=0.01, error="no model")
    health = metrics.get_health()
    assert health["status"] == "degraded"
    assert health["reasons"] == ["predict failed 1 time in a row"]

    for _ in range(3):
        metrics.record_operation("predict", success=False, duration_seconds=0.01, error="no model")
    health = metrics.get_health()
    assert (health["status"], health["max_consecutive_failures"]) == ("unhealthy", 4)
    assert health["reasons"] == ["predict failed 4 times in a row (limit 3)"]

    metrics.record_operation("predict", success=True, duration_seconds=0.01)
    health = metrics.get_health()
    assert (health["status"], health["reasons"]) == ("healthy", [])
    assert health["success_rate"] == pytest.approx(101 / 105)


def test_a_low_success_rate_is_unhealthy_without_a_failure_run(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    for _ in range(5):
        metrics.record_operation("fetch_data", success=False, duration_seconds=1.0, error="timeout")
        metrics.record_operation("fetch_data", success=False, duration_seconds=1.0, error="timeout")
        metrics.record_operation("fetch_data", success=True, duration_seconds=1.0)
    health = metrics.get_health()
    assert health["status"] == "unhealthy"
    assert health["reasons"] == ["success rate 33.3% is below 50.0%"]

    lenient = RecoveryMetrics(directory, clock=clock, degraded_below=0.5, unhealthy_below=0.2)
    assert lenient.get_health()["status"] == "degraded"


def test_the_export_file_has_summary_health_trend_and_top_failures(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    metrics.record_operation("predict", success=True, duration_seconds=0.2)
    metrics.record_operation("fetch_data", success=False, duration_seconds=3.0, attempts=3, error="timeout")
    metrics.record_operation("fetch_data", success=True, duration_seconds=1.0)
    clock.advance(HOUR)
    metrics.record_operation("fetch_data", success=False, duration_seconds=2.0, error="timeout")
    metrics.record_operation("fetch_data", success=False, duration_seconds=2.0, error="HTTP 502")

    output = directory.parent / "exports" / "metrics.json"
    export = metrics.export_metrics(output_path=output)

    text = output.read_text()
    assert json.loads(text) == export
    assert "NaN" not in text
    assert export["format"] == "tg-recovery-export/1"
    assert export["generated_at"] == "2024-03-01T10:30:15+00:00"
    assert export["summary"] == metrics.get_summary()
    assert export["health"]["status"] == "unhealthy"  # 2 successes out of 5
    assert export["hourly_trend"] == [
        {
            "hour": "2024-03-01T09:00:00+00:00",
            "operation": "fetch_data",
            "count": 2,
            "failures": 1,
            "success_rate": 0.5,
            "avg_duration_seconds": 2.0,
        },
        {
            "hour": "2024-03-01T09:00:00+00:00",
            "operation": "predict",
            "count": 1,
            "failures": 0,
            "success_rate": 1.0,
            "avg_duration_seconds": 0.2,
        },
        {
            "hour": "2024-03-01T10:00:00+00:00",
            "operation": "fetch_data",
            "count": 2,
            "failures": 2,
            "success_rate": 0.0,
            "avg_duration_seconds": 2.0,
        },
    ]
    assert export["top_failures"] == [
        {"operation": "fetch_data", "error": "timeout", "count": 2, "last_seen": "2024-03-01T10:30:00+00:00"},
        {"operation": "fetch_data", "error": "HTTP 502", "count": 1, "last_seen": "2024-03-01T10:30:00+00:00"},
    ]
    fetch = export["summary"]["operations"]["fetch_data"]
    assert (fetch["avg_attempts"], fetch["consecutive_failures"], fetch["last_error"]) == (1.5, 2, "HTTP 502")


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"format": "tg-recovery/0", "buckets": {}, "operations": {}}',
        b'{"format": "tg-recovery/1", "buckets": [], "operations": {}}',
        b'{"format": "tg-recovery/1", "buckets": {"x": {"1": {"count": NaN}}}, "operations": {}}',
    ],
)
def test_a_corrupt_file_is_moved_aside_and_recording_continues(
    directory: Path, clock: Clock, caplog: pytest.LogCaptureFixture, content: bytes
) -> None:
    directory.mkdir(parents=True)
    (directory / "recovery.json").write_bytes(content)
    caplog.set_level(logging.WARNING, logger="tg.ops.recovery")

    metrics = RecoveryMetrics(directory, clock=clock)
    metrics.record_operation("snapshot", success=True, duration_seconds=4.0)

    assert (directory / f"recovery.json.corrupt-{int(T0)}").read_bytes() == content
    assert stored_count(directory, "snapshot") == 1
    assert op_summary(metrics, "snapshot")["count"] == 1
    assert any("moved to" in r.getMessage() for r in caplog.records)


def test_an_unwritable_directory_keeps_outcomes_in_memory(
    tmp_path: Path, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a regular file: nothing can be created under it, not even by root")
    directory = blocker / "recovery"
    caplog.set_level(logging.DEBUG, logger="tg.ops.recovery")

    metrics = RecoveryMetrics(directory, clock=clock)
    for _ in range(3):
        metrics.record_operation("train", success=False, duration_seconds=1.0, error="disk full")

    assert op_summary(metrics, "train")["count"] == 3
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "cannot write" in warnings[0].getMessage()

    blocker.unlink()  # the disk is back: the next flush writes everything kept
    metrics.flush()
    assert stored_count(directory, "train") == 3
    assert stored(directory)["operations"]["train"]["consecutive_failures"] == 3


def test_proxy_credentials_never_reach_the_file(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, clock=clock)
    error = "ProxyError: http://user:secret@proxy:7890 refused\n  during fetch"
    metrics.record_operation("fetch_data", success=False, duration_seconds=5.0, error=error)
    metrics.record_operation("fetch_data", success=False, duration_seconds=5.0, error="x" * 500)
    metrics.record_operation("predict", success=True, duration_seconds=0.1, error="ignored on success")
    output = directory / "export.json"
    export = metrics.export_metrics(output_path=output)

    assert "secret" not in (directory / "recovery.json").read_text()
    assert "secret" not in output.read_text()
    assert export["top_failures"][0]["error"] == "ProxyError: http://user:***@proxy:7890 refused during fetch"
    assert op_summary(metrics, "fetch_data")["last_error"] == "x" * 200
    assert op_summary(metrics, "predict")["last_error"] is None


@pytest.mark.parametrize(
    ("operation", "duration", "attempts"),
    [
        ("", 1.0, 1),
        ("Fetch", 1.0, 1),
        ("1fetch", 1.0, 1),
        ("fetch-data", 1.0, 1),
        ("fetch data", 1.0, 1),
        ("fetch\n", 1.0, 1),
        ("f" * 65, 1.0, 1),
        ("fetch", -0.1, 1),
        ("fetch", float("nan"), 1),
        ("fetch", float("inf"), 1),
        ("fetch", 1.0, 0),
    ],
)
def test_invalid_arguments_raise(directory: Path, operation: str, duration: float, attempts: int) -> None:
    metrics = RecoveryMetrics(directory)
    with pytest.raises(ValueError):
        metrics.record_operation(operation, success=True, duration_seconds=duration, attempts=attempts)
    assert not directory.exists()


def test_a_valid_name_of_64_characters_is_accepted(directory: Path) -> None:
    name = "data.fetch_" + "a" * 53
    RecoveryMetrics(directory).record_operation(name, success=True, duration_seconds=0.0)
    assert stored_count(directory, name) == 1


def test_memory_and_file_stay_bounded(directory: Path, clock: Clock) -> None:
    metrics = RecoveryMetrics(directory, flush_interval_s=3600.0, clock=clock)
    for i in range(100_000):
        metrics.record_operation("predict", success=True, duration_seconds=0.001)
        if i % 3000 == 0:
            metrics.record_operation("predict", success=False, duration_seconds=0.001, error=f"error #{i}")
    metrics.close()

    minutes = stored(directory)["buckets"]["predict"]
    assert len(minutes) == 1
    (bucket,) = minutes.values()
    assert bucket["count"] == 100_034 and bucket["failures"] == 34
    assert len(bucket["errors"]) == 21 and bucket["errors"]["(other errors)"] == 14
    assert (directory / "recovery.json").stat().st_size < 4096


def test_importing_the_module_is_cheap_and_has_no_side_effects(tmp_path: Path) -> None:
    code = "import sys, tg.ops.recovery; print(sorted(m for m in ('numpy', 'prometheus_client') if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(REPO), "PATH": ""},
    )
    assert result.stdout.strip() == "[]"
    assert list(tmp_path.iterdir()) == []
