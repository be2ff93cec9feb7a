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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.config.parts import part_class
from tg.errors import ArtifactError, ConfigError
from tg.models.ensemble import Ensemble
from tg.models.manifest import (
    CURRENT,
    ENSEMBLE_FILE,
    FORMAT,
    MANIFEST,
    META_FILE,
    SAVE_LOCK,
    STAGING_PREFIX,
    current_version_dir,
    load_verified,
    member_parts,
    required_files,
    sha256_file,
)
from tg.models.members.base import Member, quiet_openmp
from tg.ops.atomic import atomic_write_bytes
from tg.ops.json_safe import finite


def new_version(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")


# called with the saved version directory before the switch; returns the audit entry (seq, hash) that
# records it (written into CURRENT), or None; raising keeps the previous model current
BeforeSwitch = Callable[[Path], "tuple[int, str] | None"]


def save_model(
    models_dir: Path,
    ensemble: Ensemble,
    meta: dict[str, Any],
    version: str | None = None,
    before_switch: BeforeSwitch | None = None,
    keep_versions: int = 0,
) -> Path:
    """Write the model as a new version and switch `CURRENT` to it; returns the version directory.

    `before_switch` runs between the two (the audit entry is written there: nothing becomes current
    unaudited); `keep_versions` > 0 prunes the oldest versions beyond that many afterwards (never the
    new current one nor the one it replaced)."""
    version = version or new_version()
    models_dir.mkdir(parents=True, exist_ok=True)
    with _save_lock(models_dir):
        previous = current_version_dir(models_dir)
        final = _save_locked(models_dir, ensemble, meta, version, before_switch)
        if keep_versions > 0:
            prune_versions(models_dir, keep_versions, protect={version, previous.name if previous else ""})
        return final


def prune_versions(models_dir: Path, keep: int, protect: set[str]) -> list[str]:
    """Delete the oldest saved versions beyond `keep` (names sort by time); `protect` is never deleted."""
    versions = sorted(p.parent.name for p in models_dir.glob(f"*/{MANIFEST}") if not p.parent.name.startswith("."))
    excess = max(len(versions) - keep, 0)
    doomed = [v for v in versions if v not in protect][:excess]
    for name in doomed:
        shutil.rmtree(models_dir / name, ignore_errors=True)
    return doomed


@contextmanager
def _save_lock(models_dir: Path) -> Iterator[None]:
    """One save at a time per models directory (a second `tg train` waits), so clearing the `.tmp-*`
    left by a killed save never removes one that another process is writing."""
    with open(models_dir / SAVE_LOCK, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _save_locked(
    models_dir: Path, ensemble: Ensemble, meta: dict[str, Any], version: str, before_switch: BeforeSwitch | None
) -> Path:
    for stale in models_dir.glob(f"{STAGING_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    staging = models_dir / f"{STAGING_PREFIX}{version}"
    try:
        staging.mkdir()
        _write_version(staging, ensemble, meta, version)
        final = models_dir / version
        os.replace(staging, final)
        _fsync_dir(models_dir)
    except BaseException as exc:  # a full disk, an interrupt: never leave the partial save behind
        shutil.rmtree(staging, ignore_errors=True)
        if not isinstance(exc, OSError):
            raise
        raise ArtifactError(
            f"cannot save model {version} in {models_dir}: {exc.strerror or exc}; "
            f"the partial save was removed, {_current_name(models_dir)} stays current"
        ) from exc
    try:
        audit = before_switch(final) if before_switch is not None else None
    except BaseException:
        shutil.rmtree(final, ignore_errors=True)  # never current, never audited: gone
        raise
    pointer = version + "\n" + (f"audit {audit[0]} {audit[1]}\n" if audit else "")
    try:
        atomic_write_bytes(models_dir / CURRENT, pointer.encode("ascii"))
    except OSError as exc:
        raise ArtifactError(
            f"model {version} was saved in {final} but {models_dir / CURRENT} could not be switched to it "
            f"({exc.strerror or exc}); {_current_name(models_dir)} stays current"
        ) from exc
    return final


def _current_name(models_dir: Path) -> str:
    try:
        current = current_version_dir(models_dir)
    except ArtifactError:
        current = None
    return f"model {current.name}" if current is not None else "no model"


def _write_version(staging: Path, ensemble: Ensemble, meta: dict[str, Any], version: str) -> None:
    """Every file of the model, fsynced, then its manifest (last, atomically)."""
    kinds: dict[str, str] = {}
    for member in ensemble.members.values():
        kinds.update(member.save(staging))
    (staging / ENSEMBLE_FILE).write_text(json.dumps(finite(ensemble.to_dict()), indent=1), encoding="utf-8")
    kinds[ENSEMBLE_FILE] = "forecaster"
    (staging / META_FILE).write_text(json.dumps(finite(meta), indent=1, default=str), encoding="utf-8")
    kinds[META_FILE] = "meta"
    member_files = {name: list(member.files) for name, member in ensemble.members.items()}
    missing = set(required_files(member_files)) - set(kinds)
    if missing:  # a member that writes other files than the format names: refuse to save it
        raise ArtifactError(f"model {version}: the members did not write {', '.join(sorted(missing))}")
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
        # how to load each member again: its class (built by tg.config.parts) and the files it wrote
        "member_targets": {name: f"{type(m).__module__}.{type(m).__name__}" for name, m in ensemble.members.items()},
        "member_files": member_files,
        "config": meta.get("config"),
        "data_fingerprint": meta.get("data", {}).get("fingerprint"),
        "metrics": meta.get("metrics"),
        "versions": meta.get("versions"),
    }
    atomic_write_bytes(staging / MANIFEST, json.dumps(finite(manifest), indent=1, default=str).encode("utf-8"))


def load_model(models_dir: Path) -> tuple[Ensemble, dict[str, Any], str]:
    """The current model (verified against its manifest), its meta, and its version."""
    model_dir, manifest = load_verified(models_dir)
    try:
        meta = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        doc = json.loads((model_dir / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        members: dict[str, Member] = {}
        parts = member_parts(manifest.raw)
        assert parts is not None  # read_manifest refused a manifest without them
        quiet_openmp()
        for name in doc["members"]:
            info = meta.get("training", {}).get("members", {}).get(name, {})
            try:
                cls = part_class(parts[0][name], f"member {name}")
            except ConfigError as exc:  # a manifest naming a class outside tg., or one this tg does not have
                raise ArtifactError(f"model {manifest.version} cannot be loaded: {exc}") from exc
            members[name] = cls.load(model_dir, info)  # type: ignore[attr-defined]
            members[name].name = name
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
