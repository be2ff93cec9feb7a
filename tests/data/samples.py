"""Recorded API bodies from tests/fixtures/api-samples, without their `# ` provenance header."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "api-samples"


def sample(name: str) -> bytes:
    """The body of `api-samples/<name>`: the original bytes after the leading `# ` header lines."""
    lines = (SAMPLES / name).read_bytes().splitlines(keepends=True)
    while lines and lines[0].startswith(b"# "):
        lines.pop(0)
    return b"".join(lines)


def sample_lines(name: str) -> list[bytes]:
    """Each non-empty body line: files holding several recorded responses keep one per line."""
    return [line for line in sample(name).splitlines() if line.strip()]
