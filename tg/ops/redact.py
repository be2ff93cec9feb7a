"""Remove secrets (proxy credentials, API keys) from anything shown, logged or archived."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
SECRET_KEY = re.compile(r"(api_key|apikey|password|passwd|secret|token|access_key)$", re.IGNORECASE)
SECRET_WORDS = ("PASSWORD", "SECRET", "TOKEN", "API_KEY")  # in a .env variable's name: its value is a secret
ENV_ASSIGNMENT = re.compile(r"(?P<lead>\s*(?:export\s+)?)(?P<key>[A-Za-z_][A-Za-z0-9_.]*)(?P<eq>\s*=\s*)(?P<value>.*)")
URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*)(:[^/@\s]*)?@")


def redact_url(text: str) -> str:
    """`http://user:pass@host` → `http://user:***@host`; text without credentials is unchanged."""
    return URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)


def redact(value: Any, key: str = "") -> Any:
    """A copy of `value` with secret-named keys masked and URL credentials removed."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str):
        if SECRET_KEY.search(key) and value:
            return MASK
        return redact_url(value)
    return value


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key)) or any(word in key.upper() for word in SECRET_WORDS)


def mask_env(data: bytes) -> tuple[bytes, int]:
    """A `.env` file with secret-named values replaced by `***` and URL credentials removed, and how many
    lines that changed."""
    lines, count = [], 0
    for line in data.decode("utf-8", "surrogateescape").splitlines(keepends=True):
        body = line.rstrip("\r\n")
        match = ENV_ASSIGNMENT.fullmatch(body)
        if match and match["value"].strip() and is_secret_key(match["key"]):
            masked = f"{match['lead']}{match['key']}{match['eq']}{MASK}"
        else:
            masked = redact_url(body)
        count += masked != body
        lines.append(masked + line[len(body) :])
    return "".join(lines).encode("utf-8", "surrogateescape"), count
