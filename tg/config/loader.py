"""Load the typed config for one command: env table + overrides, Hydra compose, validation, cache.

Composing with Hydra costs ~0.2 s, too slow for `tg health` (target 0.15 s in all). The resolved,
validated container is therefore cached under the user cache directory, keyed by everything that
can change it: the tg version and config-code files, every file of the config tree (content), the
`.env` and `TRADING_*` derived overrides, the command-line overrides, the working directory, the
installed Hydra and OmegaConf, and the value of every variable an `${oc.env:...}` in the tree reads
(any other resolver disables the cache). Any change to one of those is a different key, so a cached
entry is never stale. Entries hold no secrets (they are re-read from the environment on a hit) and
are read only when owned by the user and writable by nobody else.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import stat
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tg import __version__
from tg.config.compose import compose_container, config_dir, merge_overrides
from tg.config.environment import ENV_TABLE, env_overrides, read_dotenv
from tg.config.home import project_home
from tg.config.schema import AppConfig
from tg.config.typed import build
from tg.config.validate import check_targets, validate
from tg.errors import ConfigError

log = logging.getLogger(__name__)
CACHE_KEEP = 64


@dataclass(frozen=True)
class LoadedConfig:
    """A composed, validated configuration and where it came from."""

    cfg: AppConfig
    container: dict[str, Any]
    conf_dir: Path
    cwd: Path
    cache_hit: bool

    @property
    def root(self) -> Path:
        """The project root every relative path is resolved against."""
        return (self.cwd / self.cfg.paths.root).resolve()

    def path(self, name: str) -> Path:
        """Absolute path of a `paths.<name>` directory."""
        value = Path(getattr(self.cfg.paths, name))
        return value if value.is_absolute() else self.root / value


def load_config(
    cli_overrides: list[str] | None = None,
    *,
    cwd: Path | None = None,
    environ: dict[str, str] | None = None,
    use_cache: bool | None = None,
) -> LoadedConfig:
    """Compose, validate and type the configuration for one command invocation."""
    env = dict(os.environ) if environ is None else environ
    here = project_home(cwd or Path.cwd(), env)
    cli = list(cli_overrides or [])
    conf = config_dir()
    overrides = merge_overrides(env_overrides(here, env), cli)
    if use_cache is None:
        use_cache = env.get("TG_CONFIG_CACHE", "1") not in ("0", "false", "no")
    cache_file = _cache_file(conf, here, overrides, env) if use_cache else None
    if cache_file is not None:
        cached = _read_cache(cache_file, lambda: env_secrets(here, env))
        if cached is not None:
            return LoadedConfig(cached[0], cached[1], conf, here, cache_hit=True)
    try:
        loaded = loaded_from_container(compose_container(overrides, conf), conf, here)
    except ConfigError as exc:
        if cli and _composes_without(cli, conf, here, env):
            raise ConfigError(str(exc), from_command_line=True) from exc
        raise
    if cache_file is not None:
        _write_cache(cache_file, loaded.container, env_secrets(here, env))
    return loaded


def loaded_from_container(container: dict[str, Any], conf_dir: Path, cwd: Path) -> LoadedConfig:
    """A composed container (by `load_config`, or by Hydra for one job of `tg sweep`'s multirun): targets checked,
    typed and validated; `cwd` is the project root its relative paths are resolved against."""
    check_targets(container)
    cfg = _typed(container)
    validate(cfg)
    return LoadedConfig(cfg, container, conf_dir, cwd, cache_hit=False)


def _typed(container: dict[str, Any]) -> AppConfig:
    try:
        return build(AppConfig, container)
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"configuration error: {exc}") from exc


def _composes_without(cli: list[str], conf: Path, cwd: Path, env: dict[str, str]) -> bool:
    """True when the installed config is fine and only the command-line overrides break it."""
    try:
        container = compose_container(merge_overrides(env_overrides(cwd, env)), conf)
        validate(_typed(container))
    except ConfigError:
        return False
    return True


def cache_dir(env: dict[str, str]) -> Path:
    """Where composed configs are cached: `TG_CACHE_DIR`, else `$XDG_CACHE_HOME/tg`, else ~/.cache/tg."""
    if env.get("TG_CACHE_DIR"):
        return Path(env["TG_CACHE_DIR"])
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tg"


# `${oc.env:NAME}` (and `${oc.env:NAME,default}`) in a config file: the variable's value is part of the key
_ENV_INTERPOLATION = re.compile(rb"\$\{oc\.env:([A-Za-z_][A-Za-z0-9_]*)")
# any other resolver could read outside state the key does not cover: such a config tree is never cached
_OTHER_RESOLVER = re.compile(rb"\$\{(?!oc\.env:)[A-Za-z_][\w.]*:")


def _cache_file(conf: Path, cwd: Path, overrides: list[str], env: dict[str, str]) -> Path | None:
    """The entry for this composition, keyed by everything that can change it (module docstring); None when
    there must be no cache: an unreadable config file, or a resolver other than `oc.env`."""
    digest = hashlib.sha256()
    digest.update(f"{__version__}\0{conf}\0{cwd}\0".encode())
    digest.update(json.dumps(overrides).encode())
    code = Path(__file__).resolve().parent
    try:
        for path in sorted(code.glob("*.py")):
            info = path.stat()
            digest.update(f"{path.name}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
        for package in ("hydra", "omegaconf"):  # an upgrade of either can compose differently
            digest.update(f"{package}\0{_installed(package)}\0".encode())
        for dirpath, dirnames, filenames in os.walk(conf):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(dirpath) / name
                text = path.read_bytes()
                if _OTHER_RESOLVER.search(text):
                    return None
                digest.update(str(path.relative_to(conf)).encode() + b"\0" + text + b"\0")
                for variable in sorted(set(_ENV_INTERPOLATION.findall(text))):
                    value = env.get(variable.decode())
                    digest.update(variable + b"=" + (b"\1" + value.encode() if value is not None else b"\0") + b"\0")
    except OSError:
        return None  # an unreadable config file: compose without the cache and report it
    return cache_dir(env) / f"config-{digest.hexdigest()[:32]}.json"


def _installed(package: str) -> str:
    """Identity of an installed package without importing it: its `__init__.py`'s path, size and mtime."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return "absent"
    info = os.stat(spec.origin)
    return f"{spec.origin}\0{info.st_size}\0{info.st_mtime_ns}"


def env_secrets(project_root: Path, env: Mapping[str, str]) -> dict[str, str]:
    """The secret config values the environment and `.env` give ({config key: value}), process environment
    first, as `env_overrides` applies them."""
    dotenv = read_dotenv(project_root / ".env")
    found = {}
    for var in ENV_TABLE:
        if var.secret:
            value = env.get(var.name, dotenv.get(var.name))
            if value:
                found[var.key] = value
    return found


def _trusted(path: Path) -> bool:
    """A cache entry is read only when it and its directory belong to this user and nobody else may write them
    (another user's planted entry would otherwise become our config)."""
    try:
        for item, forbidden in ((path.parent, 0o022), (path, 0o077)):
            info = os.lstat(item)
            if info.st_uid != os.getuid() or info.st_mode & forbidden or stat.S_ISLNK(info.st_mode):
                return False
    except OSError:
        return False
    return True


def _read_cache(path: Path, secrets: Callable[[], dict[str, str]]) -> tuple[AppConfig, dict[str, Any]] | None:
    if not _trusted(path):
        if path.exists():
            log.debug("ignoring config cache %s: not owned by this user or writable by others", path)
        return None
    try:
        entry = json.loads(path.read_text(encoding="utf-8"))
        container = entry["container"]
        if entry["secrets_from_env"]:
            given = secrets()
            for key in entry["secrets_from_env"]:
                if key not in given:
                    return None
                section, name = key.split(".")
                container[section][name] = given[key]
        return build(AppConfig, container), container
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError, ConfigError) as exc:
        log.debug("ignoring unusable config cache %s: %s", path, exc)
        return None


