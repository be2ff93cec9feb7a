"""A compact, versioned, pickle-free byte format for one `BarSet` (what the caches store).

Layout: one JSON header line (UTF-8, ending in `\\n`), then the body:

    {"format": "tg-barset", "version": 1, "symbol": "600519.SH", "source": ..., "adjustment": ...,
     "fetched_at": ISO-8601, "length": n, "fields": ["open", ..., "amount"(, "factor")], "crc32": c}\\n
    int64[n]            dates as days since 1970-01-01, little-endian
    float64[n] × fields one array per name in "fields", in that order, little-endian

`crc32` covers the body, so a flipped byte is caught as well as a short read. Decoding never
executes anything from the payload: the header is JSON, the body is raw numbers.
"""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from typing import Any

import numpy as np

from tg.data.bars import FIELDS, BarSet
from tg.data.symbols import Symbol
from tg.errors import DataError

FORMAT = "tg-barset"
VERSION = 1
_DAYS = np.dtype("<i8")
_VALUES = np.dtype("<f8")
# A header is a few hundred bytes; the cap stops a garbage payload without newline being scanned whole.
_MAX_HEADER = 4096


def encode_barset(bars: BarSet) -> bytes:
    """Serialise `bars` (NaN amounts and the optional factor included) to bytes."""
    names = [*FIELDS, "factor"] if bars.factor is not None else list(FIELDS)
    parts = [np.ascontiguousarray(bars.dates.astype("datetime64[D]").astype(_DAYS)).tobytes()]
    parts += [np.ascontiguousarray(np.asarray(getattr(bars, name), dtype=_VALUES)).tobytes() for name in names]
    body = b"".join(parts)
    header = {
        "format": FORMAT,
        "version": VERSION,
        "symbol": bars.symbol.canonical,
        "source": bars.source,
        "adjustment": bars.adjustment,
        "fetched_at": bars.fetched_at.isoformat(),
        "length": len(bars),
        "fields": names,
        "crc32": zlib.crc32(body),
    }
    return json.dumps(header, separators=(",", ":")).encode("utf-8") + b"\n" + body


def decode_barset(data: bytes) -> BarSet:
    """Parse bytes from `encode_barset`; DataError when they are truncated, corrupt or another format."""
    header, body = _split(data)
    n = header["length"]
    names = header["fields"]
    expected = n * _DAYS.itemsize + n * _VALUES.itemsize * len(names)
    if len(body) != expected:
        raise DataError(
            f"cached bar set for {header['symbol']} is truncated: body has {len(body)} bytes, expected {expected}"
        )
    if zlib.crc32(body) != header["crc32"]:
        raise DataError(f"cached bar set for {header['symbol']} is corrupt: checksum mismatch")
    days = np.frombuffer(body, dtype=_DAYS, count=n)
    columns: dict[str, np.ndarray] = {}
    offset = n * _DAYS.itemsize
    for name in names:
        # astype copies into native order, so the BarSet never shares (read-only) memory with `data`
        columns[name] = np.frombuffer(body, dtype=_VALUES, count=n, offset=offset).astype(np.float64)
        offset += n * _VALUES.itemsize
    try:
        code, exchange = header["symbol"].split(".")
        return BarSet(
            symbol=Symbol(code, exchange),
            source=header["source"],
            adjustment=header["adjustment"],
            dates=days.astype("datetime64[D]"),
            fetched_at=datetime.fromisoformat(header["fetched_at"]),
            factor=columns.get("factor"),
            **{name: columns[name] for name in FIELDS},
        )
    except (ValueError, TypeError, AttributeError) as exc:
        raise DataError(f"cached bar set for {header['symbol']!r} is invalid: {exc}") from exc


def _split(data: bytes) -> tuple[dict[str, Any], bytes]:
    """The validated JSON header and the raw body."""
    end = data.find(b"\n", 0, _MAX_HEADER)
    if end < 0:
        raise DataError(f"cached bar set is not in {FORMAT} format (no header line in {len(data)} bytes)")
    try:
        header = json.loads(data[:end].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"cached bar set is not in {FORMAT} format: unreadable header ({exc})") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise DataError(f"cached bar set is not in {FORMAT} format")
    if header.get("version") != VERSION:
        raise DataError(f"cached bar set has {FORMAT} version {header.get('version')!r}; this tg reads {VERSION}")
    fields = header.get("fields")
    valid_fields = fields in (list(FIELDS), [*FIELDS, "factor"])
    if not (
        valid_fields
        and isinstance(header.get("length"), int)
        and header["length"] >= 0
        and isinstance(header.get("crc32"), int)
        and all(isinstance(header.get(k), str) for k in ("symbol", "source", "adjustment", "fetched_at"))
    ):
        raise DataError(f"cached bar set header is incomplete or malformed: {data[:end][:200]!r}")
    return header, data[end + 1 :]
