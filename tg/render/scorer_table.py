"""The table `tg train` and `tg evaluate` print: each scorer's figures side by side with the baselines."""

from __future__ import annotations

from typing import Any

import numpy as np

COLUMNS = ("scorer", "RankIC", "RkICIR", "acc", "logloss", "ECE", "excess", "IR")  # IC and more: --json


def fmt(value: Any, pct: bool = False) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "-"
    return f"{value * 100:+.1f}%" if pct else f"{value:.3f}"


def scorer_table(title: str, caption: str, rows: list[dict[str, Any]]) -> Any:
    """A rich table of `Evaluation.table()` rows."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", caption=caption, caption_justify="left")
    table.add_column(COLUMNS[0], no_wrap=True, min_width=11)  # the names must stay readable at 80 columns
    for column in COLUMNS[1:]:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row["name"],
            *(fmt(row[k]) for k in ("rank_ic", "rank_icir", "accuracy", "log_loss", "ece")),
            fmt(row["annual_excess_return"], pct=True),
            fmt(row["information_ratio"]),
        )
    return table
