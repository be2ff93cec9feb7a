"""Canonical A-share symbols and every accepted spelling.

Canonical form: 6-digit code + exchange, written `600519.SH`. Accepted: `600519`, `sh600519`,
`SH600519`, `600519.SH`, `1.600519` (Eastmoney secid: 1 = SH, 0 = SZ/BJ), and the index aliases
below. Anything else is a `UsageError` naming the input.

Indices vs stocks (the `000300` question): a BARE code is always a stock and its exchange comes
from its prefix (60/68/90 → SH, 00/30/20 → SZ, 4/8/92 → BJ), so `000300` means the SZ stock
000300. An index needs its exchange spelled out — `SH000300`, `000300.SH`, `1.000300` — or an
alias (`CSI300`). On SH every `000xxx` code is an index; on SZ every `399xxx` code is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tg.errors import UsageError

EXCHANGES = ("SH", "SZ", "BJ")
ALIASES = {
    "CSI300": ("000300", "SH"),
    "HS300": ("000300", "SH"),
    "SSE": ("000001", "SH"),
    "SZSE": ("399001", "SZ"),
    "CHINEXT": ("399006", "SZ"),
}
_PREFIX_EXCHANGE = (
    (("60", "68", "90"), "SH"),
    (("00", "30", "20"), "SZ"),
    (("43", "83", "87", "88", "92", "4", "8"), "BJ"),
)
_FORMS = (
    re.compile(r"^(?P<code>\d{6})$"),
    re.compile(r"^(?P<ex>sh|sz|bj)(?P<code>\d{6})$", re.IGNORECASE),
    re.compile(r"^(?P<code>\d{6})\.(?P<ex>sh|sz|bj)$", re.IGNORECASE),
    re.compile(r"^(?P<secid>[01])\.(?P<code>\d{6})$"),
)


@dataclass(frozen=True, order=True)
class Symbol:
    """One instrument: `code` (6 digits) on `exchange` (SH, SZ, BJ)."""

    code: str
    exchange: str

    @property
    def is_index(self) -> bool:
        return (self.exchange == "SH" and self.code.startswith("000")) or (
            self.exchange == "SZ" and self.code.startswith("399")
        )

    @property
    def canonical(self) -> str:
        return f"{self.code}.{self.exchange}"

    @property
    def qlib(self) -> str:
        """Instrument name in Qlib files (`SH600519`); feature dirs use its lower case."""
        return f"{self.exchange}{self.code}"

    @property
    def prefixed(self) -> str:
        """Tencent / Sina spelling: `sh600519`."""
        return f"{self.exchange.lower()}{self.code}"

    @property
    def secid(self) -> str:
        """Eastmoney spelling: `1.600519` (1 = SH, 0 = SZ and BJ)."""
        return f"{1 if self.exchange == 'SH' else 0}.{self.code}"

    def __str__(self) -> str:
        return self.canonical


def exchange_for_code(code: str) -> str | None:
    """The exchange a bare stock code belongs to, from its prefix."""
    for prefixes, exchange in _PREFIX_EXCHANGE:
        if code.startswith(prefixes):
            return exchange
    return None


def parse_symbol(text: str) -> Symbol:
    """Parse any accepted spelling into a `Symbol`; UsageError otherwise."""
    raw = text.strip()
    if raw.upper() in ALIASES:
        code, exchange = ALIASES[raw.upper()]
        return Symbol(code, exchange)
    for form in _FORMS:
        match = form.match(raw)
        if not match:
            continue
        code = match["code"]
        groups = match.groupdict()
        if groups.get("ex"):
            return Symbol(code, groups["ex"].upper())
        if groups.get("secid") is not None:
            if groups["secid"] == "1":
                return Symbol(code, "SH")
            exchange = "BJ" if exchange_for_code(code) == "BJ" else "SZ"
            return Symbol(code, exchange)
        bare = exchange_for_code(code)
        if bare is None:
            raise UsageError(f"symbol {text!r}: code {code} belongs to no A-share exchange")
        return Symbol(code, bare)
    raise UsageError(
        f"symbol {text!r} not understood: use 600519, sh600519, 600519.SH, 1.600519 (indices: SH000300 or CSI300)"
    )
