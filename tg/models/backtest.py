"""A cost-aware, long-only TopkDropout backtest of a daily score against the CSI300 index, with Qlib's rules.

Qlib's `TopkDropoutStrategy` + `SimulatorExecutor` is what our users hold figures against, so the rules are
its rules (checked against Qlib's own backtest on the same predictions in `benchmarks/qlib_peer/`):

- The score of day t is known after the close of t and traded at the close of t+1 (the caller passes scores
  already lagged one day; `evaluation` does). A name without a score that day ranks below every scored name.
- Each day: `last` = the holdings by score; `today` = the best `n_drop + k - len(last)` scored names not held;
  of `last ∪ today` ranked by score, the holdings among the bottom `n_drop` are sold, and the best
  `len(sold) + k - len(last)` of `today` are bought. A name that cannot trade (no bar with volume, or a close
  move of at least `limit_threshold` either way: limit up or down blocks both directions) is neither sold
  nor bought; its slot stays as it is.
- Sales go to cash first; each buy gets `cash × risk_degree / len(buys)` (Qlib's 0.95 keeps 5 % in cash), so
  weights drift with prices between trades. Costs: `buy_cost` on the value bought, `sell_cost` on the value
  sold (0.05 % / 0.15 %: commission plus the 0.1 % stamp duty on sales).
- Day t, as Qlib books it: the holdings earn their close-to-close return of t−1 → t, then the day's trades
  are made at the close of t and their costs charged; the day's return is the change in account value over
  the value at the close of t−1, beside the benchmark's return of t−1 → t. So the first day of a window holds
  nothing yet and still counts the benchmark's move (Qlib's backtest does the same). Cash earns nothing. A
  delisted name stays at its last price and, as in Qlib, cannot be sold.
- Annualised figures use Qlib's `risk_analysis` convention: mean daily excess × `annual_days` (238).

Left out, as immaterial at Qlib's example account of 100 M yuan: 100-share lots and the 5-yuan minimum cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ANNUAL_DAYS = 238  # Qlib's risk_analysis: trading days a year for daily data


@dataclass
class BacktestResult:
    daily_return: np.ndarray  # portfolio, after costs
    benchmark_return: np.ndarray
    turnover: np.ndarray  # value traded / portfolio value
    cost: np.ndarray = field(default_factory=lambda: np.zeros(0))  # costs / portfolio value
    summary: dict[str, Any] = field(default_factory=dict)


def top_k_backtest(
    score: np.ndarray,
    returns: np.ndarray,
    tradable: np.ndarray,
    benchmark: np.ndarray,
    k: int,
    n_drop: int | None = None,
    buy_cost: float = 0.0005,
    sell_cost: float = 0.0015,
    blocked: np.ndarray | None = None,
    risk_degree: float = 0.95,
    annual_days: int = ANNUAL_DAYS,
) -> BacktestResult:
    """`score` (known before the close of t), `returns` (t−1 → t), `tradable` and `blocked` (at a price limit)
    are (dates, symbols); the benchmark's return t−1 → t is (dates,). See the module docstring for the rules."""
    days, names = score.shape
    k = max(1, min(k, names))
    n_drop = max(0, n_drop if n_drop is not None else max(1, round(k * 0.1)))
    can_trade = tradable & ~blocked if blocked is not None else tradable.copy()
    growth = 1.0 + np.nan_to_num(returns)  # a NaN (no close) holds its value
    value = np.zeros(names)  # yuan per name, starting capital 1
    held: list[int] = []  # in the order bought, as Qlib's position keeps them
    cash = 1.0
    daily, turnover, costs = np.zeros(days), np.zeros(days), np.zeros(days)
    for t in range(days):
        before = cash + float(value[held].sum()) if held else cash
        if held:
            value[held] *= growth[t, held]
        scores = score[t]
        scored = ~np.isnan(scores)
        traded = spent = 0.0
        if scored.any():
            sold, buy = _decide(scores, scored, held, k, n_drop)
            for i in sold:
                if can_trade[t, i]:
                    proceeds = float(value[i])
                    cash += proceeds * (1.0 - sell_cost)
                    traded, spent = traded + proceeds, spent + proceeds * sell_cost
                    value[i] = 0.0
                    held.remove(i)
            each = cash * risk_degree / len(buy) if buy else 0.0
            for i in buy:
                if can_trade[t, i]:
                    value[i] = each
                    cash -= each * (1.0 + buy_cost)
                    traded, spent = traded + each, spent + each * buy_cost
                    held.append(i)
        after = cash + float(value[held].sum()) if held else cash
        daily[t] = after / before - 1.0
        turnover[t], costs[t] = traded / before, spent / before
    bench = np.nan_to_num(benchmark)
    result = BacktestResult(daily, bench, turnover, costs)
    result.summary = summarise(daily, bench, turnover, costs, annual_days)
    return result


def _decide(
    scores: np.ndarray, scored: np.ndarray, held: list[int], k: int, n_drop: int
) -> tuple[list[int], list[int]]:
    """Qlib's TopkDropout choice: the holdings to sell and the names to buy, best first."""

    def by_score(names: list[int]) -> list[int]:  # best first, names without a score last (stable)
        return sorted(names, key=lambda i: -scores[i] if scored[i] else math.inf)

    last = by_score(held)
    holding = set(held)
    candidates = np.flatnonzero(scored)
    candidates = candidates[np.argsort(-scores[candidates], kind="stable")]
    wanted = n_drop + k - len(last)
    today = [int(i) for i in candidates if int(i) not in holding][: max(wanted, 0)]
    combined = by_score(last + today)
    bottom = set(combined[-n_drop:]) if n_drop > 0 else set()
    sold = [i for i in last if i in bottom]
    return sold, today[: max(len(sold) + k - len(last), 0)]


def summarise(
    daily: np.ndarray,
    bench: np.ndarray,
    turnover: np.ndarray,
    cost: np.ndarray | None = None,
    annual_days: int = ANNUAL_DAYS,
) -> dict[str, Any]:
    """Annualised return, annualised excess return with and without cost (arithmetic: mean daily excess ×
    `annual_days`, Qlib's convention), information ratio, max drawdowns from the starting capital, turnover."""
    excess = daily - bench
    n = len(daily)
    if n < 2:
        return {"days": n}
    sd = float(np.std(excess, ddof=1))
    equity = np.r_[1.0, np.cumprod(1 + daily)]  # the starting capital counts as a peak
    excess_curve = np.r_[1.0, np.cumprod(1 + excess)]
    cost = np.zeros(n) if cost is None else cost
    return {
        "days": n,
        "annual_days": annual_days,
        "annual_return": float(equity[-1] ** (annual_days / n) - 1),
        "excess_annualisation": "arithmetic",
        "benchmark_annual_return": float(np.mean(bench) * annual_days),
        "annual_excess_return": float(np.mean(excess) * annual_days),
        "annual_excess_return_without_cost": float(np.mean(excess + cost) * annual_days),
        "information_ratio": float(np.mean(excess) / sd * math.sqrt(annual_days)) if sd > 0 else float("nan"),
        "max_drawdown": max_drawdown(equity),
        "excess_max_drawdown": max_drawdown(excess_curve),
        "mean_daily_turnover": float(np.mean(turnover)),
    }


def max_drawdown(curve: np.ndarray) -> float:
    """Largest fall from a running peak, as a negative fraction (−0.25 = a 25 % drawdown)."""
    peaks = np.maximum.accumulate(curve)
    return float(np.min(curve / peaks - 1.0)) if len(curve) else 0.0
