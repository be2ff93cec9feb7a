"""Snapshots of the project's state (DESIGN §8): `<snapshot_dir>/snapshot_<tag>.tar.gz`.

A gzip'd tar whose first member is `manifest.json`:
    {"format": "tg-snapshot/1", "tag", "created_at", "tg_version", "git_commit", "code_ref",
     "contents": [part, …], "parts": {part: "dir" | "file"}, "notes": [line, …], "masked": [path, …],
     "members": [{"path", "size", "sha256"}, …]}
Member paths are logical, `<part>/<path inside the part>` (a single-file part: `<part>/<file name>`), so an
archive names no host path. Only regular files are archived: symbolic links (never followed) and special files
are skipped and named in `notes`; lock and temp files (`*.lock`, `*.tmp`, `.tmp-*`) are left out. A `.env`
file is archived with its secret values masked (`masked` lists it; `tg.ops.snapshot_restore` never writes it
back). Reading and verifying live in `tg.ops.snapshot_read`, restoring in `tg.ops.snapshot_restore`.

Each file is read once: its bytes are hashed while they are compressed into a body stream, then the manifest
is compressed as the start of the same deflate stream (ending in a sync flush) and the body is appended after
it: one ordinary gzip member that any tar reads. Hashing in a first pass would read every file twice, and a
file rewritten between the passes would be archived with a hash that does not match it.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import tarfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

# zlib-ng: the same deflate format and API as zlib, compressing 1.7x and checksumming faster (measured in
# benchmarks/snapshot.py); the archives stay ordinary gzip files that any tar reads
from zlib_ng import zlib_ng as zlib

from tg import __version__
from tg.errors import TgError, UsageError
from tg.ops.atomic import fsync_dir
from tg.ops.gzip_stream import CHUNK, crc32_combine
from tg.ops.redact import mask_env

FORMAT = "tg-snapshot/1"
MANIFEST = "manifest.json"
PREFIX, SUFFIX = "snapshot_", ".tar.gz"
TEMP_PREFIX = ".tmp-"  # a create in progress, or the leftover of a killed one
LOCK = ".snapshot.lock"  # serialises create and prune in one snapshot directory
TAG = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
PART = re.compile(r"[a-z][a-z0-9_-]{0,31}")
GZIP_LEVEL = 6
_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


@dataclass(frozen=True)
class Limits:
    """The most work an archive may demand before verify refuses it (checked before any data is read)."""

    max_members: int = 100_000
    max_total_bytes: int = 20 * 2**30


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Member:
    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class SnapshotManifest:
    tag: str
    created_at: str
    tg_version: str
    git_commit: str | None
    code_ref: str | None
    parts: dict[str, str]  # part -> "dir" | "file"; `contents` is its sorted keys
    notes: tuple[str, ...]
    masked: tuple[str, ...]
    members: tuple[Member, ...]

    @property
    def contents(self) -> list[str]:
        return sorted(self.parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "tag": self.tag,
            "created_at": self.created_at,
            "tg_version": self.tg_version,
            "git_commit": self.git_commit,
            "code_ref": self.code_ref,
            "contents": self.contents,
            "parts": dict(sorted(self.parts.items())),
            "notes": list(self.notes),
            "masked": list(self.masked),
            "members": [{"path": m.path, "size": m.size, "sha256": m.sha256} for m in self.members],
        }


@dataclass(frozen=True)
class SnapshotInfo:
    """One archive as `list_snapshots` shows it; `verified` is true only after a full read found it intact."""

    path: Path
    tag: str
    created_at: str
    size: int
    contents: list[str]
    code_ref: str | None
    verified: bool
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path)}


# --- tags, parts and locations -------------------------------------------------------------------


def check_tag(tag: str) -> str:
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise UsageError(
            f"invalid snapshot tag {tag!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return tag


def archive_path(snapshot_dir: Path, tag: str) -> Path:
    return Path(snapshot_dir) / f"{PREFIX}{check_tag(tag)}{SUFFIX}"


def unused_tag(snapshot_dir: Path, base: str) -> str:
    """`base`, or `base-2`, `base-3`… when an archive with that tag exists already."""
    tag, n = check_tag(base), 1
    while os.path.lexists(archive_path(snapshot_dir, tag)):
        n += 1
        tag = f"{base}-{n}"
    return tag


def git_commit(project_root: Path | None) -> str | None:
    """HEAD of the project's git checkout; None when it is not one or git cannot tell."""
    if project_root is None or not (Path(project_root) / ".git").exists():
        return None
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=project_root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and _COMMIT.fullmatch(commit) else None


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def default_tag(project_root: Path, now: datetime | None = None) -> str:
    """`20261203T181500Z-<first 12 hex digits of HEAD>`, or `…-nogit` outside a git checkout."""
    commit = git_commit(project_root)
    return f"{stamp(now)}-{commit[:12] if commit else 'nogit'}"


