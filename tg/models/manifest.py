"""Model artifact manifests: what a trained model consists of, and proof that it is intact.

Layout under `models_saved/`:
    CURRENT                      one line: the version directory in use (switched atomically)
    <version>/manifest.json      {"format", "version", "trained_at", "files": {relpath: {sha256, size, kind}}, ...}
    <version>/<files>            safetensors / JSON artifacts (never pickle)

`kind` is one of ensemble, forecaster, scaler, meta. Only the standard library is used here, so
`tg health` can verify artifacts without importing numpy or torch.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tg.errors import ArtifactError

FORMAT = "tg-model/1"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
KINDS = ("ensemble", "forecaster", "scaler", "meta")


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    sha256: str
    size: int
    kind: str


@dataclass(frozen=True)
class Manifest:
    version: str
    trained_at: str
    files: tuple[ArtifactFile, ...]
    raw: dict[str, Any] = field(repr=False)

    def count(self, kind: str) -> int:
        return sum(1 for f in self.files if f.kind == kind)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_version_dir(models_dir: Path) -> Path | None:
    """The model directory named by `CURRENT`, or None when no model was ever trained."""
    pointer = models_dir / CURRENT
    try:
        name = pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArtifactError(f"cannot read {pointer}: {exc.strerror or exc}") from exc
    if not name or "/" in name or name.startswith("."):
        raise ArtifactError(f"{pointer} names an invalid model version {name!r}")
    return models_dir / name


def no_current_message(models_dir: Path) -> str:
    """Why there is no current model: never trained, or a lost `CURRENT` beside saved versions."""
    versions = sorted(p.parent.name for p in models_dir.glob(f"*/{MANIFEST}")) if models_dir.is_dir() else []
    if versions:
        return (
            f"{models_dir / CURRENT} is missing although {len(versions)} saved version(s) exist "
            f"(latest {versions[-1]}): write a version name into it, or run `tg train`"
        )
    return f"no trained model in {models_dir}: run `tg train`"


def read_manifest(model_dir: Path) -> Manifest:
    """Parse and shape-check `manifest.json`; ArtifactError says what is wrong."""
    path = model_dir / MANIFEST
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ArtifactError(f"model {model_dir.name}: manifest.json is missing (partial artifact)") from exc
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"model {model_dir.name}: manifest.json is unreadable ({exc})") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT or not isinstance(raw.get("files"), dict):
        raise ArtifactError(f"model {model_dir.name}: manifest.json is not a {FORMAT} manifest")
    files = []
    for rel, meta in sorted(raw["files"].items()):
        if not isinstance(meta, dict) or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ArtifactError(f"model {model_dir.name}: manifest entry {rel!r} is invalid")
        kind = meta.get("kind", "meta")
        if kind not in KINDS:
            raise ArtifactError(f"model {model_dir.name}: manifest entry {rel!r} has unknown kind {kind!r}")
        files.append(ArtifactFile(rel, str(meta.get("sha256", "")), int(meta.get("size", -1)), kind))
    return Manifest(str(raw.get("version", model_dir.name)), str(raw.get("trained_at", "")), tuple(files), raw)


def verify_files(model_dir: Path, manifest: Manifest, checksums: bool = True) -> list[str]:
    """Problems with the files a manifest lists (missing, wrong size, wrong sha256), and any file in the
    model directory it does not list (an unlisted file could be read without being verified); empty = intact."""
    problems = []
    if not manifest.files:
        problems.append("the manifest lists no files")
    listed = {item.path for item in manifest.files}
    try:
        present = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*") if not p.is_dir())
    except OSError as exc:
        return [f"cannot list {model_dir}: {exc.strerror or exc}"]
    for rel in present:
        if rel != MANIFEST and rel not in listed:
            problems.append(f"{rel}: not covered by the manifest (unverifiable)")
    for item in manifest.files:
        path = model_dir / item.path
        try:
            size = path.stat().st_size
        except OSError:
            problems.append(f"{item.path}: missing")
            continue
        if size != item.size:
            problems.append(f"{item.path}: size {size} != manifest {item.size} (truncated or replaced)")
        elif checksums and sha256_file(path) != item.sha256:
            problems.append(f"{item.path}: sha256 mismatch (tampered)")
    return problems


def load_verified(models_dir: Path, checksums: bool = True) -> tuple[Path, Manifest]:
    """The current model directory and its manifest, refusing anything partial or tampered."""
    model_dir = current_version_dir(models_dir)
    if model_dir is None:
        raise ArtifactError(no_current_message(models_dir))
    manifest = read_manifest(model_dir)
    problems = verify_files(model_dir, manifest, checksums)
    if problems:
        raise ArtifactError(
            f"model {model_dir.name} refused: {problems[0]}"
            + (f" (+{len(problems) - 1} more)" if len(problems) > 1 else "")
        )
    return model_dir, manifest
