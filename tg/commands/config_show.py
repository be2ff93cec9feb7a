"""`tg config show`: the composed configuration and which overrides produced it (secrets masked)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tg.config.compose import compose_container, merge_overrides
from tg.config.environment import labelled_env_overrides
from tg.config.loader import LoadedConfig
from tg.ops.redact import redact


@dataclass
class ConfigView:
    config: dict[str, Any]
    applied: list[tuple[str, str]]  # (override, source), secrets masked
    resolved: bool

    def to_dict(self) -> dict[str, Any]:
        return self.config

    def text(self) -> str:
        import yaml

        lines = [f"# config tree: resolved={str(self.resolved).lower()}"]
        lines += [f"# {source}: {override}" for override, source in self.applied] or ["# no overrides"]
        return "\n".join(lines) + "\n" + yaml.safe_dump(self.config, sort_keys=False)


def run_config_show(loaded: LoadedConfig, cli_overrides: list[str], resolve: bool) -> ConfigView:
    """Re-compose (unresolved unless `resolve`) the already-validated config for display."""
    labelled = labelled_env_overrides(loaded.cwd)
    labelled += [(o, "command line") for o in cli_overrides]
    final = merge_overrides([o for o, _ in labelled])
    applied = [(o, s) for o, s in labelled if o in final]
    container = loaded.container if resolve else compose_container(final, loaded.conf_dir, resolve=False)
    return ConfigView(redact(container), [(_mask_override(o), s) for o, s in applied], resolve)


def _mask_override(override: str) -> str:
    key, sep, value = override.partition("=")
    return key + sep + str(redact(value, key.rsplit(".", 1)[-1]))
