"""A cost-aware, long-only top-k backtest of a daily score against the CSI300 index.

The score of day t is only known after the close of t, so it is traded at the close of t+1 (the
caller passes scores already lagged one day; `evaluation` does). Each day t: rank the tradable
symbols by that score; keep the holdings still in the top k, sell up to `n_drop` of the others
(worst first), buy the best-ranked names not held to get back to k equal weights (Qlib's
TopkDropout). The portfolio earns the close-to-close return of t → t+1.
Costs: `buy_cost` on the weight bought, `sell_cost` on the weight sold (0.05 % / 0.15 %: commission
plus the 0.1 % stamp duty on sales). Suspended names (no volume) can be neither bought nor sold;
a delisted name (no bar ever again) leaves the portfolio at its last price.
Left out: limit-up/limit-down blocking and intraday slippage.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

TRADING_DAYS = 252


@dataclass
class BacktestResult:
    daily_return: np.ndarray  # portfolio, after costs
    benchmark_return: np.ndarray
    turnover: np.ndarray
    summary: dict[str, Any] = field(default_factory=dict)


def top_k_backtest(
    score: np.ndarray,
    returns_next: np.ndarray,
    tradable: np.ndarray,
    benchmark_next: np.ndarray,
    k: int,
    n_drop: int | None = None,
    buy_cost: float = 0.0005,
    sell_cost: float = 0.0015,
    listed: np.ndarray | None = None,
) -> BacktestResult:
    """`score`, `returns_next` (return t→t+1), `tradable` and `listed` are (dates, symbols); benchmark
    (dates,). A held name that is no longer `listed` (delisted) leaves at its last price."""
    days, names = score.shape
    k = max(1, min(k, names))
    n_drop = n_drop if n_drop is not None else max(1, round(k * 0.2))
    held: set[int] = set()
    daily = np.zeros(days)
    turnover = np.zeros(days)
    for t in range(days):
        s = score[t]
        can_trade = tradable[t] & ~np.isnan(s)
        order = [i for i in np.argsort(-np.where(can_trade, s, -np.inf)) if can_trade[i]]
        rank = {i: r for r, i in enumerate(order)}
        gone = {i for i in held if listed is not None and not listed[t, i]}
        keep = {i for i in held - gone if i in rank and rank[i] < k or not can_trade[i]}
        candidates = sorted((i for i in held - keep - gone), key=lambda i: -rank.get(i, math.inf))
        sold = (set(candidates[:n_drop]) | gone) if held else set()
        new_held = held - sold
        for i in order:
            if len(new_held) >= k:
                break
            new_held.add(i)
        bought = new_held - held
        weight = 1.0 / k
        turnover[t] = weight * (len(bought) + len(sold))
        cost = weight * (len(bought) * buy_cost + len(sold) * sell_cost)
        held = new_held
        if held:
            r = returns_next[t, list(held)]
            daily[t] = float(np.nansum(r)) * weight - cost
        else:
            daily[t] = -cost
    bench = np.nan_to_num(benchmark_next)
    result = BacktestResult(daily, bench, turnover)
    result.summary = summarise(daily, bench, turnover)
    return result


def summarise(daily: np.ndarray, bench: np.ndarray, turnover: np.ndarray) -> dict[str, Any]:
    """Annualised return, annualised excess return (arithmetic: mean daily excess × 252, Qlib's
    convention), information ratio, max drawdowns from the starting capital, mean turnover."""
    excess = daily - bench
    n = len(daily)
    if n < 2:
        return {"days": n}
    sd = float(np.std(excess, ddof=1))
    equity = np.r_[1.0, np.cumprod(1 + daily)]  # the starting capital counts as a peak
    excess_curve = np.r_[1.0, np.cumprod(1 + excess)]
    return {
        "days": n,
        "annual_return": float(equity[-1] ** (TRADING_DAYS / n) - 1),
        "excess_annualisation": "arithmetic",
        "benchmark_annual_return": float(np.prod(1 + bench) ** (TRADING_DAYS / n) - 1),
        "annual_excess_return": float(np.mean(excess) * TRADING_DAYS),
        "information_ratio": float(np.mean(excess) / sd * math.sqrt(TRADING_DAYS)) if sd > 0 else float("nan"),
        "max_drawdown": max_drawdown(equity),
        "excess_max_drawdown": max_drawdown(excess_curve),
        "mean_daily_turnover": float(np.mean(turnover)),
    }


def max_drawdown(curve: np.ndarray) -> float:
    """Largest fall from a running peak, as a negative fraction (−0.25 = a 25 % drawdown)."""
    peaks = np.maximum.accumulate(curve)
    return float(np.min(curve / peaks - 1.0)) if len(curve) else 0.0
