"""The API key of `tg serve` (compared in constant time) and who counts as local."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Mapping


def key_matches(headers: Mapping[str, str], api_key: str) -> bool:
    """True when the request carries `api_key` as `X-API-Key` or `Authorization: Bearer` (lower-case
    header names)."""
    supplied = headers.get("x-api-key", "")
    if not supplied:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        supplied = token if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(supplied.encode(), api_key.encode())


def loopback(host: str) -> bool:
    """True for a loopback client address (127.0.0.0/8, ::1)."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
