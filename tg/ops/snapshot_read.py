"""Reading snapshots (`tg.ops.snapshot` writes them): `read_archive` streams an archive once and refuses anything
hostile or broken before a byte reaches its sink; `verify`, `list_snapshots` and `prune` serve the snapshot
directory. Every header is checked (path, type, size, the manifest's member list) before its data is read, and
every member's sha256 after.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

# zlib-ng: the same API as zlib, inflating ~1.8x faster than the system zlib that `tar xzf`'s gzip uses
# (measured in benchmarks/snapshot.py)
from zlib_ng import zlib_ng as zlib

from tg.errors import ArtifactError, UsageError
from tg.ops.atomic import fsync_dir
from tg.ops.gzip_stream import Inflater, TrailingData
from tg.ops.snapshot import (
    CHUNK,
    DEFAULT_LIMITS,
    FORMAT,
    MANIFEST,
    PART,
    PREFIX,
    SUFFIX,
    TAG,
    Limits,
    Member,
    SnapshotInfo,
    SnapshotManifest,
    info_for,
    locked,
)

MAX_MANIFEST_BYTES = 64 << 20
MAX_PAX_BYTES = 64 << 10
MAX_TRAILER_BYTES = 1 << 20  # zero padding accepted after the end-of-archive marker
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ZERO_BLOCK = bytes(tarfile.BLOCKSIZE)
_REGULAR = (tarfile.REGTYPE, tarfile.AREGTYPE)
_NUMBERS = ((148, 156), (124, 136), (100, 108), (136, 148))  # ustar checksum, size, mode, mtime
_TYPE_NAMES = {
    tarfile.SYMTYPE: "symbolic link",
    tarfile.LNKTYPE: "hard link",
    tarfile.CHRTYPE: "character device",
    tarfile.BLKTYPE: "block device",
    tarfile.FIFOTYPE: "fifo",
    tarfile.CONTTYPE: "contiguous file",
    tarfile.GNUTYPE_SPARSE: "sparse file",
    tarfile.GNUTYPE_LONGNAME: "GNU long-name header",
    tarfile.GNUTYPE_LONGLINK: "GNU long-link header",
    tarfile.XGLTYPE: "global pax header",
}


class MemberSink(Protocol):
    """Where `read_archive` writes each member's bytes, once its header has passed every check."""

    def start(self, manifest: SnapshotManifest) -> None: ...
    def begin(self, member: Member, mode: int, mtime: float) -> None: ...
    def write(self, data: bytes) -> None: ...
    def end(self) -> None: ...


class _Refused(Exception):
    """A problem with the archive's content; `read_archive` turns it into one ArtifactError line."""


@dataclass(frozen=True)
class _Header:
    name: str
    type: bytes
    size: int
    mode: int
    mtime: float


class _Stream:
    """The decompressed tar stream, read header by header."""

    def __init__(self, stream: Inflater) -> None:
        self.stream = stream

    def read(self, size: int) -> bytes:
        data = self.stream.read(size)
        if len(data) < size:
            raise EOFError("the archive ends early")
        return data

    def skip_padding(self, size: int) -> None:
        self.read(-size % tarfile.BLOCKSIZE)

    def header(self) -> _Header | None:
        """The next member's header (a pax header applied to it), or None at the end-of-archive marker."""
        block = self.read(tarfile.BLOCKSIZE)
        if block == _ZERO_BLOCK:
            return None
        header = _parse_block(block)
        if header.type == tarfile.XHDTYPE:
            if not 0 <= header.size <= MAX_PAX_BYTES:
                raise _Refused(f"a pax header of {header.size} bytes (at most {MAX_PAX_BYTES} are accepted)")
            records = _pax_records(self.read(header.size))
            self.skip_padding(header.size)
            block = self.read(tarfile.BLOCKSIZE)
            if block == _ZERO_BLOCK:
                raise _Refused("a pax header is followed by no member")
            header = _parse_block(block)
            if header.type == tarfile.XHDTYPE:
                raise _Refused("two pax headers in a row")
            name = records.get("path", header.name)
            try:
                size = int(records.get("size", header.size))
            except ValueError as exc:
                raise _Refused(f"member {name!r}: unreadable size in its pax header") from exc
            header = _Header(name, header.type, size, header.mode, header.mtime)
        if header.size < 0:
            raise _Refused(f"member {header.name!r} declares a negative size")
        if header.type == tarfile.DIRTYPE:
            return _Header(header.name.rstrip("/"), header.type, header.size, header.mode, header.mtime)
        return header

    def data(self, size: int, sink: MemberSink | None) -> str:
        """Read `size` bytes of member data into the sink; their sha256."""
        digest, left = hashlib.sha256(), size
        while left:
            chunk = self.stream.read(min(left, CHUNK))
            if not chunk:
                raise EOFError("the archive ends inside a member")
            digest.update(chunk)
            if sink is not None:
                sink.write(chunk)
            left -= len(chunk)
        self.skip_padding(size)
        return digest.hexdigest()

    def trailer(self) -> None:
        """Read to the end, so that gzip checks its CRC and length; only zero padding may follow the marker."""
        rest = self.stream.read(MAX_TRAILER_BYTES + 1)
        if len(rest) > MAX_TRAILER_BYTES or rest.strip(b"\0"):
            raise _Refused("unexpected data after the end of the archive")


