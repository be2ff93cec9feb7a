"""Model artifacts: a current model with a valid manifest whose files match their checksums."""

from __future__ import annotations

from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.errors import ArtifactError
from tg.models.manifest import KINDS, MANIFEST, current_version_dir, no_current_message, read_manifest, verify_files


def check_models(models_dir: Path, checksums: bool) -> CheckResult:
    """ok: current model intact; warn: none trained yet; fail: partial or tampered."""
    versions = sorted(p.name for p in models_dir.glob(f"*/{MANIFEST}")) if models_dir.is_dir() else []
    counts = dict.fromkeys(KINDS[:3], 0)
    data: dict[str, object] = {"dir": str(models_dir), "current": None, "versions": len(versions), **counts}
    try:
        model_dir = current_version_dir(models_dir)
        if model_dir is None:
            return CheckResult("models", Verdict.warn, no_current_message(models_dir), data)
        manifest = read_manifest(model_dir)
    except ArtifactError as exc:
        return CheckResult("models", Verdict.fail, str(exc), data)
    data.update(
        current=manifest.version,
        trained_at=manifest.trained_at,
        **{kind: manifest.count(kind) for kind in KINDS[:3]},
        checksums_verified=checksums,
    )
    problems = verify_files(model_dir, manifest, checksums)
    if problems:
        data["problems"] = problems
        return CheckResult("models", Verdict.fail, f"model {manifest.version} refused: {problems[0]}", data)
    how = "sha256 verified" if checksums else "sizes verified"
    return CheckResult("models", Verdict.ok, f"model {manifest.version}: {len(manifest.files)} files, {how}", data)
