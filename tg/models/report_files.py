"""The files `tg evaluate` writes beside report.json: predictions.csv (every scored stock and day, suspension
days marked) and the two plots (equity.png: top-k vs the benchmark; calibration.png: P(up) reliability)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np

from tg.ops.atomic import atomic_write_bytes, atomic_write_text


def write_predictions(path: Path, result: Any, panel: Any) -> None:
    """One row per scored stock and date, and one (marked `tradable` 0, no figures) per day a listed stock of the
    universe had no bar in the window (a suspension), sorted by date and symbol."""
    p = result.prediction
    last = p.quantiles[:, -1, :]
    rows: list[tuple[str, str, list[str]]] = []
    for i in range(len(result.symbols)):
        figures = [f"{p.score[i]:.8g}", f"{p.probs[i, 2]:.5f}", f"{p.probs[i, 1]:.5f}", f"{p.probs[i, 0]:.5f}"]
        figures += [f"{p.expected_return[i]:.6f}", f"{last[i, 0]:.6f}", f"{last[i, 1]:.6f}", f"{last[i, 2]:.6f}"]
        rows.append((str(result.dates[i]), result.symbols[i], [*figures, "1"]))
    first, final = (np.datetime64(day, "D") for day in result.window)
    inside = (panel.dates >= first) & (panel.dates <= final)
    suspended = inside[None, :] & panel.listed & ~panel.tradable & np.isfinite(panel.held_close)
    for n, t in zip(*np.nonzero(suspended), strict=True):
        rows.append((str(panel.dates[t]), panel.symbols[n], [""] * 8 + ["0"]))
    rows.sort(key=lambda row: (row[0], row[1]))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    # `score`: the ensemble's raw ranking score (what the backtest ranks by), so any peer can score it
    header = ["date", "symbol", "score", "p_up", "p_flat", "p_down", "expected_return", "q10", "q50", "q90"]
    writer.writerow([*header, "tradable"])
    writer.writerows([day, symbol, *figures] for day, symbol, figures in rows)
    atomic_write_text(path, buffer.getvalue())


def plot_report(out: Path, result: Any, benchmark: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 4.5))
    for name, bt in result.backtests.items():
        ax.plot(np.cumprod(1 + bt.daily_return), label=f"top-k by {name} (after costs)")
    ax.plot(np.cumprod(1 + next(iter(result.backtests.values())).benchmark_return), label=benchmark, color="black")
    ax.set_title(f"Top-k equity {result.window[0]} .. {result.window[1]} (survivorship-biased universe)")
    ax.set_xlabel("trading days")
    ax.legend()
    _save(fig, out / "equity.png")
    fig, ax = plt.subplots(figsize=(5, 5))
    points = result.reliability
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect")
    ax.plot([p["predicted"] for p in points], [p["observed"] for p in points], marker="o", label="ensemble P(up)")
    ax.set_xlabel("predicted P(up)")
    ax.set_ylabel("observed frequency of up")
    ax.set_title("Calibration")
    ax.legend()
    _save(fig, out / "calibration.png")
    plt.close("all")


def _save(fig: Any, path: Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())