def _parse_block(block: bytes) -> _Header:
    """A header block. The plain ustar headers this module writes are parsed here (tarfile's parser takes ~90 µs
    a header, most of the time verify spends on small files); anything else, or anything odd, by tarfile."""
    try:
        if block[257:265] == b"ustar\x0000" and block[156:157] in (b"0", b"5", b"x") and not block[345]:
            checksum, size, mode, mtime = (int(block[a:b].strip(b" \0"), 8) for a, b in _NUMBERS)
            if checksum == sum(block[:148]) + 256 + sum(block[156:]):
                name = block[:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
                return _Header(name, block[156:157], size, mode, float(mtime))
    except ValueError:
        pass
    info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    return _Header(info.name, info.type, info.size, info.mode, float(info.mtime))


def _pax_records(data: bytes) -> dict[str, str]:
    records, pos = {}, 0
    while pos < len(data):
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        end = pos + length
        if length <= 0 or end > len(data) or data[end - 1 : end] != b"\n" or b"=" not in data[space:end]:
            raise _Refused("a malformed pax header")
        key, _, value = data[space + 1 : end - 1].partition(b"=")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        pos = end
    return records


def unsafe(path: str) -> str:
    """Why a member path could write outside its part (empty when it cannot)."""
    if not path:
        return "has an empty name"
    if path.startswith("/"):
        return "is an absolute path"
    components = path.split("/")
    if ".." in components:
        return "leaves the archive root ('..')"
    if "" in components or "." in components or "\0" in path:
        return "is not a normalised relative path"
    return ""


def _parse_manifest(data: bytes, limits: Limits) -> SnapshotManifest:
    try:
        raw = json.loads(data)
    except ValueError as exc:
        raise _Refused("manifest.json is not valid JSON") from exc
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        found = raw.get("format") if isinstance(raw, dict) else type(raw).__name__
        raise _Refused(f"manifest.json is not a {FORMAT} manifest (format {found!r})")
    tag, parts, contents, listed = raw.get("tag"), raw.get("parts"), raw.get("contents"), raw.get("members")
    if not isinstance(tag, str) or not TAG.fullmatch(tag):
        raise _Refused(f"manifest.json names an invalid tag {tag!r}")
    if not isinstance(parts, dict) or not all(
        isinstance(k, str) and PART.fullmatch(k) and v in ("dir", "file") for k, v in parts.items()
    ):
        raise _Refused("manifest.json has an invalid `parts` map")
    if contents != sorted(parts):
        raise _Refused("manifest.json `contents` does not match its `parts`")
    if not isinstance(listed, list):
        raise _Refused("manifest.json has no `members` list")
    if len(listed) > limits.max_members:
        raise _Refused(f"the archive lists {len(listed)} members, more than the limit of {limits.max_members}")
    members: list[Member] = []
    paths: set[str] = set()
    directories: set[str] = set()
    total = 0
    for item in listed:
        path, size, sha = (item.get(k) for k in ("path", "size", "sha256")) if isinstance(item, dict) else (0, 0, 0)
        if not isinstance(path, str) or type(size) is not int or size < 0 or not isinstance(sha, str):
            raise _Refused(f"manifest.json has a malformed member entry {str(item)[:80]!r}")
        if not _SHA256.fullmatch(sha):
            raise _Refused(f"manifest.json has no valid sha256 for {path!r}")
        reason = unsafe(path)
        part, _, rel = path.partition("/")
        if reason:
            raise _Refused(f"manifest.json lists {path!r}, which {reason}")
        if part not in parts or not rel or (parts[part] == "file" and "/" in rel):
            raise _Refused(f"manifest.json lists {path!r}, outside the parts it contains")
        if path in paths:
            raise _Refused(f"manifest.json lists {path!r} twice")
        paths.add(path)
        directories.update(path.rsplit("/", n)[0] for n in range(1, path.count("/") + 1))
        total += size
        members.append(Member(path, size, sha))
    if total > limits.max_total_bytes:
        raise _Refused(f"the archive declares {total} bytes, more than the limit of {limits.max_total_bytes}")
    clash = sorted(paths & directories)
    if clash:
        raise _Refused(f"manifest.json lists {clash[0]!r} both as a file and as a directory")
    for part, kind in parts.items():
        if kind == "file" and sum(1 for m in members if m.path.partition("/")[0] == part) != 1:
            raise _Refused(f"manifest.json: single-file part {part} does not list exactly one file")
    text = [raw.get(k) for k in ("created_at", "tg_version", "git_commit", "code_ref")]
    notes, masked = raw.get("notes", []), raw.get("masked", [])
    if not all(isinstance(v, str | None) for v in text) or not isinstance(notes, list) or not isinstance(masked, list):
        raise _Refused("manifest.json has malformed descriptive fields")
    if not all(isinstance(m, str) and m in paths for m in masked):
        raise _Refused("manifest.json marks a file as masked that it does not list")
    return SnapshotManifest(
        tag,
        text[0] or "",
        text[1] or "",
        text[2],
        text[3],
        parts,
        tuple(map(str, notes)),
        tuple(masked),
        tuple(members),
    )


def _read(
    stream: _Stream, archive: Path, limits: Limits, sink: MemberSink | None, manifest_only: bool
) -> SnapshotManifest:
    first = stream.header()
    if first is None or first.name != MANIFEST or first.type not in _REGULAR:
        found = "the archive is empty" if first is None else f"the first member is {first.name!r}"
        raise _Refused(f"manifest.json is missing or not the first member ({found})")
    if first.size > MAX_MANIFEST_BYTES:
        raise _Refused(f"manifest.json is {first.size} bytes (at most {MAX_MANIFEST_BYTES} are accepted)")
    manifest = _parse_manifest(stream.read(first.size), limits)
    stream.skip_padding(first.size)
    if archive.name.startswith(PREFIX) and archive.name.endswith(SUFFIX):
        named = archive.name[len(PREFIX) : -len(SUFFIX)]
        if named != manifest.tag:
            raise _Refused(f"its file name says tag {named!r} but its manifest says {manifest.tag!r}")
    if manifest_only:
        return manifest
    if sink is not None:
        sink.start(manifest)
    expected = {member.path: member for member in manifest.members}
    seen = {MANIFEST}
    while (header := stream.header()) is not None:
        name = header.name
        if len(seen) > limits.max_members:
            raise _Refused(f"the archive holds more than {limits.max_members} members")
        reason = unsafe(name)
        if reason:
            raise _Refused(f"member {name!r} {reason}")
        if name in seen:
            raise _Refused(f"member {name!r} appears twice")
        seen.add(name)
        if header.type == tarfile.DIRTYPE:  # tolerated (restore makes directories as files need them)
            if header.size or name.partition("/")[0] not in manifest.parts:
                raise _Refused(f"directory member {name!r} is outside the parts the archive contains")
            continue
        if header.type not in _REGULAR:
            kind = _TYPE_NAMES.get(header.type, f"member of type {header.type!r}")
            raise _Refused(f"member {name!r} is a {kind}: only regular files are accepted")
        member = expected.get(name)
        if member is None:
            raise _Refused(f"member {name!r} is not listed in the manifest")
        if header.size != member.size:
            raise _Refused(f"member {name!r} holds {header.size} bytes, the manifest says {member.size}")
        if sink is not None:
            sink.begin(member, header.mode, header.mtime)
        if stream.data(header.size, sink) != member.sha256:
            raise _Refused(f"member {name!r} does not match its sha256 in the manifest (tampered or corrupt)")
        if sink is not None:
            sink.end()
    absent = [path for path in expected if path not in seen]
    if absent:
        more = f" (+{len(absent) - 1} more)" if len(absent) > 1 else ""
        raise _Refused(f"member {absent[0]!r} is listed in the manifest but absent from the archive{more}")
    stream.trailer()
    return manifest


def read_archive(
    archive: Path, limits: Limits = DEFAULT_LIMITS, sink: MemberSink | None = None, manifest_only: bool = False
) -> SnapshotManifest:
    """Stream the archive once, checking every header before its data is read and every member against the
    manifest; `sink` receives the bytes of members that passed (its own failures must not be OSError).
    ArtifactError names the first problem."""
    archive = Path(archive)
    try:
        raw = open(archive, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError as exc:
        raise ArtifactError(f"snapshot {archive} does not exist") from exc
    except OSError as exc:
        raise ArtifactError(f"snapshot {archive} cannot be read: {exc.strerror or exc}") from exc
    with raw:
        gunzip = Inflater(raw)
        try:
            return _read(_Stream(gunzip), archive, limits, sink, manifest_only)
        except (_Refused, TrailingData) as exc:
            raise ArtifactError(f"snapshot {archive.name} refused: {exc}") from None
        except (EOFError, zlib.error, tarfile.HeaderError) as exc:  # type: ignore[misc]  # zlib_ng.pyi: `error: Exception`
            raise ArtifactError(
                f"snapshot {archive.name} refused: the archive is truncated or corrupt ({exc})"
            ) from exc
        except OSError as exc:  # reading the archive failed
            raise ArtifactError(f"snapshot {archive.name} cannot be read: {exc.strerror or exc}") from exc
        finally:
            gunzip.close()


def verify(archive: Path, limits: Limits = DEFAULT_LIMITS) -> SnapshotManifest:
    """The archive's manifest once every member is proven intact and harmless; writes nothing."""
    return read_archive(archive, limits)


def list_snapshots(snapshot_dir: Path, verify_each: bool = True) -> list[SnapshotInfo]:
    """Every `snapshot_*.tar.gz` in `snapshot_dir`, newest first; without `verify_each` only manifests are read."""
    snapshot_dir = Path(snapshot_dir)
    if not snapshot_dir.is_dir():
        return []
    infos = [_describe(path, verify_each) for path in snapshot_dir.glob(f"{PREFIX}*{SUFFIX}")]
    return sorted(infos, key=lambda info: (info.created_at, info.tag), reverse=True)


def _describe(path: Path, verify_each: bool) -> SnapshotInfo:
    tag = path.name[len(PREFIX) : -len(SUFFIX)]
    try:
        about = path.stat()
        manifest = read_archive(path, manifest_only=not verify_each)
    except OSError as exc:
        return SnapshotInfo(path, tag, "", 0, [], None, False, f"cannot be read: {exc.strerror or exc}")
    except ArtifactError as exc:
        when = datetime.fromtimestamp(about.st_mtime, UTC).isoformat(timespec="milliseconds")
        return SnapshotInfo(path, tag, when, about.st_size, [], None, False, str(exc))
    return info_for(path, manifest, about.st_size, verified=verify_each)


def prune(snapshot_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` snapshots (by their manifests' created_at); the paths deleted."""
    if isinstance(keep, bool) or not isinstance(keep, int) or keep < 1:
        raise UsageError(f"keep must be a whole number of at least 1, got {keep!r}")
    snapshot_dir = Path(snapshot_dir)
    if not snapshot_dir.is_dir():
        return []
    with locked(snapshot_dir):
        doomed = [info.path for info in list_snapshots(snapshot_dir, verify_each=False)[keep:]]
        for path in doomed:
            path.unlink(missing_ok=True)
        if doomed:
            fsync_dir(snapshot_dir)
    return doomed
