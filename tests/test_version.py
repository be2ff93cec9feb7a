"""`tg --version`: tg's version, the checkout's commit (read from .git without git), Python and libraries."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.conftest import run_tg
from tg import __version__
from tg.version import checkout_commit


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def test_version_names_tg_its_commit_python_and_the_libraries(tmp_path: Path) -> None:
    out = run_tg("--version", cwd=tmp_path)
    assert out.code == 0 and out.stderr == ""
    first, python, libraries = out.stdout.splitlines()
    assert first.startswith(f"tg {__version__}")
    repo = Path(__file__).resolve().parent.parent
    if (repo / ".git").exists():  # run from the checkout (CI clones it): the commit is HEAD's
        assert first == f"tg {__version__} (commit {git('rev-parse', 'HEAD', cwd=repo)[:12]})"
    assert python.startswith("Python 3.")
    assert "numpy " in libraries and "lightgbm " in libraries and "hydra-core " in libraries


def test_the_commit_is_read_from_loose_and_packed_refs_and_a_detached_head(tmp_path: Path) -> None:
    git("init", "-q", "-b", "main", cwd=tmp_path)
    (tmp_path / "f").write_text("x")
    git("add", "f", cwd=tmp_path)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one", cwd=tmp_path)
    head = git("rev-parse", "HEAD", cwd=tmp_path)
    assert checkout_commit(tmp_path) == head  # loose ref
    git("pack-refs", "--all", cwd=tmp_path)
    assert not (tmp_path / ".git" / "refs" / "heads" / "main").exists()
    assert checkout_commit(tmp_path) == head  # packed ref
    git("checkout", "-q", "--detach", cwd=tmp_path)
    assert checkout_commit(tmp_path) == head  # detached
    assert checkout_commit(tmp_path / "nowhere") is None


def test_shell_completion_is_typers_own_and_completes_commands(tmp_path: Path) -> None:
    # from a bash, as a user types it: Typer (shellingham) names the shell from the parent processes, so a test run
    # with no shell among its ancestors (a detached CI job) would get "Shell  not supported"
    from_bash = ["bash", "-c", '"$@"; exit $?', "bash"]
    script = run_tg("--show-completion", cwd=tmp_path, wrap=from_bash)
    assert script.code == 0 and "_tg_completion" in script.stdout
    words = {"_TG_COMPLETE": "complete_bash", "COMP_WORDS": "tg snapshot re", "COMP_CWORD": "2"}
    completed = run_tg(cwd=tmp_path, env=words)
    assert completed.code == 0 and completed.stdout.split() == ["restore"]
