"""Snapshots: the archive format, create/verify/list/prune, restore and its crash safety (tg.ops.snapshot*)."""

from __future__ import annotations

import fcntl
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tg.errors import ArtifactError, TgError, UsageError
from tg.ops.snapshot import Limits, create, default_tag
from tg.ops.snapshot_read import list_snapshots, prune, read_archive, verify
from tg.ops.snapshot_restore import pending_restore, plan_restore, recover, restore

ENV = (
    "TG_PROFILE=dev\n"
    "TRADING_PROXY_PASSWORD=hunter2-pw\n"
    "export TUSHARE_TOKEN = tok-abc123\n"
    "HTTP_PROXY=http://bob:s3cr3t-url@proxy.example:8080\n"
    "EMPTY_SECRET=\n"
    "# a comment\n"
)
SECRETS = (b"hunter2-pw", b"tok-abc123", b"s3cr3t-url")


def make_project(root: Path) -> dict[str, Path]:
    """A project tree with every kind of part; returns the parts as the CLI would pass them."""
    (root / "conf" / "sub").mkdir(parents=True)
    (root / "conf" / "config.yaml").write_text("profile: dev\n")
    (root / "conf" / "sub" / "source.yaml").write_text("name: tencent\n")
    (root / "models_saved" / "v1").mkdir(parents=True)
    (root / "models_saved" / "CURRENT").write_text("v1\n")
    (root / "models_saved" / "v1" / "gbm.txt").write_bytes(os.urandom(4000))
    os.chmod(root / "models_saved" / "v1" / "gbm.txt", 0o640)
    (root / "data_storage" / "cn" / "sh600519").mkdir(parents=True)
    for day in range(6):
        (root / "data_storage" / "cn" / "sh600519" / f"close.{day}.bin").write_bytes(bytes([day]) * 20_000)
    (root / "audit").mkdir()
    (root / "audit" / "audit.jsonl").write_text('{"seq": 0}\n')
    (root / ".env").write_text(ENV)
    (root / "unrelated.txt").write_text("not part of any snapshot\n")
    return {
        "conf": root / "conf",
        "env": root / ".env",
        "models": root / "models_saved",
        "data": root / "data_storage",
        "audit": root / "audit",
    }


def contents(path: Path) -> dict[str, bytes]:
    """Every regular file under `path` (or the file itself) with its bytes."""
    if path.is_file():
        return {path.name: path.read_bytes()}
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


State = dict[str, dict[str, bytes]]


def state(parts: dict[str, Path]) -> State:
    return {name: contents(path) if path.exists() else {} for name, path in parts.items()}


def listing(root: Path) -> dict[str, tuple[int, int, int, str]]:
    """Everything under `root` (links not followed): mode, size, mtime and content hash or link target."""
    found = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(directory) / name
            info = path.lstat()
            if path.is_symlink():
                what = os.readlink(path)
            elif path.is_file():
                what = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                what = "dir"
            found[path.relative_to(root).as_posix()] = (info.st_mode, info.st_size, info.st_mtime_ns, what)
    return found


def unpacked(archive: Path) -> bytes:
    return gzip.decompress(archive.read_bytes())  # checks the gzip CRC and length too


@pytest.fixture
def project(tmp_path: Path) -> tuple[Path, dict[str, Path], Path]:
    root = tmp_path / "project"
    root.mkdir()
    return root, make_project(root), tmp_path / "backups"


# --- create / verify / list ------------------------------------------------------------------------


