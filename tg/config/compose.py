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


# nodes of parts chosen as a list of options (`model/members=[gbm,linear]`), not set as a value
CHOSEN_AS_GROUP = {"model.members": "model/members"}


def _refuse_value_for_group(overrides: list[str]) -> None:
    for override in overrides:
        key, _, value = override.partition("=")
        key = key.lstrip("+~")
        group = CHOSEN_AS_GROUP.get(key)
        if group and value.startswith("["):
            raise ConfigError(f"configuration error: {key}: members are chosen as a group: {group}={value}")


# config groups whose `name` is the option chosen (`model=fast` → model.name "fast"), set here from Hydra's choice
NAMED_BY_CHOICE = {"model": "name", "profile": "name", "source": "name", "deploy": "target"}


def name_by_choice(container: dict[Any, Any], choices: Any) -> None:
    """Set each NAMED_BY_CHOICE key from the option Hydra chose (the option files do not repeat their names)."""
    for group, key in NAMED_BY_CHOICE.items():
        if isinstance(container.get(group), dict) and choices.get(group):
            container[group][key] = choices[group]


def compose_container(overrides: list[str], conf_dir: Path | None = None, resolve: bool = True) -> dict[str, Any]:
    """Compose `config.yaml` with `overrides`; return the plain container (enums as str)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.config_store import ConfigStore
    from hydra.core.global_hydra import GlobalHydra
    from hydra.errors import HydraException
    from omegaconf import OmegaConf, open_dict
    from omegaconf.errors import OmegaConfBaseException
    from yaml import YAMLError

    from tg.config.schema import AppConfig

    _refuse_value_for_group(overrides)
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
            cfg = compose(PRIMARY, overrides=overrides, return_hydra_config=True)
        choices = OmegaConf.to_container(cfg.hydra.runtime.choices)
        with open_dict(cfg):
            del cfg["hydra"]
        container = OmegaConf.to_container(cfg, resolve=resolve, enum_to_str=True)
        assert isinstance(container, dict) and isinstance(choices, dict)
        name_by_choice(container, choices)
    except (HydraException, OmegaConfBaseException, YAMLError, OSError, ValueError) as exc:
        raise ConfigError(describe(exc, directory, overrides)) from exc
    finally:
        GlobalHydra.instance().clear()
    assert isinstance(container, dict)
    return {str(k): v for k, v in container.items()}


def describe(exc: BaseException, conf_dir: Path | None = None, overrides: list[str] | None = None) -> str:
    """One line from a Hydra/OmegaConf/YAML error chain, built from the exceptions' attributes: the key
    (`full_key`) and OmegaConf's message, the missing option and its alternatives, the override that does not
    parse, or the file and line of a YAML syntax error; a key unknown to the schema names the file that sets it."""
    from hydra.errors import MissingConfigException, OverrideParseException
    from omegaconf.errors import OmegaConfBaseException
    from yaml import MarkedYAMLError

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    for error in chain:
        if isinstance(error, MissingConfigException):
            what = error.missing_cfg_file or "a config"
            available = error.options or _group_options(conf_dir, what)
            options = f" (available: {', '.join(available)})" if available else ""
            return f"configuration error: no config {what!r}{options}"
        if isinstance(error, OverrideParseException):
            detail = _first_line(getattr(error, "message", "") or str(error))
            return f"configuration error: cannot parse override {error.override!r}: {detail}"
        if isinstance(error, MarkedYAMLError):
            where = _yaml_file(conf_dir) or "a config file"
            mark = error.problem_mark
            line = f":{mark.line + 1}" if mark is not None else ""
            return f"configuration error: {where}{line}: YAML syntax error: {error.problem or error.context}"
        if isinstance(error, OmegaConfBaseException) and getattr(error, "full_key", None):
            message = _first_line(error.msg or "")
            overridden = {o.split("=", 1)[0].lstrip("+~") for o in overrides or []}
            origin = None if str(error.full_key) in overridden else _file_setting(conf_dir, str(error.full_key))
            return f"configuration error: {error.full_key}: {message}" + (f" (set in {origin})" if origin else "")
    return f"configuration error: {_first_line(str(exc)) or exc.__class__.__name__}"


def _group_options(conf_dir: Path | None, missing: str) -> list[str]:
    """The options of the group of a missing `group/option` (Hydra does not list them for a list of options)."""
    group = (conf_dir or config_dir()) / missing.rpartition("/")[0]
    return sorted(path.stem for path in group.glob("*.yaml")) if "/" in missing and group.is_dir() else []


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _yaml_files(conf_dir: Path | None) -> list[Path]:
    return sorted((conf_dir or config_dir()).rglob("*.yaml"))


def _yaml_file(conf_dir: Path | None) -> str | None:
    """The config file that does not parse (the YAML error itself does not say: Hydra loads from a stream)."""
    import yaml

    for path in _yaml_files(conf_dir):
        try:
            yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError:
            return str(path)
        except OSError:
            continue
    return None


def _file_setting(conf_dir: Path | None, full_key: str) -> str | None:
    """The config file that sets `full_key` (`network.bogus` in network/*.yaml or config.yaml), if one does."""
    import yaml

    group, _, rest = full_key.partition(".")
    directory = conf_dir or config_dir()
    for path in _yaml_files(conf_dir):
        relative = path.relative_to(directory)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, OSError):
            continue
        if not isinstance(data, dict):
            continue
        if len(relative.parts) == 1:  # config.yaml: `group:` holds the node
            node = data.get(group)
        elif relative.parts[0] == group:  # <group>/<option>.yaml: the file is the node
            node = data
        else:
            continue
        if isinstance(node, dict) and rest and rest.split(".")[0] in node:
            return str(path)
    return None
