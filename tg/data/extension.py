"""The extension store: days newer than the base Qlib directory, on the base's own price scale.

The base data (`data.root`, or the embedded subset) is back-adjusted: price = raw × a cumulative
factor that rises at each dividend or split. A source's adjusted series is scaled differently (qfq
is anchored on today's price), so its numbers cannot be appended. Instead the new days are stitched
from the source's UNADJUSTED bars and a factor carried across the seam:

    f(t) = f(t-1) × Q(t) / Q(t-1)   when the source's adjustment ratio Q = qfq / raw moved
    f(t) = f(t-1)                   otherwise (rounding noise of 3-decimal quotes is not an event)

starting from the factor of the anchor — the last day the base (or the extension) already holds —
so a dividend on the first new day lowers the raw price and raises the factor: the back-adjusted
close stays continuous. The anchor day is fetched again and must match the stored raw close: a
different series (wrong symbol, wrong units) is refused, as is a seam jump beyond the board's
daily limit.

Stored under `paths.data/extension/` with the bar store (Qlib layout, kill-safe per symbol), as
`hfq` bars with their factor. `base.json` names the base the factors continue; an extension made
for another base is ignored (with a warning), never mixed in.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from tg.data.bar_store import BarStore
from tg.data.bars import BarSet
from tg.data.freshness import BASE_FILE, base_identity, continues
from tg.data.qlib_layout import is_qlib_dir, read_calendar
from tg.data.symbols import Symbol
from tg.data.validation import JUMP_MARGIN, price_limit, validate_bars
from tg.errors import DataError
from tg.ops.atomic import atomic_write_text

if TYPE_CHECKING:
    from tg.config.loader import LoadedConfig

log = logging.getLogger(__name__)

EVENT_TOLERANCE = 1e-3  # a move of the qfq/raw ratio beyond this is a corporate action, not rounding
ANCHOR_TOLERANCE = 0.005  # the source's raw close on the anchor day must match the stored one this closely


@dataclass(frozen=True)
class Anchor:
    """The last day already held for a symbol: its raw close and cumulative factor."""

    day: date
    raw_close: float
    factor: float


def extension_root(data_dir: Path) -> Path:
    """Where the extension of an installation lives: `paths.data/extension`."""
    return data_dir / "extension"


def extension_dir(loaded: LoadedConfig) -> Path | None:
    """The installation's extension directory, or None when `data.extend` is off (models then read
    the data directory alone)."""
    return extension_root(loaded.path("data")) if loaded.cfg.data.extend else None


def extension_of(loaded: LoadedConfig, base: Path) -> Extension | None:
    """The installation's extension of `base` (None when `data.extend` is off)."""
    directory = extension_dir(loaded)
    return Extension(directory, base) if directory is not None else None


