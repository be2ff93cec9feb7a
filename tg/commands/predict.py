"""`tg predict SYMBOL [--as-of DATE]`: the current model's answer for one stock (analysis only)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from tg.checks.data import exchange_calendar
from tg.config.loader import LoadedConfig
from tg.data.dates import parse_date
from tg.data.extension import extension_dir
from tg.models.universe import configured_data_dir
from tg.ops.model_refusals import refusals_audited

log = logging.getLogger(__name__)


@dataclass
class PredictResult:
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return self.data

    def table(self) -> Any:
        from rich.table import Table

        d = self.data
        p = d["probabilities"]
        stale = " (STALE data)" if d["data"]["stale"] else ""
        title = (
            f"{d['symbol']} as of {d['as_of']}{stale}: {d['signal']} (confidence {d['confidence']:.2f}), "
            f"P(up) {p['up']:.2f} P(flat) {p['flat']:.2f} P(down) {p['down']:.2f}\n"
            f"last close {d['last_close']:.2f}, expected {d['horizon']}-day return {d['expected_return'] * 100:+.2f}%"
        )
        if not d["expected_return_informative"]:
            title += " (no edge found in calibration: the period's mean, the same for every stock)"
        for warning in d.get("warnings", []):
            title += f"\nwarning: {warning}"
        table = Table(
            title=title,
            title_justify="left",
            caption=f"model {d['model']['version']}; analysis only, not investment advice",
            caption_justify="left",
        )
        for column in ("date", "q10", "q50", "q90"):
            table.add_column(column, justify="right")
        for row in d["forecast"]:
            table.add_row(row["date"], f"{row['q10']:.2f}", f"{row['q50']:.2f}", f"{row['q90']:.2f}")
        return table


def run_predict(loaded: LoadedConfig, symbol: str, as_of_text: str | None) -> PredictResult:
    from tg.models.predictor import Predictor

    as_of = parse_date(as_of_text, "--as-of")
    with refusals_audited(loaded):
        predictor = Predictor(
            loaded.path("models"),
            configured_data_dir(loaded.cfg.data.root, loaded.root),
            extension_dir=extension_dir(loaded),
            exchange=exchange_calendar(loaded),
        )
    answer = predictor.predict(symbol, as_of).data
    log.info(
        "predict %s as of %s: %s with model %s (last bar %s%s) in %s ms",
        answer["symbol"],
        answer["as_of"],
        answer["signal"],
        answer["model"]["version"],
        answer["data"]["last_bar_date"],
        ", stale" if answer["data"]["stale"] else "",
        answer["latency_ms"],
    )
    return PredictResult(answer)
