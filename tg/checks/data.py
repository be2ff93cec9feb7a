"""Data freshness: the last bar the models read against the last session that has closed.

One check for `tg health`, `tg doctor` and the server's `/readyz`: the data directory the models read
(`data.root`, else the current model's, else the embedded subset) plus the newer days `tg data
update` stitched onto it, counted in the exchange's sessions (XSHG) at the time in Asia/Shanghai.
`profile.max_data_lag_sessions` sets the allowed lag (0: reported, not gated). Standard library
only (the health budget).
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tg.checks.base import CheckResult, Verdict
from tg.config.loader import LoadedConfig
from tg.data.exchange_calendar import ExchangeCalendar, load_calendar
from tg.data.freshness import data_end, embedded_root, freshness
from tg.models.manifest import Manifest


def models_data_dir(loaded: LoadedConfig, model_dir: Path | None) -> Path:
    """The directory the models read: `data.root`, else the one the current model was trained on,
    else the embedded subset (the same rule as `tg predict`)."""
    if loaded.cfg.data.root:
        root = Path(loaded.cfg.data.root)
        return root if root.is_absolute() else loaded.root / root
    if model_dir is not None:
        try:
            recorded = json.loads((model_dir / "meta.json").read_text(encoding="utf-8"))["data"]["root"]
            if recorded != "embedded":
                return Path(recorded)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # an unreadable model is the models check's finding; the data is then the embedded subset
    return embedded_root()


def exchange_calendar(loaded: LoadedConfig, build: bool = True) -> ExchangeCalendar:
    """The exchange calendar, cached under `paths.cache` when that directory exists (never created
    here); `build=False` (health, doctor) never imports exchange-calendars (pandas)."""
    cache = loaded.path("cache")
    return load_calendar(cache if cache.is_dir() else None, build)


def check_data(
    loaded: LoadedConfig,
    manifest: Manifest | None,
    models_dir: Path,
    now: datetime | None = None,
    calendar: ExchangeCalendar | None = None,
) -> CheckResult:
    """ok within the profile's allowed lag (or when it is not gated); warn beyond it; fail when the
    data's calendar cannot be read."""
    model_dir = models_dir / manifest.version if manifest is not None else None
    base = models_data_dir(loaded, model_dir)
    extension = loaded.path("data") / "extension" if loaded.cfg.data.extend else None
    end = data_end(base, extension)
    if end is None:
        return CheckResult("data", Verdict.fail, f"cannot read the calendar of {base}")
    fresh = freshness(end, calendar or exchange_calendar(loaded, build=False), now)
    allowed = loaded.cfg.profile.max_data_lag_sessions
    data = {"dir": str(base), **fresh.to_dict(), "max_lag_sessions": allowed}
    limit = f"allowed {allowed}" if allowed else "not gated by this profile"
    detail = (
        f"last bar {end}, {fresh.sessions_behind} session(s) behind the close of {fresh.last_closed} "
        f"({fresh.calendar['calendar']}, known until {fresh.calendar['known_until']}; {limit})"
    )
    if allowed and fresh.sessions_behind > allowed:
        return CheckResult("data", Verdict.warn, "stale: " + detail + " — run `tg data update`", data)
    return CheckResult("data", Verdict.ok, detail, data)