def inside(path: Path, container: Path) -> bool:
    return path == container or container in path.parents


def check_parts(parts: Mapping[str, Path], snapshot_dir: Path | None = None) -> dict[str, Path]:
    """The parts with absolute paths, sorted by name; UsageError for a bad name, parts inside one another, or
    a snapshot directory inside a part (restoring that part would swap the pre-restore snapshot away)."""
    checked: dict[str, Path] = {}
    for name, path in sorted(parts.items()):
        if not isinstance(name, str) or not PART.fullmatch(name):
            raise UsageError(f"invalid snapshot part name {name!r}: use a-z, 0-9, '_' or '-', starting with a letter")
        checked[name] = Path(os.path.abspath(path))
    if not checked:
        raise UsageError("no snapshot parts given")
    for name, path in checked.items():
        for other, other_path in checked.items():
            if other != name and inside(other_path, path):
                raise UsageError(f"snapshot parts {name} ({path}) and {other} ({other_path}) overlap")
        if snapshot_dir is not None and inside(Path(os.path.abspath(snapshot_dir)), path):
            raise UsageError(f"the snapshot directory {snapshot_dir} lies inside part {name} ({path})")
    return checked


@contextmanager
def locked(snapshot_dir: Path) -> Iterator[None]:
    """Hold the snapshot directory's lock (exclusive, waiting for it)."""
    with open(snapshot_dir / LOCK, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield


# --- reading parts ---------------------------------------------------------------------------------


def walk_part(root: Path | str, prefix: str = "") -> Iterator[tuple[str, os.DirEntry[str]]]:
    """Every non-directory entry under `root` as (relative POSIX path, entry), sorted; links are not followed."""
    with os.scandir(root) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from walk_part(entry.path, f"{prefix}{entry.name}/")
        else:
            yield f"{prefix}{entry.name}", entry


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Source:
    part: str
    logical: str
    path: Path
    size: int


def _collect(parts: dict[str, Path]) -> tuple[dict[str, str], list[_Source], list[str]]:
    """The kind of each part present ("dir" or "file"), the files to archive, and notes on what was left out."""
    kinds: dict[str, str] = {}
    sources: list[_Source] = []
    notes: list[str] = []
    for name, path in parts.items():
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            notes.append(f"{name}: absent, not archived")
            continue
        if stat.S_ISREG(info.st_mode):
            kinds[name] = "file"
            sources.append(_Source(name, f"{name}/{path.name}", path, info.st_size))
        elif stat.S_ISDIR(info.st_mode):
            kinds[name] = "dir"
            links, special = [], []
            for rel, entry in walk_part(path):
                if entry.is_symlink():
                    links.append(rel)
                elif not entry.is_file(follow_symlinks=False):
                    special.append(rel)
                elif not transient(entry.name):
                    size = entry.stat(follow_symlinks=False).st_size
                    sources.append(_Source(name, f"{name}/{rel}", Path(entry.path), size))
            notes += _left_out(name, "symbolic link", links) + _left_out(name, "special file", special)
        else:
            kind = "a symbolic link" if stat.S_ISLNK(info.st_mode) else "not a regular file or directory"
            notes.append(f"{name}: {kind}, not archived")
    return kinds, sources, notes


def transient(name: str) -> bool:
    """Lock and temp files: never archived, and not counted as removed by a restore."""
    return name.endswith((".lock", ".tmp")) or name.startswith(TEMP_PREFIX)


def _left_out(part: str, kind: str, paths: list[str]) -> list[str]:
    if not paths:
        return []
    shown = ", ".join(paths[:5]) + (f" (+{len(paths) - 5} more)" if len(paths) > 5 else "")
    return [f"{part}: {len(paths)} {kind}{'s' if len(paths) > 1 else ''} not archived: {shown}"]


# --- writing ---------------------------------------------------------------------------------------


def _tar_header(name: str, size: int, mode: int, mtime: int) -> bytes:
    """A ustar header (built here: tarfile's takes ~40 µs, a tenth of small files' archiving time), or tarfile's
    pax header when the name or a number does not fit."""
    encoded = name.encode("utf-8", "surrogateescape")
    if len(encoded) > 100 or not name.isascii() or size >= 8**11 or not 0 <= mtime < 8**11:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime, info.type = size, mode & 0o777, mtime, tarfile.REGTYPE
        return info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    numbers = b"%07o\0%07o\0%07o\0%011o\0%011o\0" % (mode & 0o777, 0, 0, size, mtime)
    header = encoded.ljust(100, b"\0") + numbers + b" " * 8 + b"0" + bytes(100) + b"ustar\x0000" + bytes(247)
    return header[:148] + b"%06o\0" % sum(header) + header[155:]


def _padding(size: int) -> bytes:
    return bytes(-size % tarfile.BLOCKSIZE)


class _Body:
    """The tar stream after manifest.json, compressed as raw deflate into `out` while its CRC is kept."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
        self.crc = 0
        self.length = 0
        self.buffer = memoryview(bytearray(CHUNK))

    def feed(self, data: bytes | memoryview) -> None:
        self.crc = zlib.crc32(data, self.crc)
        self.length += len(data)
        self.out.write(self.deflate.compress(data))

    def add_file(self, logical: str, path: Path, mask: bool = False) -> tuple[Member | None, int]:
        """Archive the file as it is now, its secrets masked if `mask`; None when it vanished or stopped being a
        regular file since the walk. Also returns how many secret values were masked."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except (FileNotFoundError, NotADirectoryError):
            return None, 0
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # replaced by a symbolic link since the walk
                return None, 0
            raise
        with open(fd, "rb", buffering=0) as handle:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                return None, 0
            mode, mtime = info.st_mode, int(info.st_mtime)
            if mask:
                data, count = mask_env(handle.readall())
                self.feed(_tar_header(logical, len(data), mode, mtime) + data + _padding(len(data)))
                return Member(logical, len(data), hashlib.sha256(data).hexdigest()), count
            size = left = info.st_size  # bytes appended from now on belong to the next snapshot
            self.feed(_tar_header(logical, size, mode, mtime))
            digest = hashlib.sha256()
            while left:
                count = handle.readinto(self.buffer[: min(left, CHUNK)])
                if not count:
                    raise TgError(f"snapshot failed: {logical} shrank while it was archived; run the snapshot again")
                digest.update(self.buffer[:count])
                self.feed(self.buffer[:count])
                left -= count
            self.feed(_padding(size))
        return Member(logical, size, digest.hexdigest()), 0

    def close(self) -> None:
        self.feed(bytes(2 * tarfile.BLOCKSIZE))  # end-of-archive marker
        self.out.write(self.deflate.flush())


def _assemble(out: BinaryIO, manifest: bytes, body: _Body, body_file: BinaryIO, mtime: int) -> None:
    """gzip header, manifest.json compressed and sync-flushed, the body's deflate data, gzip trailer."""
    head = _tar_header(MANIFEST, len(manifest), 0o644, mtime) + manifest + _padding(len(manifest))
    deflate = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
    out.write(b"\x1f\x8b\x08\x00" + struct.pack("<I", mtime) + b"\x00\xff")
    out.write(deflate.compress(head) + deflate.flush(zlib.Z_SYNC_FLUSH))
    body_file.seek(0)
    shutil.copyfileobj(body_file, out, CHUNK)
    crc = crc32_combine(zlib.crc32(head), body.crc, body.length)
    out.write(struct.pack("<II", crc, (len(head) + body.length) & 0xFFFFFFFF))


def _write(temp: Path, body_path: Path, sources: list[_Source], manifest: SnapshotManifest) -> SnapshotManifest:
    """Write the archive of `sources` to `temp` (fsynced); the manifest given lacks members and masking."""
    members, masked, notes, parts = [], [], list(manifest.notes), dict(manifest.parts)
    with open(body_path, "w+b") as body_file:
        body = _Body(body_file)
        for source in sources:
            mask = source.path.name == ".env" or source.part == "env"
            member, count = body.add_file(source.logical, source.path, mask)
            if count:
                masked.append(source.logical)
                notes.append(f"{source.logical}: {count} secret value{'s' if count > 1 else ''} masked")
            if member is None:
                notes.append(f"{source.logical}: vanished while the snapshot was written, not archived")
                if parts.get(source.part) == "file":
                    del parts[source.part]
            else:
                members.append(member)
        body.close()
        full = SnapshotManifest(
            manifest.tag,
            manifest.created_at,
            manifest.tg_version,
            manifest.git_commit,
            manifest.code_ref,
            parts,
            tuple(notes),
            tuple(masked),
            tuple(members),
        )
        text = json.dumps(full.to_dict(), indent=1, ensure_ascii=False) + "\n"
        with open(temp, "wb") as out:
            mtime = int(datetime.fromisoformat(manifest.created_at).timestamp())
            _assemble(out, text.encode("utf-8"), body, body_file, mtime)
            out.flush()
            os.fsync(out.fileno())
    return full


def create(
    snapshot_dir: Path,
    parts: Mapping[str, Path],
    tag: str | None = None,
    project_root: Path | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> SnapshotInfo:
    """Archive `parts` ({name: directory or file}) as `snapshot_<tag>.tar.gz` in `snapshot_dir`.

    Written to a temp file, fsynced and renamed: a kill leaves no partial archive under the final name, and the
    next create removes the temp file. An explicit tag that exists already is refused (UsageError); without a
    tag, `default_tag` is used (with `-2`, `-3`… appended if taken). The info says `verified=False`: the
    archive was written, not read back (`verify` does that)."""
    return write_snapshot(snapshot_dir, parts, tag, project_root, limits=limits)[0]


def write_snapshot(
    snapshot_dir: Path,
    parts: Mapping[str, Path],
    tag: str | None = None,
    project_root: Path | None = None,
    *,
    limits: Limits = DEFAULT_LIMITS,
) -> tuple[SnapshotInfo, SnapshotManifest]:
    """`create`, also returning the manifest written (the hashes of the files as they were archived)."""
    if tag is not None:
        check_tag(tag)
    snapshot_dir = Path(os.path.abspath(snapshot_dir))
    checked = check_parts(parts, snapshot_dir)
    commit = git_commit(project_root)
    now = datetime.now(UTC)
    try:
        kinds, sources, notes = _collect(checked)
        total = sum(source.size for source in sources)
        if len(sources) > limits.max_members or total > limits.max_total_bytes:
            raise UsageError(
                f"snapshot refused: {len(sources)} files, {total} bytes exceed the limits "
                f"({limits.max_members} files, {limits.max_total_bytes} bytes)"
            )
        snapshot_dir.mkdir(parents=True, exist_ok=True)
        with locked(snapshot_dir):
            for leftover in snapshot_dir.glob(f"{TEMP_PREFIX}{PREFIX}*"):  # no create runs while we hold the lock
                leftover.unlink(missing_ok=True)
            if tag is None:
                tag = unused_tag(snapshot_dir, f"{stamp(now)}-{commit[:12] if commit else 'nogit'}")
            final = archive_path(snapshot_dir, tag)
            if os.path.lexists(final):
                raise UsageError(f"snapshot tag {tag!r} exists already: {final}")
            temp = snapshot_dir / f"{TEMP_PREFIX}{final.name}.{os.getpid()}"
            body = snapshot_dir / f"{TEMP_PREFIX}{final.name}.{os.getpid()}.body"
            empty = SnapshotManifest(
                tag, now.isoformat(timespec="milliseconds"), __version__, commit, commit, kinds, tuple(notes), (), ()
            )
            try:
                manifest = _write(temp, body, sources, empty)
                os.rename(temp, final)
            except BaseException:
                temp.unlink(missing_ok=True)
                raise
            finally:
                body.unlink(missing_ok=True)
            fsync_dir(snapshot_dir)
            size = final.stat().st_size
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise TgError(f"snapshot {tag or '(untagged)'} failed: {exc.strerror or exc}{where}") from exc
    return info_for(final, manifest, size, verified=False), manifest


def info_for(path: Path, manifest: SnapshotManifest, size: int, verified: bool) -> SnapshotInfo:
    return SnapshotInfo(path, manifest.tag, manifest.created_at, size, manifest.contents, manifest.code_ref, verified)
