"""Model artifacts: round trip, tampered or truncated files refused, a kill during save is harmless."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tg.data.local import embedded_root
from tg.errors import ArtifactError
from tg.models.artifacts import load_model, save_model
from tg.models.manifest import CURRENT, MANIFEST, sha256_file
from tg.models.predictor import Predictor


def current(models: Path) -> Path:
    return models / (models / CURRENT).read_text().split()[0]


def test_round_trip_gives_identical_predictions(trained_project: Path) -> None:
    models = trained_project / "models_saved"
    ensemble, meta, version = load_model(models)
    before = Predictor(models, embedded_root()).predict("600519", None).data
    save_model(models, ensemble, meta, version="copy")
    assert (models / CURRENT).read_text().split()[0] == "copy"
    after = Predictor(models, embedded_root()).predict("600519", None).data
    assert after["probabilities"] == before["probabilities"]
    assert after["forecast"] == before["forecast"]
    assert not any(p.name.startswith(".tmp-") for p in models.iterdir())


def test_no_pickle_anywhere(trained_project: Path) -> None:
    files = [p for p in current(trained_project / "models_saved").iterdir()]
    suffixes = {p.suffix for p in files}
    assert suffixes <= {".json", ".txt", ".safetensors"}
    for path in files:
        assert not path.read_bytes().startswith(b"\x80"), f"{path.name} looks like a pickle"


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_tampered_or_partial_artifact_is_refused(trained_project: Path, damage: str) -> None:
    target = current(trained_project / "models_saved") / "gbm_classifier.txt"
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    else:
        target.unlink()
    with pytest.raises(ArtifactError, match="refused"):
        load_model(trained_project / "models_saved")


def test_a_forged_manifest_still_cannot_load_garbage(trained_project: Path) -> None:
    directory = current(trained_project / "models_saved")
    target = directory / "gbm_classifier.txt"
    target.write_text("not a model")
    manifest = json.loads((directory / MANIFEST).read_text())
    manifest["files"]["gbm_classifier.txt"].update(sha256=sha256_file(target), size=target.stat().st_size)
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="cannot be loaded"):
        load_model(trained_project / "models_saved")


def test_no_model_says_run_tg_train(project: Path) -> None:
    with pytest.raises(ArtifactError, match="run `tg train`"):
        load_model(project / "models_saved")


SLOW_SAVE = """
import os, sys, time
from pathlib import Path
import tg.models.artifacts as artifacts
real_fsync = os.fsync
def slow_fsync(fd):
    time.sleep(0.05)
    real_fsync(fd)
artifacts.os.fsync = slow_fsync
models = Path(sys.argv[1])
ensemble, meta, version = artifacts.load_model(models)
print("saving", flush=True)
artifacts.save_model(models, ensemble, meta, version="new")
print("saved", flush=True)
"""


@pytest.mark.parametrize("kill_after", [0.02, 0.15, 0.3, 0.5])
def test_kill_during_save_leaves_the_previous_model_loadable(trained_project: Path, kill_after: float) -> None:
    models = trained_project / "models_saved"
    old = (models / CURRENT).read_text().split()[0]
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SAVE, str(models)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "saving"
    time.sleep(kill_after)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    name = (models / CURRENT).read_text().split()[0]
    assert name in (old, "new")  # never anything half-written
    ensemble, _, version = load_model(models)  # verified against its manifest
    assert version == name and ensemble.members
    ensemble, meta, _ = load_model(models)
    save_model(models, ensemble, meta, version="after")  # the next save clears what the kill left
    assert not any(p.name.startswith(".tmp-") for p in models.iterdir())


def test_a_file_dropped_from_the_manifest_is_refused_not_loaded_unverified(trained_project: Path) -> None:
    directory = current(trained_project / "models_saved")
    manifest = json.loads((directory / MANIFEST).read_text())
    del manifest["files"]["linear.json"]
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not list linear.json"):
        load_model(trained_project / "models_saved")
    manifest["files"] = {}
    (directory / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not list ensemble.json, meta.json"):
        load_model(trained_project / "models_saved")


def test_concurrent_saves_both_complete_and_one_becomes_current(trained_project: Path) -> None:
    import threading

    models = trained_project / "models_saved"
    ensemble, meta, _ = load_model(models)
    threads = [threading.Thread(target=save_model, args=(models, ensemble, meta, name)) for name in ("left", "right")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert (models / CURRENT).read_text().split()[0] in ("left", "right")
    for name in ("left", "right"):
        assert (models / name / MANIFEST).is_file()
    assert load_model(models)[0].members
    assert not any(p.name.startswith(".tmp-") for p in models.iterdir())


FULL_DISK = """
set -u
mount -t tmpfs -o size=200k tmpfs models_saved
cp -a "$1"/. models_saved/
cp -a "$1"/../audit/. audit/
"$2" train {overrides} --no-progress >/dev/null 2>train.err
echo $? >train.rc
ls -A models_saved >listing.txt
df --output=pcent models_saved | tail -1 >usage.txt
"$2" health --json >health.json
"$2" predict 600519 --json >predict.json
"""


@pytest.mark.slow
def test_a_full_disk_during_a_save_cleans_up_says_so_and_keeps_the_previous_model(
    trained_models: Path, project: Path
) -> None:
    """A real tmpfs too small for a second model, mounted over models_saved/ in a private mount
    namespace: the save fails midway at 100 % disk."""
    import shlex
    import shutil

    from tests.conftest import TG, TINY

    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is required for the full-disk test")
    old = (trained_models / "models_saved" / CURRENT).read_text().split()[0]
    script = FULL_DISK.format(overrides=" ".join(shlex.quote(o) for o in TINY))
    namespace = ["unshare", "-m"] if os.geteuid() == 0 else ["unshare", "-rm"]
    subprocess.run(
        [*namespace, "sh", "-c", script, "sh", str(trained_models / "models_saved"), str(TG)],
        cwd=project,
        check=True,
        timeout=120,
    )
    stderr = (project / "train.err").read_text()
    assert (project / "train.rc").read_text().strip() == "1"
    assert stderr.count("\n") == 1 and "internal error" not in stderr, stderr
    assert "No space left on device" in stderr and "partial save was removed" in stderr
    assert f"model {old} stays current" in stderr
    assert not any(name.startswith(".tmp-") for name in (project / "listing.txt").read_text().split())
    health = json.loads((project / "health.json").read_text())
    assert health["status"] == "healthy" and old in health["note"]
    assert json.loads((project / "predict.json").read_text())["model"]["version"] == old


def test_a_model_becomes_current_only_after_its_audit_entry(trained_project: Path) -> None:
    """The entry is written before the switch: an audit log that cannot take it keeps the old model."""
    from tg.errors import AuditError
    from tg.ops.audit import AuditLog

    models = trained_project / "models_saved"
    old = (models / CURRENT).read_text()
    ensemble, meta, _ = load_model(models)
    log = AuditLog(trained_project / "audit" / "audit.jsonl")
    log.path.write_bytes(log.path.read_bytes() + b'{"broken')  # a damaged last line

    def audited(version_dir: Path) -> tuple[int, str]:
        entry = log.append("model.train", {"version": version_dir.name})
        return entry["seq"], entry["hash"]

    with pytest.raises(AuditError):
        save_model(models, ensemble, meta, version="unaudited", before_switch=audited)
    assert (models / CURRENT).read_text() == old and not (models / "unaudited").exists()


def test_a_kill_between_the_audit_entry_and_the_switch_leaves_the_old_model_current(trained_project: Path) -> None:
    script = """
