#!/usr/bin/env python3
"""Type gate: mypy on `tg/` must add no error beyond the recorded baseline.

The baseline keys errors by (file, error code, message) — not line numbers — so moving code does
not break the gate, while any new error does. `--write-baseline` records the current errors.
Exit 0: no new errors; 1: new errors (listed); 2: mypy could not run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scripts" / "typecheck_baseline.json"
LINE = re.compile(r"^(?P<file>[^:]+):\d+(?::\d+)?: error: (?P<message>.*?)(?:  \[(?P<code>[a-z0-9-]+)\])?$")


def mypy_errors(target: str) -> Counter[tuple[str, str, str]]:
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", target, "--no-error-summary", "--no-pretty", "--show-error-codes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1) or "No module named mypy" in proc.stderr:
        sys.stderr.write(f"typecheck_gate: mypy could not run: {proc.stderr.strip() or proc.stdout.strip()}\n")
        raise SystemExit(2)
    errors: Counter[tuple[str, str, str]] = Counter()
    for line in proc.stdout.splitlines():
        match = LINE.match(line)
        if match:
            errors[(match["file"], match["code"] or "misc", match["message"])] += 1
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write-baseline", action="store_true", help="record the current errors as accepted")
    parser.add_argument("--target", default="tg")
    args = parser.parse_args(argv)
    current = mypy_errors(args.target)
    if args.write_baseline:
        rows = [{"file": f, "code": c, "message": m, "count": n} for (f, c, m), n in sorted(current.items())]
        BASELINE.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"typecheck_gate: baseline written with {sum(current.values())} accepted errors -> {BASELINE}")
        return 0
    accepted: Counter[tuple[str, str, str]] = Counter()
    if BASELINE.exists():
        for row in json.loads(BASELINE.read_text()):
            accepted[(row["file"], row["code"], row["message"])] = int(row["count"])
    new = current - accepted
    fixed = accepted - current
    for (file, code, message), count in sorted(new.items()):
        print(f"NEW  {file}: [{code}] {message}" + (f" (x{count})" if count > 1 else ""))
    if fixed:
        print(f"typecheck_gate: {sum(fixed.values())} baseline errors are gone: run --write-baseline to shrink it")
    verdict = "FAIL" if new else "PASS"
    print(f"typecheck_gate: {verdict}: {sum(current.values())} errors, {sum(new.values())} new vs baseline")
    return 1 if new else 0


if __name__ == "__main__":
    raise SystemExit(main())
