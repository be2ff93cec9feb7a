"""The progress line of a running sweep on stderr: one line as each job finishes, whichever process or node ran
it. A thread watches the sweep directory for the `result.json` every job writes (on a cluster, the directory is
on storage the nodes share), so it needs nothing from the launcher."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from types import TracebackType
from typing import TextIO

from tg.sweep.job import OBJECTIVE, RESULT_FILE
from tg.sweep.results import point_of


class SweepProgress:
    """`with SweepProgress(directory, total, varying): run the sweep` — `total` None when the sweeper does not
    say; `varying`: the swept keys, whose values name each job."""

    def __init__(
        self,
        directory: Path,
        total: int | None,
        varying: list[str],
        stream: TextIO | None = None,
        interval_s: float = 0.5,
    ) -> None:
        self.directory = directory
        self.total = total
        self.varying = varying
        self.stream = stream or sys.stderr
        self.interval_s = interval_s
        self.seen: set[Path] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="tg-sweep-progress", daemon=True)

    def __enter__(self) -> SweepProgress:
        jobs = "the jobs" if self.total is None else f"{self.total} job{'s' if self.total != 1 else ''}"
        self.stream.write(f"tg sweep: {jobs}, results in {self.directory}\n")
        self.stream.flush()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        self.poll()  # the jobs that finished since the last look

    def _watch(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.poll()

    def poll(self) -> None:
        """Print a line for each job that finished since the last poll."""
        for path in sorted(self.directory.glob(f"*/{RESULT_FILE}")):
            if path in self.seen:
                continue
            try:
                row = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # being written: the next poll reads it
                continue
            self.seen.add(path)
            of = f"/{self.total}" if self.total is not None else ""
            status = "ok" if row.get("ok") else f"FAILED: {row.get('error')}"
            score = (row.get("metrics") or {}).get(OBJECTIVE)
            shown = f", {OBJECTIVE} {score:.4f}" if isinstance(score, int | float) else ""
            point = point_of(row.get("overrides") or [], self.varying)
            line = f"[{len(self.seen)}{of}] job {row.get('job')} {status} in {row.get('seconds')} s{shown}  {point}"
            self.stream.write(f"tg sweep: {line}\n")
            self.stream.flush()
