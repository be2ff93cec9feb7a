"""Compose the configuration with Hydra's compose API (not `@hydra.main`), once per process.

Heavy: imports hydra/omegaconf (~0.2 s). Hot commands reach it only on a cache miss
(`tg.config.loader`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from tg.errors import ConfigError

SCHEMA_NAME = "tg_schema"
PRIMARY = "config"


def config_dir() -> Path:
    """The config tree: `TG_CONFIG_DIR`, else the copy inside the installed package, else the checkout's."""
    explicit = os.environ.get("TG_CONFIG_DIR")
    if explicit:
        return Path(explicit).resolve()
    package = Path(__file__).resolve().parent.parent
    shipped = package / "conf"
    if (shipped / f"{PRIMARY}.yaml").is_file():
        return shipped
    return package.parent / "conf"


def merge_overrides(*layers: list[str]) -> list[str]:
    """Concatenate override layers, a later layer replacing an earlier one for the same key."""
    merged: dict[str, str] = {}
    for layer in layers:
        for override in layer:
            key = override.split("=", 1)[0].lstrip("+~")
            merged.pop(key, None)
            merged[key] = override
    return list(merged.values())


def compose_container(overrides: list[str], conf_dir: Path | None = None, resolve: bool = True) -> dict[str, Any]:
    """Compose `config.yaml` with `overrides`; return the plain container (enums as str)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from tg.config.schema import AppConfig

    directory = conf_dir or config_dir()
    primary = directory / f"{PRIMARY}.yaml"
    if not primary.is_file():
        raise ConfigError(f"config tree not found: {primary} does not exist")
    if not os.access(primary, os.R_OK):
        raise ConfigError(f"cannot read {primary}: permission denied")
    ConfigStore.instance().store(name=SCHEMA_NAME, node=AppConfig)
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(directory), version_base="1.3"):
            cfg = compose(PRIMARY, overrides=overrides)
        container = OmegaConf.to_container(cfg, resolve=resolve, enum_to_str=True)
    except (HydraException, OmegaConfBaseException, YAMLError, OSError, ValueError) as exc:
        raise ConfigError(describe(exc)) from exc
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


def describe(exc: BaseException) -> str:
    """One line from a Hydra/OmegaConf error chain: what failed and the key it names."""
    parts: list[str] = []
    seen: BaseException | None = exc
    while seen is not None and len(parts) < 3:
        lines = [ln.strip() for ln in str(seen).splitlines() if ln.strip()]
        head = lines[0] if lines else seen.__class__.__name__
        key = next((ln.split(":", 1)[1].strip() for ln in lines if ln.startswith("full_key:")), "")
        options = _available_options(lines)
        if options:
            head = f"{head} (available: {', '.join(options)})"
        if any("To append to your config use" in ln for ln in lines):
            head = head.rstrip(".") + ": no such key"
        if key and key not in head:
            head = f"{head} [key: {key}]"
        if head not in parts and "$VALUE" not in head:
            parts.append(head)
        seen = seen.__cause__ or seen.__context__
    return "configuration error: " + "; ".join(parts)


def _available_options(lines: list[str]) -> list[str]:
    """The choices Hydra lists after 'Available options in ...' for a missing group option."""
    for i, line in enumerate(lines):
        if line.startswith("Available options in"):
            rest = lines[i + 1 :]
            end = next((j for j, ln in enumerate(rest) if ln.startswith("Config search path")), len(rest))
            return rest[:end]
    return []
