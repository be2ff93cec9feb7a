"""`tg snapshot create|list|verify|prune|restore`: backups of this installation (see `tg.ops.snapshot`).

Parts: `audit` always; `conf` and `.env` (secret values masked) with `--include-configs`; the
models with `--include-models`; `data_storage/` with `--include-data`. A restore replaces only the
parts the archive holds, never the audit log (append-only: the restore itself is recorded in it
first) and never a masked `.env`. Every command first completes a restore a kill interrupted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg.config.loader import LoadedConfig
from tg.errors import UsageError
from tg.ops.audit import AuditLog


@dataclass
class SnapshotResult:
    action: str
    data: dict[str, Any]
    lines: list[str]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def text(self) -> str:
        return "\n".join(self.lines)


def snapshot_dir(loaded: LoadedConfig, option: str | None) -> Path:
    if not option:
        return loaded.path("backups")
    path = Path(option)
    return path if path.is_absolute() else loaded.cwd / path


def parts_of(loaded: LoadedConfig, configs: bool, models: bool, data: bool) -> tuple[dict[str, Path], list[str]]:
    """The parts to archive ({name: live path}) and notes on what was left out."""
    parts: dict[str, Path] = {"audit": loaded.path("audit")}
    notes = []
    if configs:
        conf = loaded.conf_dir.resolve()
        if conf.is_relative_to(loaded.root) and "site-packages" not in conf.parts:
            parts["conf"] = loaded.conf_dir
        else:
            notes.append(f"conf: the config tree is the installed package's ({loaded.conf_dir}), not archived")
        env = loaded.cwd / ".env"
        if env.is_file():
            parts["env"] = env
    if models:
        parts["models"] = loaded.path("models")
    if data:
        parts["data"] = loaded.path("data")
    return parts, notes


def restorable_parts(loaded: LoadedConfig) -> dict[str, Path]:
    """Every part a restore may replace (the audit log is never rolled back)."""
    parts, _ = parts_of(loaded, configs=True, models=True, data=True)
    parts.pop("audit")
    parts.setdefault("env", loaded.cwd / ".env")
    return parts


def _recovered(loaded: LoadedConfig) -> list[str]:
    from tg.ops.snapshot_restore import recover

    return [f"completed an interrupted restore: {line}" for line in recover(loaded.root)]


def run_create(
    loaded: LoadedConfig, directory: str | None, tag: str | None, configs: bool, models: bool, data: bool
) -> SnapshotResult:
    from tg.ops.snapshot import create

    done = _recovered(loaded)
    parts, notes = parts_of(loaded, configs, models, data)
    info = create(snapshot_dir(loaded, directory), parts, tag, loaded.root)
    lines = [*done, f"snapshot {info.path} ({info.size:,} bytes): {', '.join(info.contents)}", *notes]
    return SnapshotResult("create", {**info.to_dict(), "notes": notes}, lines)


def run_list(loaded: LoadedConfig, directory: str | None) -> SnapshotResult:
    from tg.ops.snapshot_read import list_snapshots

    done = _recovered(loaded)
    infos = list_snapshots(snapshot_dir(loaded, directory))
    lines = [*done] + [
        f"{i.tag:40} {i.created_at:26} {i.size:>12,} {','.join(i.contents):28} "
        + ("verified" if i.verified else f"NOT VERIFIED: {i.problem}")
        for i in infos
    ]
    return SnapshotResult("list", {"snapshots": [i.to_dict() for i in infos]}, lines or ["no snapshots"])


def run_verify(loaded: LoadedConfig, archive: str) -> SnapshotResult:
    from tg.ops.snapshot_read import verify

    manifest = verify(_archive(loaded, archive))
    data = {**manifest.to_dict(), "path": str(_archive(loaded, archive)), "verified": True}
    data["members"] = len(manifest.members)
    line = (
        f"{archive}: intact ({len(manifest.members)} members, {', '.join(manifest.contents)}; "
        f"code {manifest.code_ref or 'unknown'}, created {manifest.created_at})"
    )
    return SnapshotResult("verify", data, [line])


def run_prune(loaded: LoadedConfig, directory: str | None, keep: int) -> SnapshotResult:
    from tg.ops.snapshot_read import prune

    removed = prune(snapshot_dir(loaded, directory), keep)
    return SnapshotResult("prune", {"removed": [str(p) for p in removed]}, [f"removed {len(removed)} snapshot(s)"])


def run_restore(loaded: LoadedConfig, archive: str, dry_run: bool, confirm: bool) -> SnapshotResult:
    from tg.ops.snapshot_restore import plan_restore, restore

    if dry_run == confirm:
        raise UsageError("tg snapshot restore needs exactly one of --dry-run (show the changes) or --confirm")
    path = _archive(loaded, archive)
    done = _recovered(loaded)
    parts = restorable_parts(loaded)
    if dry_run:
        plan = plan_restore(path, parts)
        lines = [*done, *_plan_lines(plan, "would be")]
        return SnapshotResult("restore", {"dry_run": True, **plan.to_dict()}, lines)
    if loaded.cfg.audit.enabled:  # recorded before anything changes
        AuditLog(loaded.path("audit") / loaded.cfg.audit.file).append("snapshot.restore", {"archive": path.name})
    plan, before = restore(path, parts, loaded.root, loaded.path("backups"))
    lines = [*done, *_plan_lines(plan, "were"), f"the state before the restore: {before.path}"]
    return SnapshotResult("restore", {"dry_run": False, **plan.to_dict(), "prerestore": before.to_dict()}, lines)


def _plan_lines(plan: Any, verb: str) -> list[str]:
    lines = [
        f"{len(plan.added)} file(s) {verb} added, {len(plan.changed)} changed, {len(plan.removed)} removed "
        f"({plan.unchanged} unchanged)"
    ]
    for label, paths in (("add", plan.added), ("change", plan.changed), ("remove", plan.removed)):
        lines += [f"  {label:6} {p}" for p in paths[:50]] + ([f"  … {len(paths) - 50} more"] if len(paths) > 50 else [])
    lines += [f"  skip   {line}" for line in plan.skipped]
    return lines


def _archive(loaded: LoadedConfig, archive: str) -> Path:
    path = Path(archive)
    path = path if path.is_absolute() else loaded.cwd / path
    if not path.is_file():
        raise UsageError(f"no archive {path}")
    return path
