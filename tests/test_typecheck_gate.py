"""The type gate passes on tg/ and catches a new error in code it has not seen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_gate_passes_on_tg_and_fails_on_a_new_error(tmp_path: Path) -> None:
    ok = subprocess.run([sys.executable, "scripts/typecheck_gate.py"], cwd=REPO, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = tmp_path / "bad_module.py"
    bad.write_text("def f(x: int) -> str:\n    return x\n")
    gate = subprocess.run(
        [sys.executable, "scripts/typecheck_gate.py", "--target", str(bad)], cwd=REPO, capture_output=True, text=True
    )
    assert gate.returncode == 1
    assert "NEW" in gate.stdout and "return-value" in gate.stdout