class Extension:
    """Newer days of a base Qlib directory, kept in the bar store at `root`."""

    def __init__(self, root: Path, base: Path) -> None:
        self.root = Path(root)
        self.base = Path(base)
        self.store = BarStore(self.root)
        self._usable: tuple[object, bool] | None = None  # (marker file signature, verdict)

    def usable(self) -> bool:
        """True when the store holds days stitched onto this base (False when empty or for another base);
        decided again only when `base.json` changes (a long-running server sees a first update)."""
        marker = self.root / BASE_FILE
        try:
            st = marker.stat()
            signature: object = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            signature = None
        if self._usable is None or self._usable[0] != signature:
            self._usable = (signature, signature is not None and self._check_base())
        return self._usable[1]

    def _check_base(self) -> bool:
        return continues(self.root, self.base)

    def claim(self) -> None:
        """Record this base as the one the store continues; a store made for another base is emptied first."""
        identity = base_identity(self.base)
        marker = self.root / BASE_FILE
        if marker.is_file() and not self._check_base():
            log.warning("extension %s was made for another data directory: starting it again", self.root)
            _empty(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write_text(marker, json.dumps({"base": str(self.base), "calendar_sha256": identity}) + "\n")
        self._usable = None

    def load(self, symbol: Symbol) -> BarSet | None:
        """The symbol's stitched bars (None when it has none, or the store is for another base)."""
        return self.store.load(symbol) if self.usable() else None

    def calendar(self) -> np.ndarray:
        """The days the extension holds for this base (empty when unusable)."""
        if not self.usable() or not is_qlib_dir(self.root):
            return np.array([], dtype="datetime64[D]")
        return read_calendar(self.root, "extension")


def stitch(anchor: Anchor, raw: BarSet, adjusted: BarSet | None) -> BarSet:
    """The bars of `raw` after the anchor day, back-adjusted on the anchor's factor (see module doc).

    `adjusted` (qfq or hfq from the same or another source) tells where corporate actions fall;
    without it no action can be known and the factor is carried unchanged. DataError when the
    source's anchor day does not match the stored one, or the seam jumps beyond the daily limit.
    """
    day = np.datetime64(anchor.day, "D")
    new = raw.dates > day
    if not new.any():
        return raw.select(new)
    at = np.flatnonzero(raw.dates == day)
    if not len(at):
        raise DataError(
            f"{raw.source}: {raw.symbol} bars do not include {anchor.day}, the last stored day: "
            "the factor cannot be carried across the seam, not stitched"
        )
    if abs(raw.close[at[0]] / anchor.raw_close - 1) > ANCHOR_TOLERANCE:
        raise DataError(
            f"{raw.source}: {raw.symbol} closed at {raw.close[at[0]]:.3f} on {anchor.day} by this source but "
            f"{anchor.raw_close:.3f} in the stored data: not the same series, not stitched"
        )
    f = _carried_factors(anchor, raw, adjusted)[new]
    prices = {name: getattr(raw, name)[new] * f for name in ("open", "high", "low", "close")}
    bars = BarSet(
        raw.symbol,
        raw.source,
        "hfq",
        raw.dates[new],
        volume=raw.volume[new],
        amount=raw.amount[new],
        fetched_at=raw.fetched_at,
        factor=f,
        **prices,
    )
    limit = price_limit(bars)
    first = anchor.raw_close * anchor.factor
    if limit is not None and abs(bars.close[0] / first - 1) > limit + JUMP_MARGIN:
        raise DataError(
            f"{raw.source}: {raw.symbol} would move {bars.close[0] / first - 1:+.1%} from {anchor.day} to "
            f"{bars.dates[0]} across the seam (limit {limit:.0%}): an adjustment is missing, not stitched"
        )
    clean, quarantined = validate_bars(bars)
    for q in quarantined:
        log.warning("extension: %s %s quarantined: %s", raw.symbol, q.date, q.reason)
    return clean


def _carried_factors(anchor: Anchor, raw: BarSet, adjusted: BarSet | None) -> np.ndarray:
    """The cumulative factor on each day of `raw`, starting from the anchor's."""
    ratio = np.ones(len(raw))
    if adjusted is not None and len(adjusted):
        index = {d: i for i, d in enumerate(adjusted.dates)}
        for i, d in enumerate(raw.dates):
            j = index.get(d)
            if j is not None:
                # the median over O/H/L/C damps the rounding of 3-decimal quotes
                ratios = [getattr(adjusted, f)[j] / getattr(raw, f)[i] for f in ("open", "high", "low", "close")]
                ratio[i] = float(np.nanmedian(ratios))
            else:
                ratio[i] = np.nan
    factors = np.empty(len(raw))
    factor, previous = anchor.factor, None
    day = np.datetime64(anchor.day, "D")
    for i in range(len(raw)):
        current = ratio[i] if np.isfinite(ratio[i]) else previous
        if raw.dates[i] > day and previous is not None and current is not None:
            step = current / previous
            if abs(step - 1) > EVENT_TOLERANCE:
                factor *= step
        previous = current if current is not None else previous
        factors[i] = factor
    return factors


def anchor_of(base_bars: BarSet | None, extended: BarSet | None, since: date | None = None) -> Anchor | None:
    """The last traded day held for a symbol (extension first, then base), at or before `since` when
    given. A day with no volume (a suspension the data repeats the last close on) is no anchor: the
    sources have no bar for it."""
    for bars in (extended, base_bars):
        held = None if bars is None else (bars if since is None else bars.between(None, since))
        if held is None or held.factor is None:
            continue
        traded = np.flatnonzero(held.volume > 0)
        if len(traded):
            i = int(traded[-1])
            f = float(held.factor[i])
            return Anchor(held.dates[i].astype(object), float(held.close[i] / f), f)
    return None


def _empty(root: Path) -> None:
    import shutil

    for child in root.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        else:
            child.unlink()
