"""Strict JSON: NaN and infinities become null (Python's json writes them as bare NaN, which is not JSON)."""

from __future__ import annotations

import math
from typing import Any


def finite(value: Any) -> Any:
    """`value` with every non-finite float (numpy scalars included) replaced by None, recursively."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if hasattr(value, "item") and hasattr(value, "dtype"):  # a numpy scalar
        return finite(value.item())
    return value


def strict_json(value: Any) -> bytes:
    """Compact UTF-8 JSON of `value` with non-finite numbers as null (the server's response bodies)."""
    import json

    return json.dumps(finite(value), allow_nan=False, separators=(",", ":"), default=str).encode()
