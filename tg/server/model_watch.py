"""`ModelWatch`: the server's view of the current model, kept true to the disk.

Readiness and predictions read the same watch, so they never disagree: the model on disk is
inspected (every file re-hashed) whenever its files change, and the predictor is (re)loaded when
the verified version changes. When the current model becomes missing, tampered or unreadable, the
loaded predictor is dropped at once: the server does not keep answering from a model that a restart
could not load. Unchanged files are recognised by a signature of their stat (inode, size, mtime,
ctime and mode: a `chmod` changes ctime), so a probe every second costs a few `stat` calls, not a
re-hash.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tg.checks.models import ModelInspection, inspect_model
from tg.errors import TgError
from tg.models.manifest import CURRENT

log = logging.getLogger(__name__)


def model_signature(models_dir: Path) -> tuple[Any, ...]:
    """What changes whenever the current model's files, their modes or `CURRENT` change."""
    parts: list[Any] = []
    pointer = models_dir / CURRENT
    try:
        parts.append(_stat(pointer))
        name = pointer.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    except OSError as exc:
        return (f"CURRENT: {exc.__class__.__name__}",)
    version_dir = models_dir / name
    try:
        parts.append(("dir", name, _stat(version_dir)))
        with os.scandir(version_dir) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                parts.append((entry.name, _stat(Path(entry.path))))
    except OSError as exc:
        parts.append(f"{name}: {exc.__class__.__name__}")
    return tuple(parts)


def _stat(path: Path) -> tuple[int, ...]:
    st = os.stat(path, follow_symlinks=False)
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


class ModelWatch:
    """The inspected current model and the predictor loaded from it (None while it cannot load)."""

    def __init__(
        self,
        models_dir: Path,
        load: Callable[[], Any],
        interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.models_dir = models_dir
        self._load = load  # builds a Predictor for the current model
        self.interval_s = interval_s
        self._clock = clock
        self._lock = threading.Lock()
        self._signature: tuple[Any, ...] | None = None
        self._checked_at = float("-inf")
        self._inspection: ModelInspection | None = None
        self._predictor: Any = None
        self.load_error = ""  # why the verified model could not be loaded (features changed, say)
        self.loaded_at: float | None = None
        self.generation = 0  # changes whenever the predictor is loaded, replaced or dropped

    def refresh(self, force: bool = False) -> ModelInspection:
        """The inspection of the model on disk, re-done when its files changed (blocking: hashes
        and loads; call from a worker thread)."""
        with self._lock:
            now = self._clock()
            if not force and self._inspection is not None and now - self._checked_at < self.interval_s:
                return self._inspection
            self._checked_at = now
            signature = model_signature(self.models_dir)
            if signature == self._signature and self._inspection is not None:
                return self._inspection
            inspection = inspect_model(self.models_dir, checksums=True)
            self._signature = signature
            self._inspection = inspection
            self._sync_predictor(inspection)
            return inspection

    def _sync_predictor(self, inspection: ModelInspection) -> None:
        if not inspection.ready or inspection.manifest is None:
            if self._predictor is not None:
                log.warning("model unloaded: %s", inspection.refused)
                self.generation += 1
            self._predictor, self.load_error = None, ""
            return
        version = inspection.manifest.version
        if self._predictor is not None and self._predictor.version == version:
            return
        self.generation += 1
        try:
            self._predictor = self._load()
            self.load_error, self.loaded_at = "", time.time()
            log.info("model %s loaded", self._predictor.version)
        except TgError as exc:
            self._predictor, self.load_error = None, str(exc)
            log.warning("model %s verified but not loadable: %s", version, exc)

    @property
    def predictor(self) -> Any:
        """The loaded predictor as of the last refresh (None when the model cannot answer)."""
        return self._predictor

    @property
    def inspection(self) -> ModelInspection | None:
        return self._inspection