import sys, time
from pathlib import Path
from tg.models.artifacts import load_model, save_model
from tg.ops.audit import AuditLog
models, log = Path(sys.argv[1]), AuditLog(Path(sys.argv[2]))
ensemble, meta, _ = load_model(models)
def audited(version_dir):
    entry = log.append("model.train", {"version": version_dir.name})
    print("audited", flush=True)
    time.sleep(30)
    return entry["seq"], entry["hash"]
save_model(models, ensemble, meta, version="killed", before_switch=audited)
"""
    models, audit = trained_project / "models_saved", trained_project / "audit" / "audit.jsonl"
    old = (models / CURRENT).read_text()
    proc = subprocess.Popen([sys.executable, "-c", script, str(models), str(audit)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "audited"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    assert (models / CURRENT).read_text() == old  # the intent is recorded; the switch never happened
    from tests.conftest import invoke

    report = invoke("health", "--json").json()
    assert report["checks"]["audit"]["verdict"] == "ok" and report["status"] == "healthy"


def test_health_flags_a_current_model_switched_without_an_audit_record(trained_project: Path) -> None:
    from tests.conftest import invoke

    models = trained_project / "models_saved"
    version = (models / CURRENT).read_text().splitlines()[0]
    (models / CURRENT).write_text(version + "\n")  # switched by hand, no audit reference
    audit = invoke("health", "--json").json()["checks"]["audit"]
    assert audit["verdict"] == "warn" and f"the current model {version} has no audit record" in audit["detail"]
    (models / CURRENT).write_text(version + "\naudit 0 " + "f" * 64 + "\n")  # a forged reference
    audit = invoke("health", "--json").json()["checks"]["audit"]
    assert audit["verdict"] == "fail" and "missing or altered" in audit["detail"]


def test_old_versions_are_pruned_but_never_the_current_or_the_previous(trained_project: Path) -> None:
    models = trained_project / "models_saved"
    ensemble, meta, first = load_model(models)
    for name in ("20990101T000000000001Z", "20990101T000000000002Z", "20990101T000000000003Z"):
        save_model(models, ensemble, meta, version=name, keep_versions=2)
    kept = sorted(p.parent.name for p in models.glob("*/manifest.json"))
    assert kept == ["20990101T000000000002Z", "20990101T000000000003Z"]
    save_model(models, ensemble, meta, version="00000000T000000000000Z", keep_versions=2)  # sorts oldest
    kept = sorted(p.parent.name for p in models.glob("*/manifest.json"))
    assert kept == ["00000000T000000000000Z", "20990101T000000000003Z"]  # the new current and the previous
