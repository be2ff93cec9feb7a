"""Model manifests on models made by the real save code: intact ones load; partial, tampered or
forged ones are refused with a reason; whatever health calls ready, predict can load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tg.commands.health import run_health
from tg.commands.predict import run_predict
from tg.config.loader import load_config
from tg.errors import ArtifactError, NoModel, TgError
from tg.models.manifest import (
    CURRENT,
    ENSEMBLE_FILE,
    MANIFEST,
    META_FILE,
    load_verified,
    required_files,
)


def current_dir(models: Path) -> Path:
    return models / (models / CURRENT).read_text().split()[0]


def reseal(model_dir: Path, edit) -> None:  # type: ignore[no-untyped-def]
    """Rewrite the manifest through `edit(raw)`, as a careless tool would (the manifest is not
    covered by its own hashes, so the result is consistent with itself)."""
    path = model_dir / MANIFEST
    try:
        raw = json.loads(path.read_text())
    except ValueError:
        return  # a truncated manifest: nothing a tool could rewrite
    edit(raw)
    path.write_text(json.dumps(raw))


def test_intact_model_loads_and_lists_every_required_file(trained_project: Path) -> None:
    model_dir, manifest = load_verified(trained_project / "models_saved")
    listed = {f.path for f in manifest.files}
    assert set(required_files(manifest.raw["member_files"])) <= listed
    assert {ENSEMBLE_FILE, META_FILE, "gbm_classifier.txt", "gru.safetensors", "linear.json"} <= listed


def test_no_model_is_its_own_error_and_says_run_train(tmp_path: Path) -> None:
    with pytest.raises(NoModel, match="tg train"):
        load_verified(tmp_path)


@pytest.mark.parametrize("required", [ENSEMBLE_FILE, META_FILE, "gbm_regressor.txt", "gru_scaler.json"])
def test_a_manifest_without_a_required_file_is_refused(trained_project: Path, required: str) -> None:
    model_dir = current_dir(trained_project / "models_saved")
    (model_dir / required).unlink()
    reseal(model_dir, lambda raw: raw["files"].pop(required))
    with pytest.raises(ArtifactError, match=f"does not list {required}"):
        load_verified(trained_project / "models_saved")


def test_a_manifest_that_disagrees_with_the_ensemble_on_members_is_refused(trained_project: Path) -> None:
    model_dir = current_dir(trained_project / "models_saved")
    (model_dir / "gru.safetensors").unlink()
    (model_dir / "gru_scaler.json").unlink()

    def drop_gru(raw: dict) -> None:
        raw.update(members=["gbm", "linear"])
        raw["member_targets"].pop("gru")
        raw["member_files"].pop("gru")
        raw["files"].pop("gru.safetensors")
        raw["files"].pop("gru_scaler.json")

    reseal(model_dir, drop_gru)
    with pytest.raises(ArtifactError, match="ensemble.json names members gbm, linear, gru"):
        load_verified(trained_project / "models_saved")


@pytest.mark.parametrize("members", [[], ["gbm", "nonsense"], None])
def test_a_manifest_without_valid_members_is_refused(trained_project: Path, members: object) -> None:
    model_dir = current_dir(trained_project / "models_saved")
    reseal(model_dir, lambda raw: raw.update(members=members))
    with pytest.raises(ArtifactError, match="names no valid members"):
        load_verified(trained_project / "models_saved")


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        (lambda d: (d / "linear.json").write_bytes((d / "linear.json").read_bytes().replace(b"1", b"2", 1)), "sha256"),
        (lambda d: (d / "linear.json").write_bytes(b"{"), "size"),
        (lambda d: (d / "gru.safetensors").unlink(), "missing"),
        (lambda d: (d / MANIFEST).unlink(), "manifest.json is missing"),
        (lambda d: (d / MANIFEST).write_text("{trunc"), "unreadable"),
        (lambda d: (d / "extra.bin").write_bytes(b"x"), "not covered by the manifest"),
    ],
)
def test_tampered_or_partial_model_is_refused(trained_project: Path, damage, expected: str) -> None:  # type: ignore[no-untyped-def]
    damage(current_dir(trained_project / "models_saved"))
    with pytest.raises(ArtifactError, match=expected):
        load_verified(trained_project / "models_saved")


def test_pointer_cannot_escape_the_models_directory(tmp_path: Path) -> None:
    (tmp_path / CURRENT).write_text("../elsewhere")
    with pytest.raises(ArtifactError, match="invalid model version"):
        load_verified(tmp_path)


# Damage a careless tool, a crash or a full disk can leave, applied in any combination.
FILES = [
    ENSEMBLE_FILE,
    META_FILE,
    MANIFEST,
    "gbm_classifier.txt",
    "gbm_regressor.txt",
    "linear.json",
    "gru.safetensors",
]


def _apply(models: Path, action: tuple[str, str]) -> None:
    kind, name = action
    model_dir = current_dir(models) if (models / CURRENT).exists() else None
    if model_dir is None or not model_dir.is_dir():
        return
    target = model_dir / name
    if kind == "delete" and target.exists():
        target.unlink()
    elif kind == "truncate" and target.exists():
        target.write_bytes(target.read_bytes()[: max(1, target.stat().st_size // 2)])
    elif kind == "unlist" and (model_dir / MANIFEST).exists() and name != MANIFEST:
        target.unlink(missing_ok=True)
        reseal(model_dir, lambda raw: raw["files"].pop(name, None))
    elif kind == "drop_member" and (model_dir / MANIFEST).exists():
        reseal(model_dir, lambda raw: raw.update(members=[m for m in raw["members"] if m != "gru"]))
    elif kind == "extra":
        (model_dir / f"stray-{name}").write_bytes(b"x")
    elif kind == "lose_current":
        (models / CURRENT).unlink(missing_ok=True)
    elif kind == "bad_current":
        (models / CURRENT).write_text("no-such-version\n")


ACTIONS = st.tuples(
    st.sampled_from(["delete", "truncate", "unlist", "drop_member", "extra", "lose_current", "bad_current"]),
    st.sampled_from(FILES),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=st.lists(ACTIONS, max_size=3))
def test_whatever_health_calls_ready_predict_can_load(
    trained_models: Path, tmp_path_factory: pytest.TempPathFactory, actions: list[tuple[str, str]]
) -> None:
    """The property behind every probe: `analysis_ready` from health means `tg predict` answers."""
    root = tmp_path_factory.mktemp("prop")
    shutil.copytree(trained_models / "models_saved", root / "models_saved")
    for action in actions:
        _apply(root / "models_saved", action)
    loaded = load_config([], cwd=root, environ={}, use_cache=False)
    report = run_health(loaded)
    try:
        run_predict(loaded, "600519", None)
        answered = True
    except TgError:
        answered = False
    assert report.analysis_ready == answered, (actions, report.note)
