"""Python packages the profile requires (and optional ones), read from installed metadata only."""

from __future__ import annotations

from importlib import metadata

from tg.checks.base import CheckResult, Verdict


def check_dependencies(required: list[str], optional: list[str]) -> CheckResult:
    report: dict[str, dict[str, object]] = {}
    for name in [*required, *[n for n in optional if n not in required]]:
        try:
            version: str | None = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = None
        report[name] = {"installed": version is not None, "version": version, "required": name in required}
    missing = [n for n in required if not report[n]["installed"]]
    if missing:
        return CheckResult(
            "dependencies", Verdict.fail, "required packages missing: " + ", ".join(missing), {"packages": report}
        )
    return CheckResult("dependencies", Verdict.ok, f"{len(required)} required packages installed", {"packages": report})
