"""Model artifact manifests: what a trained model consists of, and proof that it is intact.

Layout under `models_saved/`:
    CURRENT                      the version directory in use (switched atomically), then
                                 `audit <seq> <hash>`: the audit entry written before the switch
    <version>/manifest.json      {"format", "version", "trained_at", "files": {relpath: {sha256, size, kind}}, ...}
    <version>/<files>            safetensors / JSON artifacts (never pickle)

`kind` is one of ensemble, forecaster, scaler, meta. Only the standard library is used here, so
`tg health` can verify artifacts without importing numpy or torch.

The format names the files a loadable model needs (`required_files`): `ensemble.json`,
`meta.json` and every file of each member the manifest lists (`member_files`, recorded at save from
the member's class). A manifest without one of them is refused, so "intact" here means "predict can
load it", not only "what is listed matches".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tg.errors import ArtifactError, NoModel

FORMAT = "tg-model/1"
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
ENSEMBLE_FILE = "ensemble.json"
META_FILE = "meta.json"
SAVE_LOCK = ".save.lock"  # held by a save; see `tg.models.artifacts`
STAGING_PREFIX = ".tmp-"  # a save in progress, or the leftover of one that was killed
KINDS = ("ensemble", "forecaster", "scaler", "meta")
# Models saved before manifests recorded `member_targets` and `member_files` had these three members; frozen
# (a new member is described by the manifest of the model that has it).
LEGACY_MEMBERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gbm": ("tg.models.members.gbm.GbmMember", ("gbm_classifier.txt", "gbm_regressor.txt")),
    "linear": ("tg.models.members.linear.LinearMember", ("linear.json",)),
    "gru": ("tg.models.members.gru.GruMember", ("gru.safetensors", "gru_scaler.json")),
}


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


def required_files(member_files: dict[str, list[str]]) -> list[str]:
    """Every file a `tg-model/1` model of these members ({name: its files}) must list in its manifest."""
    files = [ENSEMBLE_FILE, META_FILE]
    for names in member_files.values():
        files.extend(names)
    return files


def member_parts(raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, list[str]]] | None:
    """({member: class}, {member: files}) of a manifest, or None when they are missing or malformed."""
    members = raw.get("members")
    if not isinstance(members, list) or not members or not all(isinstance(m, str) for m in members):
        return None
    targets, files = raw.get("member_targets"), raw.get("member_files")
    if targets is None and files is None and all(m in LEGACY_MEMBERS for m in members):
        return {m: LEGACY_MEMBERS[m][0] for m in members}, {m: list(LEGACY_MEMBERS[m][1]) for m in members}
    if not isinstance(targets, dict) or not isinstance(files, dict) or set(targets) != set(members):
        return None
    if set(files) != set(members) or not all(
        isinstance(targets[m], str) and isinstance(files[m], list) and all(isinstance(f, str) for f in files[m])
        for m in members
    ):
        return None
    return {m: targets[m] for m in members}, {m: list(files[m]) for m in members}


def current_version_dir(models_dir: Path) -> Path | None:
    """The model directory named by `CURRENT`, or None when no model was ever trained."""
    pointer = read_current(models_dir)
    return None if pointer is None else models_dir / pointer[0]


def read_current(models_dir: Path) -> tuple[str, tuple[int, str] | None] | None:
    """`CURRENT`: the version in use and the audit entry (seq, hash) recorded with the switch (None for
    a model switched without one); None when no model was ever trained."""
    pointer = models_dir / CURRENT
    try:
        lines = pointer.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ArtifactError(f"cannot read {pointer}: {exc.strerror or exc}") from exc
    name = lines[0].strip() if lines else ""
    if not name or "/" in name or name.startswith("."):
        raise ArtifactError(f"{pointer} names an invalid model version {name!r}")
    audit = None
    if len(lines) > 1:
        parts = lines[1].split()
        if len(parts) == 3 and parts[0] == "audit" and parts[1].isdigit():
            audit = (int(parts[1]), parts[2])
    return name, audit


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
    members = raw.get("members")
    parts = member_parts(raw)
    if parts is None:
        raise ArtifactError(
            f"model {model_dir.name}: manifest.json names no valid members ({members!r}) with their classes and files"
        )
    files = []
    for rel, meta in sorted(raw["files"].items()):
        if not isinstance(meta, dict) or Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise ArtifactError(f"model {model_dir.name}: manifest entry {rel!r} is invalid")
        kind = meta.get("kind", "meta")
        if kind not in KINDS:
            raise ArtifactError(f"model {model_dir.name}: manifest entry {rel!r} has unknown kind {kind!r}")
        files.append(ArtifactFile(rel, str(meta.get("sha256", "")), int(meta.get("size", -1)), kind))
    listed = {f.path for f in files}
    absent = [name for name in required_files(parts[1]) if name not in listed]
    if absent:
        raise ArtifactError(
            f"model {model_dir.name}: manifest.json does not list {', '.join(absent)} "
            f"(required by {FORMAT} for members {', '.join(parts[1])}): partial or forged manifest"
        )
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
        except FileNotFoundError:
            problems.append(f"{item.path}: missing")
            continue
        except OSError as exc:
            problems.append(f"{item.path}: cannot be examined ({exc.strerror or exc})")
            continue
        if size != item.size:
            problems.append(f"{item.path}: size {size} != manifest {item.size} (truncated or replaced)")
            continue
        try:
            if checksums:
                digest = sha256_file(path)
            else:  # sizes only, but a file predict could not open is still refused
                with open(path, "rb"):
                    digest = item.sha256
        except OSError as exc:
            problems.append(f"{item.path}: unreadable ({exc.strerror or exc})")
            continue
        if digest != item.sha256:
            problems.append(f"{item.path}: sha256 mismatch (tampered)")
    return problems or _members_agree(model_dir, manifest)


def _members_agree(model_dir: Path, manifest: Manifest) -> list[str]:
    """The ensemble loads the members `ensemble.json` names: they must be the ones the manifest
    declares (and so verified). Small JSON, read with the standard library."""
    try:
        doc = json.loads((model_dir / ENSEMBLE_FILE).read_text(encoding="utf-8"))
        members = doc["members"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return [f"{ENSEMBLE_FILE}: unreadable ({type(exc).__name__}: {exc})"]
    declared = manifest.raw["members"]
    if list(members) != list(declared):
        return [
            f"{ENSEMBLE_FILE} names members {', '.join(map(str, members))} but the manifest declares "
            f"{', '.join(declared)}"
        ]
    return []


def load_verified(models_dir: Path, checksums: bool = True) -> tuple[Path, Manifest]:
    """The current model directory and its manifest, refusing anything partial or tampered."""
    model_dir = current_version_dir(models_dir)
    if model_dir is None:
        raise NoModel(no_current_message(models_dir))
    manifest = read_manifest(model_dir)
    problems = verify_files(model_dir, manifest, checksums)
    if problems:
        raise ArtifactError(refusal(model_dir.name, problems))
    return model_dir, manifest


def refusal(version: str, problems: list[str] | tuple[str, ...]) -> str:
    """One line refusing model `version` for its first problem (and how many more there are)."""
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"model {version} refused: {problems[0]}{more}"


def leftover_saves(models_dir: Path) -> list[str]:
    """Staging directories of saves that are not running (killed, or failed without cleaning up)."""
    try:
        staged = sorted(p.name for p in models_dir.glob(f"{STAGING_PREFIX}*") if p.is_dir())
    except OSError:
        return []
    if not staged or save_in_progress(models_dir):
        return []
    return staged


def save_in_progress(models_dir: Path) -> bool:
    """True while another process holds the models directory's save lock."""
    import fcntl

    try:
        handle = open(models_dir / SAVE_LOCK, "rb")  # noqa: SIM115 - closed below, lock or not
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return False