def test_round_trip_restores_exactly_the_archived_files(project: tuple[Path, dict[str, Path], Path]) -> None:
    root, parts, backups = project
    archived = state(parts)
    info = create(backups, parts, tag="t1", project_root=root)
    assert info.path == backups / "snapshot_t1.tar.gz" and info.contents == sorted(parts)
    assert info.code_ref is None  # not a git checkout

    before_verify = listing(root.parent)
    manifest = verify(info.path)
    assert listing(root.parent) == before_verify  # verify writes nothing
    assert manifest.tag == "t1" and manifest.contents == sorted(parts)
    [listed] = list_snapshots(backups)
    assert (listed.tag, listed.verified, listed.problem) == ("t1", True, "")

    (root / "conf" / "config.yaml").write_text("profile: prod\n")
    (root / "conf" / "sub" / "source.yaml").unlink()
    (root / "conf" / "extra.yaml").write_text("added later\n")
    shutil.rmtree(root / "models_saved")
    (root / "data_storage" / "cn" / "new.bin").write_bytes(b"new")
    (root / "unrelated.txt").write_text("changed outside every part\n")
    (root / ".env").write_text("TRADING_PROXY_PASSWORD=the-real-one\n")
    changed = state(parts)

    plan, before = restore(info.path, parts, root, backups)

    now = state(parts)
    for name in ("conf", "models", "data", "audit"):
        assert now[name] == archived[name], name  # byte for byte
    assert (root / "models_saved" / "v1" / "gbm.txt").stat().st_mode & 0o777 == 0o640
    assert (root / ".env").read_text() == "TRADING_PROXY_PASSWORD=the-real-one\n"  # masked: never written back
    assert (root / "unrelated.txt").read_text() == "changed outside every part\n"
    assert not list(root.glob(".tg-restore-*"))
    assert plan.changed == ["conf/config.yaml"]
    assert plan.added == ["conf/sub/source.yaml", "models/CURRENT", "models/v1/gbm.txt"]
    assert plan.removed == ["conf/extra.yaml", "data/cn/new.bin"]
    assert [line.split(":")[0] for line in plan.skipped] == ["env"]

    # the pre-restore snapshot holds the tree as it was, and restoring it brings that back
    assert before.tag.startswith("prerestore-") and before.contents == ["audit", "conf", "data"]  # models: absent
    assert verify(before.path).tag == before.tag
    restore(before.path, parts, root, backups)
    back = state(parts)
    assert {k: back[k] for k in ("audit", "conf", "data", "env")} == {
        k: changed[k] for k in ("audit", "conf", "data", "env")
    }
    assert back["models"] == archived["models"]  # not in that snapshot (it was absent then): left alone


def test_the_archive_is_a_plain_tar_gz_with_the_manifest_first_and_no_host_paths(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    parts = make_project(root)
    (root / "conf" / "link.yaml").symlink_to(root / "conf" / "config.yaml")
    (root / "data_storage" / ".save.lock").write_text("")
    (root / "data_storage" / ".tmp-half-written").write_text("")
    (root / "data_storage" / "bars.tmp").write_text("")
    parts["logs"] = root / "logs"  # absent
    info = create(tmp_path / "backups", parts, tag="plain")

    with tarfile.open(info.path, "r:gz") as archive:
        names = archive.getnames()
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
        data = {m.name: archive.extractfile(m).read() for m in archive.getmembers()[1:]}  # type: ignore[union-attr]
    assert names[0] == "manifest.json"
    assert manifest["format"] == "tg-snapshot/1" and manifest["tag"] == "plain"
    assert manifest["git_commit"] is None and manifest["code_ref"] is None and manifest["tg_version"]
    assert datetime.fromisoformat(manifest["created_at"]).tzinfo is not None
    assert manifest["contents"] == ["audit", "conf", "data", "env", "models"]
    assert [m["path"] for m in manifest["members"]] == names[1:]
    for member in manifest["members"]:
        assert member["size"] == len(data[member["path"]])
        assert member["sha256"] == hashlib.sha256(data[member["path"]]).hexdigest()
    assert "env/.env" in names and "conf/link.yaml" not in names
    assert not any(name.endswith((".lock", ".tmp")) or "/.tmp-" in name for name in names)
    assert "conf: 1 symbolic link not archived: link.yaml" in manifest["notes"]
    assert "logs: absent, not archived" in manifest["notes"]
    assert str(tmp_path).encode() not in unpacked(info.path)  # logical paths only
    if shutil.which("tar"):
        listed = subprocess.run(["tar", "-tzf", str(info.path)], capture_output=True, text=True, check=True)
        assert listed.stdout.split() == names


def test_env_secrets_never_reach_the_archive(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    parts = make_project(root)
    info = create(tmp_path / "backups", parts, tag="env")
    raw = unpacked(info.path)
    for secret in SECRETS:
        assert secret not in raw
    assert b"TG_PROFILE=dev\n" in raw and b"TRADING_PROXY_PASSWORD=***\n" in raw
    assert b"export TUSHARE_TOKEN = ***\n" in raw and b"HTTP_PROXY=http://bob:***@proxy.example:8080\n" in raw
    manifest = verify(info.path)
    assert manifest.masked == ("env/.env",)
    assert "env/.env: 3 secret values masked" in manifest.notes
    assert (root / ".env").read_text() == ENV  # the original is untouched


def test_an_env_without_secrets_is_restored(project: tuple[Path, dict[str, Path], Path]) -> None:
    root, parts, backups = project
    (root / ".env").write_text("TG_PROFILE=dev\n")
    info = create(backups, {"env": parts["env"]}, tag="plain-env")
    assert verify(info.path).masked == ()
    (root / ".env").write_text("TG_PROFILE=prod\n")
    plan, _ = restore(info.path, {"env": parts["env"]}, root, backups)
    assert plan.changed == ["env/.env"] and not plan.skipped
    assert (root / ".env").read_text() == "TG_PROFILE=dev\n"


def test_plan_shows_added_changed_removed_and_writes_nothing(project: tuple[Path, dict[str, Path], Path]) -> None:
    root, parts, backups = project
    info = create(backups, parts, tag="plan")
    (root / "conf" / "config.yaml").write_text("profile: prod\n")
    (root / "models_saved" / "v1" / "gbm.txt").unlink()
    (root / "data_storage" / "cn" / "new.bin").write_bytes(b"new")
    os.symlink("/etc/hostname", root / "audit" / "link")
    before = listing(root.parent)
    plan = plan_restore(info.path, parts)
    assert listing(root.parent) == before
    assert plan.added == ["models/v1/gbm.txt"]
    assert plan.changed == ["conf/config.yaml"]
    assert plan.removed == ["audit/link", "data/cn/new.bin"]
    assert plan.unchanged == 9 and plan.skipped[0].startswith("env: archived with its secret values masked")
    assert plan.to_dict()["added"] == ["models/v1/gbm.txt"]


def test_default_tag_and_git_commit(tmp_path: Path) -> None:
    when = datetime(2026, 12, 3, 18, 15, 0, tzinfo=UTC)
    assert default_tag(tmp_path, when) == "20261203T181500Z-nogit"
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-C", str(repo), "-c", "user.email=t@example.com", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (repo / "conf").mkdir()
    (repo / "conf" / "a.yaml").write_text("a: 1\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    assert default_tag(repo, when) == f"20261203T181500Z-{head[:12]}"
    info = create(tmp_path / "backups", {"conf": repo / "conf"}, project_root=repo)
    assert info.tag.endswith(head[:12]) and info.code_ref == head
    assert verify(info.path).git_commit == head


@pytest.mark.parametrize("tag", ["", "-lead", ".hidden", "a/b", "../up", "a b", "x" * 65, "new\nline", "é"])
def test_invalid_tags_are_usage_errors(tmp_path: Path, tag: str) -> None:
    (tmp_path / "conf").mkdir()
    with pytest.raises(UsageError, match="invalid snapshot tag"):
        create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag=tag)
    assert not (tmp_path / "backups").exists()


def test_an_existing_tag_is_refused(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag="once")
    with pytest.raises(UsageError, match="exists already"):
        create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag="once")
    first = create(tmp_path / "b2", {"conf": tmp_path / "conf"})
    second = create(tmp_path / "b2", {"conf": tmp_path / "conf"})
    assert second.tag == f"{first.tag}-2" or second.tag > first.tag  # an automatic tag is made unique instead


def test_bad_parts_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "data" / "inner").mkdir(parents=True)
    with pytest.raises(UsageError, match="overlap"):
        create(tmp_path / "backups", {"data": tmp_path / "data", "inner": tmp_path / "data" / "inner"})
    with pytest.raises(UsageError, match="lies inside part data"):
        create(tmp_path / "data" / "backups", {"data": tmp_path / "data"})
    with pytest.raises(UsageError, match="invalid snapshot part name"):
        create(tmp_path / "backups", {"Data/x": tmp_path / "data"})


