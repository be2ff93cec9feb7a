"""`ServerState`: what one `tg serve` process keeps alive between requests.

The model watch (and the warm predictor it loads), the market data chain with its memory/Redis
cache and per-source circuit breakers, the metrics registry, the recovery metrics, and the recent
predictions shown on the dashboard. In a CLI command these objects live for one call; here they
live for the process, which is where caches and breakers start to matter.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tg import __version__
from tg.checks.base import CheckResult, Verdict
from tg.checks.data import check_data, exchange_calendar
from tg.config.loader import LoadedConfig, load_config
from tg.data.extension import extension_dir
from tg.data.market import MarketData
from tg.errors import ArtifactError, DataError, UnknownSymbol
from tg.ops.json_safe import strict_json
from tg.ops.metrics import OPERATIONS, TgMetrics, counted
from tg.ops.recovery import RecoveryMetrics
from tg.server.model_watch import ModelWatch
from tg.server.readiness import ConfigWatch, Readiness, check_model, readiness
from tg.server.shared_answers import SharedAnswers

log = logging.getLogger(__name__)

LAST_ANSWERS = 1024  # symbols whose last good answer is kept for the stale fallback
MAX_ANSWERS = 4096  # rendered answers in the 5-second cache (expired ones are dropped first)


class ServerState:
    """Long-lived parts of the server, built from the loaded config."""

    def __init__(
        self, loaded: LoadedConfig, overrides: list[str], metrics: TgMetrics, recovery: RecoveryMetrics
    ) -> None:
        from tg.models.universe import configured_data_dir

        self.loaded = loaded
        self.overrides = overrides
        self.metrics = metrics
        self.recovery = recovery
        serve = loaded.cfg.serve
        self.started_at = time.time()
        self._data_dir = configured_data_dir(loaded.cfg.data.root, loaded.root)
        self.watch = ModelWatch(loaded.path("models"), self._load_predictor, serve.readiness_interval_s)
        self.calendar = exchange_calendar(loaded)
        self._data_check: CheckResult | None = None
        self.config = ConfigWatch(lambda: load_config(overrides, cwd=loaded.cwd), self._config_files)
        self.recent: deque[dict[str, Any]] = deque(maxlen=serve.recent_predictions)
        self._last_answers: OrderedDict[tuple[str, str | None], dict[str, Any]] = OrderedDict()
        # (canonical symbol, as_of) -> (expires at, model generation, rendered answer); read by the event loop
        self._answers: dict[tuple[str, str | None], tuple[float, int, bytes]] = {}
        self._market: MarketData | None = None
        self._market_lock = threading.Lock()
        # the predictor keeps caches that are not thread-safe: one thread runs every prediction
        self.predict_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tg-predict")
        self._answers_lock = threading.Lock()
        self.shared = SharedAnswers.configured(loaded)  # cache=redis: answers other replicas computed
        self._ready: Readiness | None = None
        self._stop = threading.Event()
        self._monitor: threading.Thread | None = None
        import psutil

        self.process = psutil.Process()
        self.process.cpu_percent(interval=None)  # the first call starts the measurement
        from tg.data.factory import source_order

        metrics.prepare(source_order(loaded))
        self._prediction_hits = metrics.cache_hits.labels("predictions")
        self._install_gauges()

    # ---- the model -------------------------------------------------------------------------

    def _load_predictor(self) -> Any:
        from tg.models.predictor import Predictor

        return Predictor(
            self.loaded.path("models"),
            self._data_dir,
            metrics=self.metrics,
            cache_seconds=0,  # the server keeps the answer cache (rendered bytes), see cached_answer
            recovery=self.recovery,
            extension_dir=extension_dir(self.loaded),
            exchange=self.calendar,
        )

    def _config_files(self) -> list[Path]:
        """What the composed config is made of: every file of the tree, and `.env` in the working dir."""
        return [*sorted(p for p in self.loaded.conf_dir.rglob("*.yaml")), self.loaded.cwd / ".env"]

    def check_readiness(self) -> Readiness:
        """Every readiness check from the state on disk (blocking: hashes changed model files)."""
        model = check_model(self.watch)
        inspection = self.watch.inspection
        manifest = inspection.manifest if inspection is not None else None
        data = check_data(self.loaded, manifest, self.loaded.path("models"), calendar=self.calendar)
        self._data_check = data
        self._ready = readiness(model, data, self.config.check())
        return self._ready

    @property
    def ready(self) -> Readiness:
        """The latest readiness verdict (kept current by the monitor thread; computed if none yet)."""
        return self._ready or self.check_readiness()

    def start(self) -> None:
        """Check readiness now, then every `serve.readiness_interval_s` in a background thread, so
        probes, scrapes and the dashboard read a current verdict without waiting for a re-hash."""
        self.check_readiness()
        interval = max(self.loaded.cfg.serve.readiness_interval_s, 0.05)

        def monitor() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check_readiness()
                except Exception as exc:  # a bug: say not-ready with the reason instead of freezing the verdict
                    log.exception("readiness check failed")
                    failed = CheckResult("readiness", Verdict.fail, f"readiness could not be computed: {exc}")
                    self._ready = Readiness(False, [failed])

        self._monitor = threading.Thread(target=monitor, name="tg-readiness", daemon=True)
        self._monitor.start()

    def cached_answer(self, symbol: str, as_of: str | None) -> bytes | None:
        """The rendered answer for `symbol` (any spelling) and `as_of` while it is younger than
        `serve.predict_cache_s` and the model has not changed since; None otherwise (no I/O: the
        event loop calls it for every prediction request)."""
        began = time.perf_counter()
        canonical = _canonical(symbol)
        hit = self._answers.get((canonical, as_of)) if canonical is not None else None
        if hit is None or hit[0] < time.monotonic() or hit[1] != self.watch.generation:
            return None
        self._prediction_hits.inc()
        self.metrics.prediction_latency.observe(time.perf_counter() - began)
        return hit[2]

    def predict(self, symbol: str, as_of: str | None) -> bytes:
        """The current model's answer as JSON (blocking; runs on the prediction thread). When the
        model cannot answer, the last good answer for the symbol comes back marked stale."""
        from tg.data.dates import parse_date
        from tg.data.symbols import parse_symbol

        cached = self.cached_answer(symbol, as_of)
        if cached is not None:
            return cached
        canonical = parse_symbol(symbol).canonical  # a bad spelling is a usage error, never stale
        day = parse_date(as_of, "as_of")
        began = time.perf_counter()
        self.watch.refresh()
        generation, predictor = self.watch.generation, self.watch.predictor
        shared = self._shared_answer(predictor, canonical, as_of, generation, began)
        if shared is not None:
            return shared
        self.metrics.cache_lookup("predictions", hit=False)
        try:
            if predictor is None:
                inspection = self.watch.inspection
                reason = (inspection.refused if inspection else "") or self.watch.load_error or "no model loaded"
                raise ArtifactError(reason)
            answer = predictor.predict(symbol, day)
        except UnknownSymbol:
            raise
        except (ArtifactError, DataError) as exc:
            if predictor is None:  # the predictor records its own failures
                self.metrics.record_operation(
                    self.recovery, "predict", False, time.perf_counter() - began, error=str(exc)
                )
            stale = self._stale_answer((canonical, as_of), str(exc))
            if stale is None:
                raise
            return strict_json(stale)
        self._remember((canonical, as_of), answer.data)
        self.recent.appendleft(_brief({**answer.data, "cached": False}))
        ttl = self.loaded.cfg.serve.predict_cache_s
        if ttl > 0:
            if len(self._answers) >= MAX_ANSWERS:
                now = time.monotonic()
                self._answers = {k: v for k, v in self._answers.items() if v[0] >= now}
            cached_body = strict_json({**answer.data, "cached": True, "stale": False})
            self._answers[(canonical, as_of)] = (time.monotonic() + ttl, generation, cached_body)
            if self.shared is not None:
                self.shared.put(predictor.version, canonical, as_of, cached_body)
        return strict_json({**answer.data, "cached": False, "stale": False})

    def _shared_answer(
        self, predictor: Any, canonical: str, as_of: str | None, generation: int, began: float
    ) -> bytes | None:
        """The answer another replica computed with the same model version (cache=redis), kept here too."""
        if self.shared is None or predictor is None:
            return None
        body = self.shared.get(predictor.version, canonical, as_of)
        if body is None:
            return None
        self._prediction_hits.inc()
        self._answers[(canonical, as_of)] = (time.monotonic() + self.shared.ttl_s, generation, body)
        self.metrics.prediction_latency.observe(time.perf_counter() - began)
        return body

    def _remember(self, key: tuple[str, str | None], answer: dict[str, Any]) -> None:
        """Keep the last good answer per symbol for the stale fallback."""
        with self._answers_lock:
            self._last_answers[key] = answer
            self._last_answers.move_to_end(key)
            while len(self._last_answers) > LAST_ANSWERS:
                self._last_answers.popitem(last=False)

    def _stale_answer(self, key: tuple[str, str | None], reason: str) -> dict[str, Any] | None:
        with self._answers_lock:
            last = self._last_answers.get(key)
        if last is None:
            return None
        stale = {**last, "cached": True, "stale": True, "stale_reason": f"the model cannot answer now: {reason}"}
        self.recent.appendleft(_brief(stale))
        return stale

    # ---- market data ---------------------------------------------------------------------------

    def market(self) -> MarketData:
        """The market data chain, built on first use (resolving the network mode may probe)."""
        with self._market_lock:
            if self._market is None:
                from tg.data.factory import build_market

                self._market = build_market(self.loaded, metrics=self.metrics, recovery=self.recovery)
            return self._market

    def bars(self, symbol: str, start: str | None, end: str | None, limit: int) -> dict[str, Any]:
        from tg.data.dates import parse_date
        from tg.data.symbols import parse_symbol

        parsed = parse_symbol(symbol)
        first, last = parse_date(start, "start"), parse_date(end, "end")
        answer = self.market().daily_bars(parsed, first, last, self.loaded.cfg.source.adjustment)
        bars = answer.bars
        return {
            "symbol": parsed.canonical,
            "source": bars.source,
            "adjustment": bars.adjustment,
            "cache": answer.cache,
            "store": answer.store,
            "refresh_error": answer.refresh_error,
            "rows": len(bars),
            "quarantined": len(answer.quarantined),
            "bars": bars.tail(limit).records(),
        }

    # ---- the dashboard -------------------------------------------------------------------------

    def dashboard(self) -> dict[str, Any]:
        """Everything the dashboard page shows (blocking: readiness may re-hash a changed model)."""
        ready = self.ready
        process = self.process
        with process.oneshot():
            cpu = process.cpu_times()
            memory = process.memory_info()
            threads = process.num_threads()
            cpu_percent = process.cpu_percent(interval=None)
        predictor = self.watch.predictor
        inspection = self.watch.inspection
        model: dict[str, Any] = {"loaded": predictor is not None}
        if inspection is not None and inspection.manifest is not None:
            raw = inspection.manifest.raw
            model.update(
                version=inspection.manifest.version,
                trained_at=inspection.manifest.trained_at,
                members=raw.get("members"),
                holdout=raw.get("metrics"),
                age_seconds=_age(inspection.manifest.trained_at),
            )
        if not model["loaded"]:
            model["reason"] = (inspection.refused if inspection else "") or self.watch.load_error
        return {
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "version": __version__,
            "uptime_seconds": round(time.time() - self.started_at, 1),
            "process": {
                "pid": os.getpid(),
                "cpu_seconds": round(cpu.user + cpu.system, 2),
                "cpu_percent": cpu_percent,
                "memory_rss_bytes": memory.rss,
                "threads": threads,
            },
            "readiness": ready.to_dict(verbose=True),
            "model": model,
            "sources": self._sources(),
            "cache": self._cache_stats(),
            "recovery": {"summary": self.recovery.get_summary(), "health": self.recovery.get_health()},
            "recent_predictions": list(self.recent),
        }

    def _sources(self) -> dict[str, Any]:
        from tg.data.factory import source_order

        market = self._market
        if market is None:  # no bars requested yet: the chain is built on first use
            return {"order": source_order(self.loaded), "built": False, "sources": []}
        return {"order": market.order, "built": True, "sources": market.chain.health()}

    def _cache_stats(self) -> dict[str, Any]:
        bars = self._market.cache.stats() if self._market is not None else None
        return {
            "bars": bars,
            "predictions": {
                "hits": int(counted(self.metrics.cache_hits, cache="predictions")),
                "misses": int(counted(self.metrics.cache_misses, cache="predictions")),
                "hit_ratio": self.metrics.cache_ratio("predictions"),
                "ttl_seconds": self.loaded.cfg.serve.predict_cache_s,
            },
        }

    # ---- scrape-time gauges ----------------------------------------------------------------------

    def _install_gauges(self) -> None:
        gauges = self.metrics.gauges
        gauges.provide("tg_model_age_seconds", self._model_age)
        gauges.provide("tg_data_last_bar_age_seconds", self._data_age)
        gauges.provide("tg_data_sessions_behind", self._sessions_behind)
        gauges.provide("tg_ready", lambda: {(): 1.0 if self.ready.ready else 0.0})
        gauges.provide(
            "tg_cache_hit_ratio",
            lambda: {
                (cache,): ratio
                for cache in ("bars", "predictions")
                if (ratio := self.metrics.cache_ratio(cache)) is not None
            },
            ("cache",),
        )
        gauges.provide(
            "tg_consecutive_failures",
            lambda: {
                (op,): float(n)
                for op, n in {**dict.fromkeys(OPERATIONS, 0), **self.recovery.consecutive_failures()}.items()
            },
            ("operation",),
        )
        gauges.provide(
            "tg_operation_success_ratio",
            lambda: {(op,): ratio for op, ratio in self.recovery.success_ratio().items()},
            ("operation",),
        )

    def _model_age(self) -> dict[tuple[str, ...], float]:
        inspection = self.watch.inspection
        if inspection is None or inspection.manifest is None:
            return {}
        age = _age(inspection.manifest.trained_at)
        return {} if age is None else {(): age}

    def _sessions_behind(self) -> dict[tuple[str, ...], float]:
        check = self._data_check
        behind = check.data.get("sessions_behind") if check is not None else None
        return {} if behind is None else {(): float(str(behind))}

    def _data_age(self) -> dict[tuple[str, ...], float]:
        """Seconds since the close of the last bar the models read (as of the last readiness check)."""
        from datetime import date

        from tg.data.freshness import bar_age_seconds

        check = self._data_check
        last = check.data.get("last_bar") if check is not None else None
        return {} if last is None else {(): bar_age_seconds(date.fromisoformat(str(last)))}

    def close(self) -> None:
        """Finish: the monitor stopped, no new predictions, recovery records flushed."""
        self._stop.set()
        if self._monitor is not None:
            self._monitor.join(timeout=5)
        self.predict_pool.shutdown(wait=True, cancel_futures=True)
        self.recovery.close()


@functools.lru_cache(maxsize=4096)
def _canonical(text: str) -> str | None:
    """`600519.SH` for any accepted spelling (None for what is not a symbol): one cache entry per stock."""
    from tg.data.symbols import parse_symbol
    from tg.errors import UsageError

    try:
        return parse_symbol(text).canonical
    except UsageError:
        return None


def _brief(answer: dict[str, Any]) -> dict[str, Any]:
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "symbol": answer.get("symbol"),
        "as_of": answer.get("as_of"),
        "signal": answer.get("signal"),
        "confidence": answer.get("confidence"),
        "probabilities": answer.get("probabilities"),
        "latency_ms": answer.get("latency_ms"),
        "cached": answer.get("cached"),
        "stale": answer.get("stale", False),
    }


def _age(trained_at: str) -> float | None:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(trained_at)).total_seconds()
    except (TypeError, ValueError):
        return None
