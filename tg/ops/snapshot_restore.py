"""Restore a snapshot over the live project: afterwards the live state is the old one or the archived one,
never a mix, even after a kill at any point (DESIGN §8).

1. `read_archive` streams the archive once into `<project_root>/.tg-restore-<id>/staged/<part>`
   (`tg.ops.restore_staging`: files written as they are verified, unchanged live files hard-linked): every
   header is checked (paths, types, limits, manifest) before its bytes are written, each member's sha256 is
   checked, and any problem removes the restore directory before anything live has changed (a separate `verify`
   pass first would decompress and hash the whole archive twice). One `sync()` makes the staged tree durable.
2. A pre-restore snapshot of the parts about to be replaced is written to the snapshot directory.
3. `journal.json` is written atomically: `{"format": "tg-restore-journal/1", "state": "swapping", "archive",
   "tag", "prerestore", "started_at", "parts": [{"part", "live", "staged": "staged/<part>", "old": "old/<part>"}]}`
   (`live` relative to the project root when inside it; `staged` and `old` relative to the restore directory).
4. Each part is swapped with two renames (live → old/<part>, staged → live) and its directories are fsynced.
5. The restore directory is renamed to `.tg-trash-<id>` (the commit point of the cleanup: nothing is left to
   complete) and a background `rm -rf` removes it, with the replaced parts in its old/.

A kill before step 3 leaves the live state untouched: `recover` removes the restore directory. From step 3 on,
`recover` rolls forward: it completes every swap not yet done (a part whose staged copy is gone was swapped
already), so the live state becomes the archive's. Only the parts the archive contains and the caller names are
touched; a part the archive holds with masked secrets (the `.env`) is never restored, since writing `***` over
the real secrets would break the deployment: the plan lists it under `skipped`.

Restore and recover hold an exclusive flock on the project root directory itself (no lock file is created).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import stat
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.errors import ArtifactError, TgError, UsageError
from tg.ops.atomic import atomic_write_text, fsync_dir
from tg.ops.restore_staging import RESTORE_PREFIX, Stager, select_parts
from tg.ops.snapshot import (
    DEFAULT_LIMITS,
    PART,
    Limits,
    Member,
    SnapshotInfo,
    SnapshotManifest,
    check_parts,
    file_sha256,
    inside,
    stamp,
    transient,
    unused_tag,
    walk_part,
    write_snapshot,
)
from tg.ops.snapshot_read import read_archive, verify

logger = logging.getLogger(__name__)

JOURNAL = "journal.json"
JOURNAL_FORMAT = "tg-restore-journal/1"
TRASH_PREFIX = ".tg-trash-"  # a finished restore's directory, being removed in the background


@dataclass
class RestorePlan:
    """What a restore changes, as logical paths (`<part>/<path>`); `skipped` says which parts it leaves alone."""

    added: list[str]
    changed: list[str]
    removed: list[str]
    skipped: list[str] = field(default_factory=list)
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _live_files(name: str, live: Path, archived: dict[str, Member]) -> dict[str, str]:
    try:
        mode = os.lstat(live).st_mode
    except FileNotFoundError:
        return {}
    if stat.S_ISDIR(mode):  # strings, not Paths: building 181 Path objects was most of a restore's diff
        return {f"{name}/{rel}": entry.path for rel, entry in walk_part(str(live)) if not transient(entry.name)}
    if len(archived) == 1:  # a single-file part: compared whatever the live file is called
        return {next(iter(archived)): str(live)}
    return {f"{name}/{live.name}": str(live)}


def _same(path: str, member: Member, known: tuple[int, str] | None) -> bool:
    if known is not None:  # a regular file, hashed by the pre-restore snapshot: no need to look at it again
        return known == (member.size, member.sha256)
    info = os.lstat(path)
    if not stat.S_ISREG(info.st_mode) or info.st_size != member.size:
        return False
    return file_sha256(Path(path)) == member.sha256


def diff(
    manifest: SnapshotManifest,
    touched: Mapping[str, Path],
    skipped: list[str],
    known: Mapping[str, tuple[int, str]] | None = None,
) -> RestorePlan:
    """Compare the archive's members with the files under the touched parts now (reads, never writes);
    `known` holds (size, sha256) of live regular files just hashed elsewhere (the pre-restore snapshot)."""
    known = known or {}
    plan = RestorePlan([], [], [], list(skipped))
    for name, live in touched.items():
        archived = {m.path: m for m in manifest.members if m.path.partition("/")[0] == name}
        try:
            present = _live_files(name, live, archived)
            for path in sorted(archived.keys() | present.keys()):
                if path not in present:
                    plan.added.append(path)
                elif path not in archived:
                    plan.removed.append(path)
                elif _same(present[path], archived[path], known.get(path)):
                    plan.unchanged += 1
                else:
                    plan.changed.append(path)
        except OSError as exc:
            raise TgError(f"cannot compare part {name} with {exc.filename or live}: {exc.strerror or exc}") from exc
    return plan


def plan_restore(archive: Path, parts: Mapping[str, Path], limits: Limits = DEFAULT_LIMITS) -> RestorePlan:
    """Verify the archive, then say what restoring it over `parts` would add, change and remove; writes nothing."""
    manifest = verify(archive, limits)
    return diff(manifest, *select_parts(manifest, check_parts(parts)))


@contextmanager
def _exclusive(project_root: Path) -> Iterator[bool]:
    """Hold the restore lock, an exclusive flock on the project root directory; False when another process
    holds it (then nothing is held)."""
    fd = os.open(project_root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
        else:
            yield True
    finally:
        os.close(fd)


def restore(
    archive: Path,
    parts: Mapping[str, Path],
    project_root: Path,
    snapshot_dir: Path,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[RestorePlan, SnapshotInfo]:
    """Replace the live `parts` with the archive's (see the module docstring); the plan applied and the
    pre-restore snapshot. A bad archive is refused (ArtifactError) before anything live changes."""
    archive = Path(os.path.abspath(archive))
    root = Path(os.path.abspath(project_root))
    snapshot_dir = Path(os.path.abspath(snapshot_dir))
    checked = check_parts(parts, snapshot_dir)
    if not root.is_dir():
        raise UsageError(f"the project root {root} is not a directory")
    for name, path in checked.items():
        if inside(root, path):
            raise UsageError(f"the project root {root} lies inside part {name} ({path})")
    with _exclusive(root) as held:
        if not held:
            raise TgError(f"another restore is running in {root}; try again when it has finished")
        for line in _recover_locked(root):
            logger.info("before restoring: %s", line)
        stager = Stager(root, checked)
        try:
            manifest = read_archive(archive, limits, sink=stager)
            stager.finish()
            tag = unused_tag(snapshot_dir, f"prerestore-{stamp()}")
            before, now = write_snapshot(snapshot_dir, stager.touched, tag, project_root=root, limits=limits)
            known = {
                m.path: (m.size, m.sha256)
                for m in now.members
                if now.parts[m.path.partition("/")[0]] == "dir" and m.path not in now.masked
            }
            plan = diff(manifest, stager.touched, stager.skipped, known)
            journal = _write_journal(stager.restore_dir, archive, manifest.tag, before.path, stager.touched)
        except BaseException:
            stager.abort()
            raise
        _swap_all(stager.restore_dir, journal)
        _finish(root, stager.restore_dir, journal)
    return plan, before


def _write_journal(
    restore_dir: Path, archive: Path, tag: str, prerestore: Path, touched: dict[str, Path]
) -> dict[str, Any]:
    (restore_dir / "old").mkdir()
    journal = {
        "format": JOURNAL_FORMAT,
        "state": "swapping",
        "archive": str(archive),
        "tag": tag,
        "prerestore": str(prerestore),
        "started_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "parts": [
            {
                "part": name,
                "live": _journal_path(live, restore_dir.parent),
                "staged": f"staged/{name}",
                "old": f"old/{name}",
            }
            for name, live in touched.items()
        ],
    }
    atomic_write_text(restore_dir / JOURNAL, json.dumps(journal, indent=1) + "\n")  # fsyncs restore_dir too
    return journal


def _journal_path(live: Path, project_root: Path) -> str:
    """A live path as the journal holds it: relative to the project root when inside it (so a project moved
    before `recover` runs is still completed in its new place), else absolute."""
    return os.path.relpath(live, project_root) if inside(live, project_root) else str(live)


def _swap(restore_dir: Path, entry: dict[str, str], moved: set[Path]) -> bool:
    """Move the live part to old/ and the staged one into its place, adding the directories changed to `moved`;
    False when that was done before."""
    live = restore_dir.parent / entry["live"]  # the restore directory is in the project root
    staged, old = restore_dir / entry["staged"], restore_dir / entry["old"]
    if not os.path.lexists(staged):
        return False
    if os.path.lexists(live):
        spare, n = old, 1
        while os.path.lexists(spare):  # the live path was recreated after the first move: keep both
            spare, n = old.with_name(f"{old.name}.{n}"), n + 1
        os.rename(live, spare)
    live.parent.mkdir(parents=True, exist_ok=True)
    os.rename(staged, live)
    moved.update((live.parent, staged.parent, old.parent))
    return True


def _swap_all(restore_dir: Path, journal: dict[str, Any]) -> list[str]:
    """Swap every part not yet swapped, then fsync each directory changed once: the journal already holds what
    is left to do, so the renames need only be durable before the restore directory is retired (`_finish`)."""
    swapped: list[str] = []
    moved: set[Path] = set()
    where = ""
    try:
        for entry in journal["parts"]:
            where = f"at part {entry['part']}"
            if _swap(restore_dir, entry, moved):
                swapped.append(entry["part"])
        where = "while syncing the swapped directories"
        for directory in sorted(moved):
            fsync_dir(directory)
    except OSError as exc:
        raise TgError(
            f"restore of snapshot {journal['tag']} stopped {where} ({exc.strerror or exc}): "
            "fix the cause, then run any `tg snapshot` command to complete it"
        ) from exc
    return swapped


def _finish(project_root: Path, restore_dir: Path, journal: dict[str, Any]) -> None:
    """Retire the restore directory once every part is swapped: one rename to `.tg-trash-<id>` (after it, recover
    has nothing to complete), then the replaced parts it holds are removed by a background `rm -rf`, so the
    command does not wait for the old tree's unlinks. A trash directory left by a killed `rm` is removed by the
    next restore or recover."""
    trash = project_root / (TRASH_PREFIX + restore_dir.name[len(RESTORE_PREFIX) :])
    try:
        os.rename(restore_dir, trash)
        fsync_dir(project_root)
    except OSError as exc:  # the live state is the archive's already; recover retries the cleanup
        logger.warning("restore of %s done, but %s could not be retired: %s", journal["tag"], restore_dir, exc)
        return
    _remove_in_background(trash)


def _remove_in_background(path: Path) -> None:
    rm = shutil.which("rm")
    if rm is None:
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        subprocess.Popen(  # noqa: S603 - a fixed program on a path this module made
            [rm, "-rf", "--", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        shutil.rmtree(path, ignore_errors=True)


def _remove_trash(project_root: Path) -> None:
    for path in _directories(project_root, TRASH_PREFIX):
        shutil.rmtree(path, ignore_errors=True)


def _restore_dirs(project_root: Path) -> list[Path]:
    return _directories(project_root, RESTORE_PREFIX)


def _directories(project_root: Path, prefix: str) -> list[Path]:
    """The directories directly in the project root whose names start with `prefix`, sorted."""
    try:
        with os.scandir(project_root) as scan:
            found = [e.path for e in scan if e.name.startswith(prefix) and e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [Path(path) for path in sorted(found)]


def _load_journal(restore_dir: Path, text: str) -> dict[str, Any]:
    try:
        journal = json.loads(text)
        entries = journal["parts"]
        valid = journal["format"] == JOURNAL_FORMAT and journal["state"] in ("swapping", "done")
        valid = valid and all(
            PART.fullmatch(e["part"])
            and (Path(e["live"]).is_absolute() or ".." not in Path(e["live"]).parts)
            and e["staged"] == f"staged/{e['part']}"
            and e["old"] == f"old/{e['part']}"
            for e in entries
        )
    except (ValueError, KeyError, TypeError):
        valid = False
    if not valid:
        raise ArtifactError(
            f"restore journal {restore_dir / JOURNAL} is unreadable: inspect {restore_dir} by hand "
            "(old/ holds the parts replaced so far, staged/ those not yet swapped in)"
        )
    return dict(journal)


def _recover_locked(project_root: Path) -> list[str]:
    _remove_trash(project_root)
    done = []
    for restore_dir in _restore_dirs(project_root):
        try:
            text = (restore_dir / JOURNAL).read_text(encoding="utf-8")
        except FileNotFoundError:
            shutil.rmtree(restore_dir)
            done.append(f"removed {restore_dir.name}, left by a restore killed before it changed anything")
            continue
        journal = _load_journal(restore_dir, text)
        archive = Path(journal["archive"]).name
        if journal["state"] == "swapping":
            swapped = _swap_all(restore_dir, journal)
            what = f"swapped in {', '.join(swapped)}" if swapped else "every part was already swapped"
            done.append(f"completed the interrupted restore of {archive} ({what})")
        else:
            done.append(f"cleaned up after the completed restore of {archive}")
        _finish(project_root, restore_dir, journal)
    return done


def recover(project_root: Path) -> list[str]:
    """Complete (roll forward) a restore interrupted by a kill; a line for each thing done (none: nothing pending)."""
    root = Path(os.path.abspath(project_root))
    if not _restore_dirs(root):
        _remove_trash(root)
        return []
    with _exclusive(root) as held:
        return _recover_locked(root) if held else [f"a restore is running in {root}: left alone"]


def pending_restore(project_root: Path) -> str | None:
    """One line describing an interrupted (or running) restore, or None; cheap: a directory scan and a stat."""
    root = Path(os.path.abspath(project_root))
    found = _restore_dirs(root)
    if not found:
        return None
    name = found[0].name
    if (found[0] / JOURNAL).exists():
        return f"a restore is running or was interrupted midway ({name}): any `tg snapshot` command completes it"
    return (
        f"a restore is staging or was killed before it changed anything ({name}): any `tg snapshot` command clears it"
    )
