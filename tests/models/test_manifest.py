"""Model manifests: intact artifacts load; partial or tampered ones are refused with a reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tg.errors import ArtifactError
from tg.models.manifest import CURRENT, FORMAT, load_verified, sha256_file


def make_model(models: Path, version: str = "v1") -> Path:
    """A minimal but real artifact directory written the way `tg train` writes one."""
    model_dir = models / version
    model_dir.mkdir(parents=True)
    files = {
        "ensemble/gbm.json": ("ensemble", b'{"trees": []}'),
        "scaler.json": ("scaler", b'{"mean": [0]}'),
        "forecaster.safetensors": ("forecaster", b"\x00" * 64),
    }
    listing = {}
    for rel, (kind, data) in files.items():
        path = model_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        listing[rel] = {"sha256": sha256_file(path), "size": len(data), "kind": kind}
    manifest = {"format": FORMAT, "version": version, "trained_at": "2026-11-24T00:00:00+00:00", "files": listing}
    (model_dir / "manifest.json").write_text(json.dumps(manifest))
    (models / CURRENT).write_text(version + "\n")
    return model_dir


def test_intact_model_loads(tmp_path: Path) -> None:
    make_model(tmp_path)
    model_dir, manifest = load_verified(tmp_path)
    assert manifest.version == "v1" and manifest.count("ensemble") == 1


def test_no_model_says_run_train(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="tg train"):
        load_verified(tmp_path)


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: (d / "scaler.json").write_bytes(b'{"mean": [1]}'), "sha256 mismatch"),
        (lambda d: (d / "scaler.json").write_bytes(b"{"), "size"),
        (lambda d: (d / "forecaster.safetensors").unlink(), "missing"),
        (lambda d: (d / "manifest.json").unlink(), "manifest.json is missing"),
        (lambda d: (d / "manifest.json").write_text("{trunc"), "unreadable"),
    ],
)
def test_tampered_or_partial_model_is_refused(tmp_path: Path, damage, expected: str) -> None:  # type: ignore[no-untyped-def]
    damage(make_model(tmp_path))
    with pytest.raises(ArtifactError, match=expected):
        load_verified(tmp_path)


def test_pointer_cannot_escape_the_models_directory(tmp_path: Path) -> None:
    (tmp_path / CURRENT).write_text("../elsewhere")
    with pytest.raises(ArtifactError, match="invalid model version"):
        load_verified(tmp_path)
