"""The ONE table mapping the playbook's `TRADING_*` variables (and `.env`) onto config overrides.

Precedence (lowest first): config defaults < `.env` < process environment < command line.
Every variable becomes a Hydra override string; `tg.config.compose` applies them in that order.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tg.errors import ConfigError

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class EnvVar:
    """One playbook variable: either a value for `key`, or (when truthy) a config-group choice."""

    name: str
    key: str
    group_choice: str | None = None  # e.g. key="network", group_choice="vpn"
    secret: bool = False
    description: str = ""


ENV_TABLE: tuple[EnvVar, ...] = (
    EnvVar("TRADING_MODE", "mode", description="simulation | live (neither can trade)"),
    EnvVar("TRADING_MODEL_DIR", "paths.models", description="model artifacts directory"),
    EnvVar("TRADING_LOG_LEVEL", "logging.level", description="DEBUG | INFO | WARNING | ERROR"),
    EnvVar("TRADING_METRICS_ENABLED", "serve.metrics_enabled", description="expose /metrics in tg serve"),
    EnvVar("TRADING_METRICS_PORT", "serve.port", description="tg serve port"),
    EnvVar("TRADING_METRICS_HOST", "serve.host", description="tg serve bind address"),
    EnvVar("TRADING_METRICS_API_KEY", "serve.api_key", secret=True, description="API key for tg serve"),
    EnvVar("TRADING_VPN", "network", group_choice="vpn", description="1: route every request through the proxy"),
    EnvVar("TRADING_PROXY_URL", "network.proxy_url", secret=True, description="proxy for vpn mode"),
    EnvVar("TRADING_CHINA_DIRECT", "network", group_choice="china_direct", description="1: direct, no proxy"),
    EnvVar("TRADING_CONNECTION_TIMEOUT", "network.timeout_s", description="per-request timeout, seconds"),
    EnvVar("TRADING_PRIMARY_SOURCE", "source.primary", description="source tried first"),
    EnvVar("TRADING_MAX_MEMORY_CACHE_MB", "cache.memory_max_mb", description="in-memory cache byte cap"),
)

_BY_NAME = {var.name: var for var in ENV_TABLE}


def parse_dotenv(text: str, source: str = ".env") -> dict[str, str]:
    """Parse `KEY=VALUE` lines (`export`, comments and quotes allowed); malformed lines are errors."""
    values: dict[str, str] = {}
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").isalnum() or key[0].isdigit():
            # the line itself is not echoed: it may hold a credential
            raise ConfigError(f"{source} line {lineno}: malformed, expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        elif value[:1] in "'\"":
            raise ConfigError(f"{source} line {lineno}: unterminated quote in value of {key}")
        else:
            value = value.split(" #", 1)[0].rstrip()
        values[key] = value
    return values


def read_dotenv(path: Path) -> dict[str, str]:
    """Read a `.env` file if it exists; an unreadable one is a configuration error."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read .env file ({exc.__class__.__name__}: {exc})") from exc
    return parse_dotenv(text, source=str(path))


def overrides_from(values: Mapping[str, str], source: str, strict: bool) -> list[str]:
    """Translate `TRADING_*` values into Hydra overrides.

    `strict` (for `.env` files) makes an unknown `TRADING_*` name an error: it is almost
    certainly a typo. In the process environment unknown names are ignored.
    """
    overrides: list[str] = []
    for name, value in values.items():
        if not name.startswith("TRADING_"):
            continue
        var = _BY_NAME.get(name)
        if var is None:
            if strict:
                known = ", ".join(sorted(_BY_NAME))
                raise ConfigError(f"{source}: unknown variable {name} (known: {known})")
            continue
        if var.group_choice is not None:
            flag = value.strip().lower()
            if flag not in TRUE_WORDS | FALSE_WORDS:
                raise ConfigError(f"{source}: {name} must be 0/1 (or true/false), got {value!r}")
            if flag in TRUE_WORDS:
                overrides.append(f"{var.key}={var.group_choice}")
            continue
        overrides.append(f"{var.key}={quote(value)}")
    return overrides


def env_overrides(project_root: Path, environ: Mapping[str, str] | None = None) -> list[str]:
    """Overrides from `<root>/.env` then from the environment, in precedence order."""
    return [override for override, _ in labelled_env_overrides(project_root, environ)]


def labelled_env_overrides(project_root: Path, environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """Like `env_overrides`, each paired with where it came from (`.env` or `environment`)."""
    env = os.environ if environ is None else environ
    dotenv = read_dotenv(project_root / ".env")
    return [(o, ".env") for o in overrides_from(dotenv, ".env", strict=True)] + [
        (o, "environment") for o in overrides_from(env, "environment", strict=False)
    ]


def quote(value: str) -> str:
    """Quote a raw string for Hydra's override grammar (typed fields still convert it).

    In a quoted Hydra string only backslashes before a quote or at the end are escapes, and
    `${` would start an OmegaConf interpolation, so those are the characters escaped here.
    """
    out: list[str] = []
    i = 0
    while i < len(value):
        j = i
        while j < len(value) and value[j] == "\\":
            j += 1
        run = value[i:j]
        if run:
            at_quote_or_end = j == len(value) or value[j] == "'"
            out.append(run * 2 if at_quote_or_end else run)
            i = j
            continue
        char = value[i]
        out.append("\\'" if char == "'" else "\\${" if value.startswith("${", i) else char)
        i += 2 if value.startswith("${", i) else 1
    return "'" + "".join(out) + "'"
