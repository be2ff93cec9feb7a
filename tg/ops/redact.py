"""Remove secrets (proxy credentials, API keys) from anything shown, logged or archived."""

from __future__ import annotations

import re
from typing import Any

MASK = "***"
SECRET_KEY = re.compile(r"(api_key|apikey|password|passwd|secret|token|access_key)$", re.IGNORECASE)
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
