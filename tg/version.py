"""`tg --version`: what is installed, for an operator or a deploy to check (no heavy imports: metadata only)."""

from __future__ import annotations

import platform
import re
from importlib import metadata
from pathlib import Path

from tg import __version__

LIBRARIES = ("hydra-core", "numpy", "lightgbm", "torch", "fastapi", "redis", "typer")
_COMMIT = re.compile(r"[0-9a-f]{40}")


def checkout_commit(root: Path | None = None) -> str | None:
    """HEAD of the git checkout tg runs from (an editable install), read from `.git` without running git;
    None for an installed wheel or anything unreadable."""
    git = (root or Path(__file__).resolve().parent.parent) / ".git"
    try:
        head = (git / "HEAD").read_text(encoding="utf-8").strip()
        if not head.startswith("ref: "):
            return head if _COMMIT.fullmatch(head) else None
        ref = head[5:]
        loose = git / ref
        if loose.is_file():
            commit = loose.read_text(encoding="utf-8").strip()
            return commit if _COMMIT.fullmatch(commit) else None
        for line in (git / "packed-refs").read_text(encoding="utf-8").splitlines():
            commit, _, name = line.partition(" ")
            if name == ref and _COMMIT.fullmatch(commit):
                return commit
    except OSError:
        return None
    return None


def library_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def version_text() -> str:
    commit = checkout_commit()
    libraries = ", ".join(f"{name} {version or 'not installed'}" for name, version in library_versions().items())
    return (
        f"tg {__version__}" + (f" (commit {commit[:12]})" if commit else "") + "\n"
        f"Python {platform.python_version()} ({platform.python_implementation()})\n"
        f"{libraries}\n"
    )
