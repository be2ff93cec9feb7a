"""Saving and loading a trained model under `models_saved/` (layout in `tg.models.manifest`).

Save: every file is written into `models_saved/.tmp-<version>/` and fsynced, the manifest (sha256
and size of each file) last; the directory is renamed to `<version>` and fsynced; only then is
`CURRENT` replaced atomically. A kill at any point leaves `CURRENT` naming the previous, intact
model; leftover `.tmp-*` directories are removed by the next save.

Load: `load_verified` checks every file against the manifest before anything is parsed; nothing is
unpickled (LightGBM text, safetensors, JSON).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.errors import ArtifactError
from tg.models.ensemble import Ensemble
from tg.models.manifest import CURRENT, FORMAT, MANIFEST, load_verified, sha256_file
from tg.models.members.base import Member, member_class
from tg.ops.atomic import atomic_write_bytes
from tg.ops.json_safe import finite

ENSEMBLE_FILE = "ensemble.json"
LOCK_FILE = ".save.lock"
META_FILE = "meta.json"


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


def save_model(models_dir: Path, ensemble: Ensemble, meta: dict[str, Any], version: str | None = None) -> Path:
    """Write the model as a new version and switch `CURRENT` to it; returns the version directory."""
    version = version or new_version()
    models_dir.mkdir(parents=True, exist_ok=True)
    with _save_lock(models_dir):
        return _save_locked(models_dir, ensemble, meta, version)


@contextmanager
def _save_lock(models_dir: Path) -> Iterator[None]:
    """One save at a time per models directory (a second `tg train` waits), so clearing the `.tmp-*`
    left by a killed save never removes one that another process is writing."""
    with open(models_dir / LOCK_FILE, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _save_locked(models_dir: Path, ensemble: Ensemble, meta: dict[str, Any], version: str) -> Path:
    for stale in models_dir.glob(".tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = models_dir / f".tmp-{version}"
    staging.mkdir()
    kinds: dict[str, str] = {}
    for member in ensemble.members.values():
        kinds.update(member.save(staging))
    (staging / ENSEMBLE_FILE).write_text(json.dumps(finite(ensemble.to_dict()), indent=1), encoding="utf-8")
    kinds[ENSEMBLE_FILE] = "forecaster"
    (staging / META_FILE).write_text(json.dumps(finite(meta), indent=1, default=str), encoding="utf-8")
    kinds[META_FILE] = "meta"
    files = {}
    for name, kind in sorted(kinds.items()):
        path = staging / name
        _fsync(path)
        files[name] = {"sha256": sha256_file(path), "size": path.stat().st_size, "kind": kind}
    manifest = {
        "format": FORMAT,
        "version": version,
        "trained_at": meta.get("trained_at", datetime.now(UTC).isoformat(timespec="seconds")),
        "files": files,
        "members": list(ensemble.members),
        "config": meta.get("config"),
        "data_fingerprint": meta.get("data", {}).get("fingerprint"),
        "metrics": meta.get("metrics"),
        "versions": meta.get("versions"),
    }
    atomic_write_bytes(staging / MANIFEST, json.dumps(finite(manifest), indent=1, default=str).encode("utf-8"))
    final = models_dir / version
    os.replace(staging, final)
    _fsync_dir(models_dir)
    atomic_write_bytes(models_dir / CURRENT, (version + "\n").encode("ascii"))
    return final


def load_model(models_dir: Path) -> tuple[Ensemble, dict[str, Any], str]:
    """The current model (verified against its manifest), its meta, and its version."""
    model_dir, manifest = load_verified(models_dir)
    try:
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        doc = json.loads((model_dir / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        members: dict[str, Member] = {}
        for name in doc["members"]:
            info = meta.get("training", {}).get("members", {}).get(name, {})
            members[name] = member_class(name).load(model_dir, info)
        ensemble = Ensemble.from_dict(doc, members)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"model {manifest.version} cannot be loaded: {type(exc).__name__}: {exc}") from exc
    return ensemble, meta, manifest.version


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
