"""Model artifacts: a current model with a valid manifest whose files match their checksums.

`inspect_model` looks at the models directory once; the health and doctor `models` check, the
`model_checksums` readiness control and the server's readiness probe all read that one inspection,
so a run never hashes a file twice.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.errors import ArtifactError, NoModel
from tg.models.manifest import (
    KINDS,
    MANIFEST,
    Manifest,
    current_version_dir,
    leftover_saves,
    no_current_message,
    read_manifest,
    refusal,
    verify_files,
)


@dataclass(frozen=True)
class ModelInspection:
    """What is on disk: the current model's manifest and every problem found with it."""

    models_dir: Path
    checksums: bool  # true: every file re-hashed; false: sizes and readability only
    manifest: Manifest | None = None
    problems: tuple[str, ...] = ()
    refused: str = ""  # why no usable model: no current one, or partial/tampered/unreadable
    missing: bool = False  # no current model at all (never trained, or CURRENT lost)
    leftovers: tuple[str, ...] = ()
    versions: int = 0

    @property
    def ready(self) -> bool:
        """True when predict can load the current model."""
        return self.manifest is not None and not self.refused


def inspect_model(models_dir: Path, checksums: bool) -> ModelInspection:
    """Inspect the current model under `models_dir` (never raises for what it finds)."""
    try:
        versions = len(list(models_dir.glob(f"*/{MANIFEST}"))) if models_dir.is_dir() else 0
    except OSError:
        versions = 0
    leftovers = tuple(leftover_saves(models_dir)) if models_dir.is_dir() else ()
    found = ModelInspection(models_dir, checksums, leftovers=leftovers, versions=versions)
    try:
        model_dir = current_version_dir(models_dir)
        if model_dir is None:
            return replace(found, refused=no_current_message(models_dir), missing=True)
        manifest = read_manifest(model_dir)
    except NoModel as exc:
        return replace(found, refused=str(exc), missing=True)
    except ArtifactError as exc:
        return replace(found, refused=str(exc))
    problems = tuple(verify_files(model_dir, manifest, checksums))
    refused = refusal(model_dir.name, problems) if problems else ""
    return replace(found, manifest=manifest, problems=problems, refused=refused)


def check_models(inspection: ModelInspection) -> CheckResult:
    """ok: current model intact; warn: none trained yet, or leftovers of a killed save; fail: partial,
    tampered or unreadable."""
    manifest = inspection.manifest
    data: dict[str, object] = {
        "dir": str(inspection.models_dir),
        "current": manifest.version if manifest else None,
        "versions": inspection.versions,
        **{kind: manifest.count(kind) if manifest else 0 for kind in KINDS[:3]},
        "ready": inspection.ready,
        "leftovers": list(inspection.leftovers),
    }
    if manifest is not None:
        data.update(trained_at=manifest.trained_at, checksums_verified=inspection.checksums)
    if inspection.problems:
        data["problems"] = list(inspection.problems)
    if inspection.missing:
        return CheckResult("models", Verdict.warn, inspection.refused, data)
    if inspection.refused:
        return CheckResult("models", Verdict.fail, inspection.refused, data)
    assert manifest is not None
    how = "sha256 verified" if inspection.checksums else "sizes verified"
    detail = f"model {manifest.version}: {len(manifest.files)} files, {how}"
    if inspection.leftovers:
        names = ", ".join(inspection.leftovers)
        detail += f"; leftover of an interrupted save: {names} (removed by the next save, or delete it)"
        return CheckResult("models", Verdict.warn, detail, data)
    return CheckResult("models", Verdict.ok, detail, data)
