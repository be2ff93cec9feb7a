"""The config check: the configuration composed and validated, or the one error that stopped it."""

from __future__ import annotations

from tg.checks.base import CheckResult, Verdict
from tg.config.loader import LoadedConfig
from tg.errors import ConfigError


def check_config(loaded: LoadedConfig, error: ConfigError | None) -> CheckResult:
    if error is not None:
        return CheckResult("config", Verdict.fail, str(error))
    return CheckResult("config", Verdict.ok, f"valid (config tree {loaded.conf_dir})")