def test_prune_keeps_the_newest(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    for tag in ("a", "b", "c", "d"):
        create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag=tag)
        time.sleep(0.002)  # created_at has millisecond resolution
    deleted = prune(tmp_path / "backups", keep=2)
    assert sorted(p.name for p in deleted) == ["snapshot_a.tar.gz", "snapshot_b.tar.gz"]
    assert [info.tag for info in list_snapshots(tmp_path / "backups")] == ["d", "c"]
    assert prune(tmp_path / "backups", keep=2) == []
    for keep in (0, -1, True):
        with pytest.raises(UsageError, match="keep must be"):
            prune(tmp_path / "backups", keep=keep)


def test_list_marks_a_corrupted_archive_with_its_problem(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "bars.bin").write_bytes(os.urandom(200_000))
    good = create(tmp_path / "backups", {"data": tmp_path / "data"}, tag="good")
    time.sleep(0.002)
    bad = create(tmp_path / "backups", {"data": tmp_path / "data"}, tag="bad")
    bad.path.write_bytes(bad.path.read_bytes()[: bad.size // 2])
    newest, oldest = list_snapshots(tmp_path / "backups")
    assert (newest.tag, newest.verified) == ("bad", False) and "truncated or corrupt" in newest.problem
    assert (oldest.tag, oldest.verified, oldest.problem) == ("good", True, "")
    assert good.path == oldest.path and oldest.to_dict()["path"] == str(good.path)


# --- hostile and broken archives -------------------------------------------------------------------

GOOD = {"conf/a.yaml": b"a: 1\n"}


def manifest_bytes(members: dict[str, bytes], **override: object) -> bytes:
    doc = {
        "format": "tg-snapshot/1",
        "tag": "evil",
        "created_at": "2026-12-03T18:15:00.000+00:00",
        "tg_version": "0.1.0",
        "git_commit": None,
        "code_ref": None,
        "contents": ["conf"],
        "parts": {"conf": "dir"},
        "notes": [],
        "masked": [],
        "members": [{"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()} for p, d in members.items()],
    }
    return json.dumps({**doc, **override}).encode()


def regular(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


def with_manifest(*extra: tuple[tarfile.TarInfo, bytes | None]) -> list[tuple[tarfile.TarInfo, bytes | None]]:
    """A valid archive of GOOD, then `extra` members (written after a valid one, so restore has staged it)."""
    return [regular("manifest.json", manifest_bytes(GOOD)), regular("conf/a.yaml", GOOD["conf/a.yaml"]), *extra]


def forge(path: Path, entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> None:
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)


def pax_path(name: str, real: str) -> tuple[tarfile.TarInfo, bytes | None]:
    info, data = regular(name, b"x")
    info.pax_headers = {"path": real}
    return info, data


def bomb(path: Path) -> None:
    """A member declaring 50 GiB with no data behind it: refused on its declared size, never read."""
    big = {"conf/big": b""}
    entry = manifest_bytes(big)
    entry = entry.replace(b'"size": 0', b'"size": 53687091200')
    head = regular("manifest.json", entry)[0].tobuf(tarfile.PAX_FORMAT) + entry + bytes(-len(entry) % 512)
    header = tarfile.TarInfo("conf/big")
    header.size = 50 * 2**30
    path.write_bytes(gzip.compress(head + header.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096))


def header_bomb(path: Path) -> None:
    """The manifest says 5 bytes, the tar header 10 GiB: refused on the header, before any data is read."""
    entry = manifest_bytes(GOOD)
    head = regular("manifest.json", entry)[0].tobuf(tarfile.PAX_FORMAT) + entry + bytes(-len(entry) % 512)
    header = tarfile.TarInfo("conf/a.yaml")
    header.size = 10 * 2**30
    path.write_bytes(gzip.compress(head + header.tobuf(tarfile.PAX_FORMAT) + b"\0" * 4096))


def from_valid(change: Callable[[bytes], bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        forge(path, with_manifest())
        path.write_bytes(change(path.read_bytes()))

    return make


def flip_middle(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(b ^ 0xFF for b in data[middle : middle + 8]) + data[middle + 8 :]


HOSTILE: dict[str, tuple[Callable[[Path], None], str]] = {
    "absolute path": (lambda p: forge(p, with_manifest(regular("/etc/evil", b"x"))), "is an absolute path"),
    "dot-dot component": (lambda p: forge(p, with_manifest(regular("conf/../../evil", b"x"))), r"leaves the archive"),
    "pax path override": (lambda p: forge(p, with_manifest(pax_path("conf/b.yaml", "/etc/cron.d/x"))), "absolute"),
    "symbolic link": (lambda p: forge(p, with_manifest(special("conf/l", tarfile.SYMTYPE, "/etc"))), "symbolic link"),
    "hard link": (lambda p: forge(p, with_manifest(special("conf/h", tarfile.LNKTYPE, "conf/a.yaml"))), "hard link"),
    "character device": (lambda p: forge(p, with_manifest(special("conf/c", tarfile.CHRTYPE))), "character device"),
    "block device": (lambda p: forge(p, with_manifest(special("conf/b", tarfile.BLKTYPE))), "block device"),
    "fifo": (lambda p: forge(p, with_manifest(special("conf/f", tarfile.FIFOTYPE))), "is a fifo"),
    "duplicate member": (lambda p: forge(p, with_manifest(regular("conf/a.yaml", b"a: 1\n"))), "appears twice"),
    "manifest missing": (lambda p: forge(p, [regular("conf/a.yaml", b"a: 1\n")]), "manifest.json is missing"),
    "manifest not first": (
        lambda p: forge(p, [regular("conf/a.yaml", b"a: 1\n"), regular("manifest.json", manifest_bytes(GOOD))]),
        "not the first member",
    ),
    "manifest not JSON": (lambda p: forge(p, [regular("manifest.json", b"{nope")]), "not valid JSON"),
    "manifest of another format": (
        lambda p: forge(p, [regular("manifest.json", manifest_bytes(GOOD, format="tg-snapshot/0"))]),
        "not a tg-snapshot/1 manifest",
    ),
    "member missing from the manifest": (
        lambda p: forge(p, with_manifest(regular("conf/b.yaml", b"b"))),
        "not listed in the manifest",
    ),
    "member listed but absent": (
        lambda p: forge(
            p,
            [
                regular("manifest.json", manifest_bytes({**GOOD, "conf/gone.yaml": b"g"})),
                regular("conf/a.yaml", b"a: 1\n"),
            ],
        ),
        "absent from the archive",
    ),
    "size mismatch": (
        lambda p: forge(
            p,
            [
                regular("manifest.json", manifest_bytes(GOOD).replace(b'"size": 5', b'"size": 6')),
                regular("conf/a.yaml", b"a: 1\n"),
            ],
        ),
        "holds 5 bytes, the manifest says 6",
    ),
    "sha256 mismatch": (
        lambda p: forge(p, [regular("manifest.json", manifest_bytes(GOOD)), regular("conf/a.yaml", b"a: 2\n")]),
        "does not match its sha256",
    ),
    "member outside the archived parts": (
        lambda p: forge(p, [regular("manifest.json", manifest_bytes({"etc/x": b"x"})), regular("etc/x", b"x")]),
        "outside the parts",
    ),
    "directory member outside the parts": (
        lambda p: forge(p, with_manifest(special("etc", tarfile.DIRTYPE))),
        "outside the parts",
    ),
    "file and directory at one path": (
        lambda p: forge(p, [regular("manifest.json", manifest_bytes({"conf/a": b"1", "conf/a/b": b"2"}))]),
        "both as a file and as a directory",
    ),
    "truncated gzip": (from_valid(lambda data: data[: len(data) // 2]), "truncated or corrupt"),
    "not gzip": (from_valid(lambda data: b"PK" + data[2:]), "truncated or corrupt"),
    "corrupted compressed bytes": (from_valid(flip_middle), "truncated or corrupt"),
    "data after the end": (from_valid(lambda data: data + b"trailing garbage"), "unexpected data after the end"),
    "declared size beyond the limit (gzip bomb)": (bomb, "more than the limit"),
    "header size beyond the manifest's": (header_bomb, "holds 10737418240 bytes, the manifest says 5"),
    "renamed archive": (
        lambda p: forge(p, [regular("manifest.json", manifest_bytes(GOOD, tag="other")), regular("conf/a.yaml", b"")]),
        "file name says tag 'evil' but its manifest says 'other'",
    ),
}


def test_the_hostile_kinds_are_distinct() -> None:
    assert len(HOSTILE) == 27  # the count reported with the module


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_hostile_archives_are_refused_by_verify_and_restore_before_anything_is_written(
    tmp_path: Path, kind: str
) -> None:
    make, message = HOSTILE[kind]
    root = tmp_path / "project"
    (root / "conf").mkdir(parents=True)
    (root / "conf" / "live.yaml").write_text("live: true\n")
    backups = tmp_path / "backups"
    backups.mkdir()
    archive = backups / "snapshot_evil.tar.gz"
    make(archive)
    before = listing(root), listing(backups)

    with pytest.raises(ArtifactError, match=message):
        verify(archive)
    with pytest.raises(ArtifactError, match=message):
        plan_restore(archive, {"conf": root / "conf"})
    with pytest.raises(ArtifactError, match=message):
        restore(archive, {"conf": root / "conf"}, root, backups)
    assert (listing(root), listing(backups)) == before  # no pre-restore snapshot either
    assert not list(root.glob(".tg-restore-*")) and pending_restore(root) is None
    assert not inflating()  # the inflating thread stopped with the refusal


def inflating() -> list[str]:
    return [thread.name for thread in threading.enumerate() if thread.name == "tg-snapshot-inflate"]


def test_a_read_stopped_early_stops_the_inflating_thread(tmp_path: Path) -> None:
    """A manifest-only read (`tg snapshot list` without verify) of an archive bigger than the pieces the thread
    inflates ahead: the thread is stopped and joined, not left blocked on a full queue."""
    (tmp_path / "data").mkdir()
    for n in range(8):
        (tmp_path / "data" / f"{n}.bin").write_bytes(os.urandom(1 << 20))
    info = create(tmp_path / "backups", {"data": tmp_path / "data"}, tag="big")
    assert read_archive(info.path, manifest_only=True).tag == "big"
    assert not inflating()
    assert verify(info.path).tag == "big" and not inflating()


def test_limits_on_members_and_bytes(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    for name in ("a", "b", "c"):
        (tmp_path / "conf" / name).write_text(name * 100)
    info = create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag="small")
    with pytest.raises(ArtifactError, match="3 members, more than the limit of 2"):
        verify(info.path, Limits(max_members=2))
    before = listing(tmp_path)
    with pytest.raises(ArtifactError, match="3 members, more than the limit of 2"):
        restore(info.path, {"conf": tmp_path / "conf"}, tmp_path, tmp_path / "backups", Limits(max_members=2))
    assert listing(tmp_path) == before
    with pytest.raises(ArtifactError, match="declares 300 bytes, more than the limit of 299"):
        verify(info.path, Limits(max_total_bytes=299))
    with pytest.raises(UsageError, match="exceed the limits"):
        create(tmp_path / "backups", {"conf": tmp_path / "conf"}, tag="big", limits=Limits(max_members=2))


def test_restore_refuses_a_symlinked_part_and_a_snapshot_dir_inside_a_part(
    project: tuple[Path, dict[str, Path], Path],
) -> None:
    root, parts, backups = project
    info = create(backups, parts, tag="t")
    shutil.move(root / "data_storage", root / "real_data")
    (root / "data_storage").symlink_to(root / "real_data")
    before = listing(root.parent)
    with pytest.raises(UsageError, match="is a symbolic link"):
        restore(info.path, parts, root, backups)
    with pytest.raises(UsageError, match="lies inside part conf"):
        restore(info.path, parts, root, root / "conf" / "backups")
    assert listing(root.parent) == before


# --- crash safety: kill -9 at chosen points ---------------------------------------------------------

KILLABLE = """
import json, os, sys, time
from pathlib import Path

import tg.ops.snapshot as snapshot
import tg.ops.snapshot_restore as snapshot_restore

stop_at, command, args = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
seen = {}

def event(name):
    seen[name] = seen.get(name, 0) + 1
    if f"{name}#{seen[name]}" == stop_at:
        print("stopped", flush=True)
        time.sleep(60)  # killed here

def before(name, function, when=lambda *args: True):
    def wrapped(*args, **kwargs):
        if when(*args):
            event(name)
        return function(*args, **kwargs)
    return wrapped

def after(name, function):
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        event(name)
        return result
    return wrapped

real_open = os.open
os.open = before("open-live", before("open-staged", real_open, lambda p, *a: "/staged/" in str(p)),
                 lambda p, *a: "data_storage" in str(p))
os.fsync = before("fsync", os.fsync)
os.link = before("link", os.link)
os.sync = before("sync", os.sync)
os.rename = after("renamed", before("rename", os.rename))
snapshot_restore.atomic_write_text = after("journal-written", before("journal", snapshot_restore.atomic_write_text))

parts = {name: Path(path) for name, path in args["parts"].items()}
if command == "create":
    snapshot.create(Path(args["backups"]), parts, tag="killed")
else:
    snapshot_restore.restore(Path(args["archive"]), parts, Path(args["root"]), Path(args["backups"]))
print("finished", flush=True)
"""


def run_until(stop_at: str, command: str, **args: object) -> None:
    """Run create/restore in a child process and kill -9 it at the `stop_at` event (`name#occurrence`)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLABLE, stop_at, command, json.dumps(args, default=str)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if line != "stopped":
        proc.wait(timeout=30)
        pytest.fail(f"the child never reached {stop_at}: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


@pytest.mark.parametrize("stop_at", ["open-live#3", "fsync#1", "rename#1", "renamed#1"])
def test_a_kill_during_create_leaves_no_archive_or_a_complete_one(tmp_path: Path, stop_at: str) -> None:
    root = tmp_path / "project"
    root.mkdir()
    parts = make_project(root)
    backups = tmp_path / "backups"
    run_until(stop_at, "create", parts={k: str(v) for k, v in parts.items()}, backups=str(backups))
    final = backups / "snapshot_killed.tar.gz"
    if stop_at == "renamed#1":
        assert verify(final).tag == "killed"  # renamed: complete and verifiable
    else:
        assert not final.exists()  # never a partial archive under the final name
        assert [p.name for p in backups.glob(".tmp-*")]  # the temp file the kill left
    create(backups, parts, tag="next")
    assert not list(backups.glob(".tmp-*"))  # cleared by the next create
    assert [info.verified for info in list_snapshots(backups)] == [True] * len(list(backups.glob("snapshot_*")))


RESTORE_STOPS = {
    # before the journal exists: recover removes the staging, the live state is the old one
    "open-staged#1": "old",
    "link#2": "old",  # an unchanged live file being linked into the staged tree
    "sync#1": "old",
    "rename#1": "old",  # the pre-restore snapshot's rename
    "journal#1": "old",
    # from the journal on: recover rolls forward to the archive's state
    "journal-written#1": "new",
    "rename#2": "new",  # first part: live about to move to old/
    "rename#3": "new",  # first part: live moved away, staged not yet in place (the live path is missing)
    "rename#5": "new",  # second part mid-swap
    "rename#8": "new",  # every part swapped, the restore directory not yet retired
}


MID_SWAP = {"rename#3": "conf", "rename#5": "data"}


def archived_then_changed(tmp_path: Path) -> tuple[Path, dict[str, Path], dict[str, Any], State, State]:
    """A project archived as `target`, then changed in every part: (root, parts, the restore's arguments,
    the archived state, the changed state)."""
    root = tmp_path / "project"
    root.mkdir()
    parts = make_project(root)
    del parts["audit"], parts["env"]
    backups = tmp_path / "backups"
    info = create(backups, parts, tag="target")
    archived = state(parts)
    (root / "conf" / "config.yaml").write_text("profile: prod\n")
    shutil.rmtree(root / "models_saved" / "v1")
    (root / "data_storage" / "cn" / "later.bin").write_bytes(b"later")
    paths = {k: str(v) for k, v in parts.items()}
    args = {"archive": str(info.path), "parts": paths, "root": str(root), "backups": str(backups)}
    return root, parts, args, archived, state(parts)


@pytest.mark.parametrize("stop_at", list(RESTORE_STOPS))
def test_a_kill_during_restore_then_recover_leaves_the_old_or_the_new_state(tmp_path: Path, stop_at: str) -> None:
    root, parts, args, new, old = archived_then_changed(tmp_path)
    outside = listing(root / "audit")

    run_until(stop_at, "restore", **args)
    assert pending_restore(root) is not None
    if stop_at in MID_SWAP:
        assert not parts[MID_SWAP[stop_at]].exists()  # the kill really left that part's live path missing
    done = recover(root)
    assert done and pending_restore(root) is None
    assert not list(root.glob(".tg-restore-*"))
    assert state(parts) == (new if RESTORE_STOPS[stop_at] == "new" else old)
    assert listing(root / "audit") == outside
    assert recover(root) == []  # idempotent: nothing left to do


def test_a_kill_after_the_restore_directory_is_retired_leaves_the_new_state_and_trash_recover_removes(
    tmp_path: Path,
) -> None:
    root, parts, args, new, _ = archived_then_changed(tmp_path)
    run_until("renamed#8", "restore", **args)
    assert pending_restore(root) is None and state(parts) == new  # retired: nothing left to complete
    assert [p.name.startswith(".tg-trash-") for p in root.glob(".tg-*")] == [True]  # the rm never started
    assert recover(root) == []
    assert not list(root.glob(".tg-*"))


def test_a_second_restore_is_refused_while_one_runs(project: tuple[Path, dict[str, Path], Path]) -> None:
    root, parts, backups = project
    info = create(backups, {"conf": parts["conf"]}, tag="t")
    (root / ".tg-restore-running").mkdir()  # the staging of the restore holding the lock
    holder = os.open(root, os.O_RDONLY)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)  # what a running restore holds: the project root itself
        with pytest.raises(TgError, match="another restore is running"):
            restore(info.path, {"conf": parts["conf"]}, root, backups)
        assert recover(root) == [f"a restore is running in {root}: left alone"]
        assert (root / ".tg-restore-running").is_dir()
    finally:
        os.close(holder)
    assert recover(root) == ["removed .tg-restore-running, left by a restore killed before it changed anything"]


def test_recover_with_nothing_pending_is_a_no_op(tmp_path: Path) -> None:
    (tmp_path / "x").write_text("x")
    before = listing(tmp_path)
    assert recover(tmp_path) == [] and pending_restore(tmp_path) is None
    assert listing(tmp_path) == before


def test_recover_rolls_forward_a_journal_left_mid_swap(project: tuple[Path, dict[str, Path], Path]) -> None:
    """The same crash as a kill between the two renames of a part, made by hand (no subprocess)."""
    root, parts, backups = project
    info = create(backups, {"conf": parts["conf"]}, tag="t")
    archived = contents(parts["conf"])
    (root / "conf" / "config.yaml").write_text("changed\n")
    restore_dir = root / ".tg-restore-manual"
    (restore_dir / "staged").mkdir(parents=True)
    (restore_dir / "old").mkdir()
    with tarfile.open(info.path, "r:gz") as archive:
        for member in archive.getmembers()[1:]:
            target = restore_dir / "staged" / member.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.extractfile(member).read())  # type: ignore[union-attr]
    journal = {
        "format": "tg-restore-journal/1",
        "state": "swapping",
        "archive": str(info.path),
        "tag": "t",
        "prerestore": "",
        "started_at": "",
        "parts": [{"part": "conf", "live": "conf", "staged": "staged/conf", "old": "old/conf"}],
    }
    (restore_dir / "journal.json").write_text(json.dumps(journal))
    os.rename(root / "conf", restore_dir / "old" / "conf")  # killed right here
    assert re.search("interrupted midway", pending_restore(root) or "")
    assert recover(root) == ["completed the interrupted restore of snapshot_t.tar.gz (swapped in conf)"]
    assert contents(root / "conf") == archived and not restore_dir.exists()


def test_a_swap_that_fails_midway_says_where_and_recover_completes_it(
    project: tuple[Path, dict[str, Path], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An OS error on the second part's rename (a full or failing disk): one line naming the part, the first part
    already swapped, and the next `tg snapshot` command rolls the rest forward."""
    root, parts, backups = project
    chosen = {"conf": parts["conf"], "models": parts["models"]}
    info = create(backups, chosen, tag="t")
    archived = state(chosen)
    (root / "conf" / "config.yaml").write_text("changed\n")
    (root / "models_saved" / "CURRENT").write_text("v2\n")
    real_rename = os.rename

    def failing_rename(src: Any, dst: Any) -> None:
        if Path(src).name == "models" and Path(src).parent.name == "staged":
            raise OSError(5, "Input/output error")
        real_rename(src, dst)

    monkeypatch.setattr(os, "rename", failing_rename)
    with pytest.raises(TgError, match=r"stopped at part models \(Input/output error\).*complete it"):
        restore(info.path, chosen, root, backups)
    monkeypatch.setattr(os, "rename", real_rename)
    assert contents(root / "conf") == archived["conf"]
    assert re.search("interrupted midway", pending_restore(root) or "")
    assert recover(root) == ["completed the interrupted restore of snapshot_t.tar.gz (swapped in models)"]
    assert state(chosen) == archived and pending_restore(root) is None


# --- unchanged files are linked, everything else is written -------------------------------------------


def test_a_restore_links_unchanged_files_and_writes_those_whose_bytes_or_metadata_differ(
    project: tuple[Path, dict[str, Path], Path],
) -> None:
    root, parts, backups = project
    day = root / "data_storage" / "cn" / "sh600519"
    big = root / "models_saved" / "v1" / "big.bin"
    big.write_bytes(os.urandom(3 << 20))  # three read chunks: a mismatch in the last one copies the first two
    archived = state(parts)
    info = create(backups, parts, tag="t1", project_root=root)

    def same_size_and_second(path: Path, data: bytes) -> None:
        """Rewrite in place, keeping size, mode and mtime: only the bytes tell the difference."""
        before = path.stat()
        path.write_bytes(data)
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))

    same_size_and_second(day / "close.1.bin", b"\x07" * 20_000)
    tail_changed = bytearray(big.read_bytes())
    tail_changed[-1] ^= 0xFF
    same_size_and_second(big, bytes(tail_changed))
    os.chmod(day / "close.2.bin", 0o600)  # same bytes, other mode: written, so the live file's mode is not changed
    inode = {name: (day / name).stat().st_ino for name in ("close.0.bin", "close.1.bin", "close.2.bin")}

    restore(info.path, parts, root, backups)

    assert state(parts)["data"] == archived["data"] and state(parts)["models"] == archived["models"]
    assert (day / "close.0.bin").stat().st_ino == inode["close.0.bin"]  # unchanged: the same file, linked
    assert (day / "close.1.bin").stat().st_ino != inode["close.1.bin"]  # other bytes: written from the archive
    assert (day / "close.2.bin").stat().st_ino != inode["close.2.bin"]
    assert (day / "close.2.bin").stat().st_mode & 0o777 == 0o644


def test_a_refused_archive_leaves_linked_live_files_untouched(project: tuple[Path, dict[str, Path], Path]) -> None:
    root, parts, backups = project
    info = create(backups, parts, tag="t1", project_root=root)
    raw = bytearray(gzip.decompress(info.path.read_bytes()))
    at = raw.rindex(b"\x05" * 1000)  # inside the last data file, after the unchanged ones were linked
    raw[at] ^= 0xFF
    bad = root.parent / "elsewhere" / "snapshot_t1.tar.gz"
    bad.parent.mkdir()
    bad.write_bytes(gzip.compress(bytes(raw)))
    before = listing(root)
    with pytest.raises(ArtifactError, match="close.5.bin' does not match its sha256"):
        restore(bad, parts, root, backups)
    after = listing(root)
    assert after == before  # nothing live changed: not a byte, a mode or a time
    assert all(p.stat().st_nlink == 1 for p in (root / "data_storage").rglob("*.bin"))  # no link left behind