def _write_cache(path: Path, container: dict[str, Any], secrets: dict[str, str]) -> None:
    """Write the entry without secret values: each is re-read from the environment on a hit. A secret that
    came from elsewhere (a config file, the command line) cannot be, so that composition is not cached."""
    from tg.ops.atomic import atomic_write_text

    stored = json.loads(json.dumps(container))
    from_env = []
    for var in ENV_TABLE:
        if not var.secret:
            continue
        section, name = var.key.split(".")
        value = stored.get(section, {}).get(name)
        if not value:
            continue
        if secrets.get(var.key) != value:
            log.debug("config not cached: %s is set by a config file or the command line", var.key)
            return
        stored[section][name] = ""
        from_env.append(var.key)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write_text(path, json.dumps({"container": stored, "secrets_from_env": from_env}), mode=0o600)
        entries = sorted(path.parent.glob("config-*.json"), key=lambda p: p.stat().st_mtime)
        for old in entries[:-CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        log.debug("config cache not written (%s): composing every time", exc)


def fallback_config(cli_overrides: list[str] | None = None, cwd: Path | None = None) -> LoadedConfig:
    """For health/doctor to keep checking the rest when the config is broken: the config tree with only the
    command-line overrides (so `profile=strict` still applies when `.env` or a `TRADING_*` variable is what is
    broken), else the schema's defaults."""
    from tg.config.typed import to_plain

    try:
        here = project_home(cwd or Path.cwd(), os.environ)
    except ConfigError:
        here = (cwd or Path.cwd()).resolve()
    conf = config_dir()
    try:
        container = compose_container(merge_overrides([], list(cli_overrides or [])), conf)
        check_targets(container)
        cfg = _typed(container)
        validate(cfg)
        return LoadedConfig(cfg, container, conf, here, cache_hit=False)
    except ConfigError:
        cfg = AppConfig()
        return LoadedConfig(cfg, to_plain(cfg), conf, here, cache_hit=False)
