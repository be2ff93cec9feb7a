"""`tg data update [--universe U] [--since D] [--through D]`: the newer days of a universe, stitched into
the extension store (see `tg.data.update`), with one summary line per outcome class."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg.config.loader import LoadedConfig
from tg.data.dates import parse_date
from tg.data.symbols import Symbol, parse_symbol
from tg.data.update import OUTCOMES, SymbolOutcome, UpdateReport
from tg.errors import EXIT_FAILED, EXIT_OK, ArtifactError, DataError, UsageError
from tg.models.manifest import META_FILE, current_version_dir
from tg.models.universe import configured_data_dir, data_root, resolve_universe, trained_data_dir
from tg.render.progress import count_progress

BENCHMARK = "SH000300"
SHOWN = 8  # symbols named per outcome line before "…"


@dataclass
class UpdateResult:
    report: UpdateReport
    base: Path
    extension: Path
    calendar: dict[str, str]

    @property
    def exit_code(self) -> int:
        return EXIT_FAILED if self.report.failed else EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        r = self.report
        return {
            "through": str(r.through),
            "calendar": self.calendar,
            "base": str(self.base),
            "extension": str(self.extension),
            "seconds": round(r.seconds, 2),
            "counts": {name: len(r.of(name)) for name in OUTCOMES},
            "symbols": [o.__dict__ for o in r.outcomes],
        }

    def text(self) -> str:
        r = self.report
        lines = [f"tg data update through {r.through} ({self.calendar['calendar']}), {r.seconds:.1f} s:"]
        lines.append(f"updated {len(r.of('updated'))}")
        lines.append(f"already current {len(r.of('current'))}")
        stale = r.of("stale")
        lines.append(f"stale {len(stale)}" + (": " + _named(stale, with_detail=True) if stale else ""))
        failed = r.of("failed")
        lines.append(f"failed {len(failed)}" + (": " + _named(failed, with_detail=True) if failed else ""))
        return "\n".join(lines)


def _named(outcomes: list[SymbolOutcome], with_detail: bool) -> str:
    shown = [f"{o.symbol} ({o.detail})" if with_detail and o.detail else o.symbol for o in outcomes[:SHOWN]]
    return "; ".join(shown) + (f"; … {len(outcomes) - SHOWN} more" if len(outcomes) > SHOWN else "")


def run_update(
    loaded: LoadedConfig, universe: str | None, since: str | None, through: str | None, show_progress: bool
) -> UpdateResult:
    """Fetch what is missing for every symbol of the universe (default: the current model's)."""
    from tg.data.exchange_calendar import load_calendar
    from tg.data.extension import Extension, extension_root
    from tg.data.update import DataUpdate
    from tg.ops.metrics import process_metrics
    from tg.ops.recovery import get_recovery_metrics

    since_day = parse_date(since, "--since")
    calendar = load_calendar(loaded.path("cache"))
    last_day = parse_date(through, "--through") or calendar.last_closed_session(datetime.now(UTC))
    base, symbols = update_scope(loaded, universe)
    extension = Extension(extension_root(loaded.path("data")), base)
    cfg = loaded.cfg.update
    runner = DataUpdate(update_chain(loaded), extension, calendar, cfg.concurrency, cfg.deadline_s)
    began = time.perf_counter()
    with count_progress(show_progress, "update", len(symbols)) as advance:
        report = runner.run(symbols, last_day, since_day, advance)
    failed = report.of("failed")
    process_metrics().record_operation(
        get_recovery_metrics(),
        "update",
        not failed,
        time.perf_counter() - began,
        error=f"{len(failed)} symbol(s) failed: {_named(failed, with_detail=False)}" if failed else None,
    )
    return UpdateResult(report, base, extension.root, calendar.describe())


def update_chain(loaded: LoadedConfig) -> Any:
    """The configured remote sources in order (the local directory is the base, not a source here),
    with the per-source request rate of `update.rate_per_source`."""
    from tg.data.chain import SourceChain
    from tg.data.factory import build_sources

    sources = [s for s in build_sources(loaded) if s.name != "local"]
    if not sources:
        raise UsageError(
            f"source.order {list(loaded.cfg.source.order)} has no remote source to update from: "
            "use source=remote (or tencent, eastmoney, sina)"
        )
    net = loaded.cfg.network
    return SourceChain(
        sources,
        retries=net.retries,
        backoff_s=net.backoff_s,
        breaker_failures=net.breaker_failures,
        breaker_reset_s=net.breaker_reset_s,
        rate_per_source=loaded.cfg.update.rate_per_source,
    )


def update_scope(loaded: LoadedConfig, universe: str | None) -> tuple[Path, list[Symbol]]:
    """The base directory and the symbols to update: the current model's universe (and the benchmark)
    unless `--universe` names `all`, an instruments file of the base, or symbols `600519,000858`."""
    meta = _current_meta(loaded)
    configured = configured_data_dir(loaded.cfg.data.root, loaded.root)
    base = configured or (trained_data_dir(meta) if meta else data_root("", loaded.root))
    if universe is None or universe == "model":
        names = list(meta["data"]["universe"]) if meta else resolve_universe(base, loaded.cfg.data.universe)
    elif "," in universe or universe[:1].isdigit() or universe[:2].lower() in ("sh", "sz", "bj"):
        names = [parse_symbol(item.strip()).qlib for item in universe.split(",") if item.strip()]
    else:
        try:
            names = resolve_universe(base, universe)
        except DataError as exc:
            raise UsageError(f"--universe {universe}: {exc}") from exc
    if names is None:  # every stock of the base
        from tg.data.local import LocalSource

        names = [s.qlib for s in LocalSource(base).instruments() if not s.is_index]
    if not names:
        raise UsageError(f"--universe {universe!r} names no stock")
    symbols = [parse_symbol(name) for name in dict.fromkeys([*names, BENCHMARK])]
    return base, symbols


def _current_meta(loaded: LoadedConfig) -> dict[str, Any] | None:
    try:
        model_dir = current_version_dir(loaded.path("models"))
        if model_dir is None:
            return None
        meta: dict[str, Any] = json.loads((model_dir / META_FILE).read_text(encoding="utf-8"))
        return meta
    except (OSError, ValueError, ArtifactError):
        return None
