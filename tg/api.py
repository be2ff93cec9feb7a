"""A small Python API for notebooks, over the same commands, config and overrides as the CLI.

    import tg.api as tg
    bars = tg.bars("600519", "2025-01-01", "2025-10-31")            # pandas.DataFrame indexed by date
    answer = tg.predict("600519")                                    # Forecast; answer.to_frame()
    report = tg.evaluate(overrides=["data=cn_daily"])                # Report; report.table, report.predictions

Every function takes `overrides` (Hydra `KEY=VALUE` strings, as on the command line) and `project` (the
project directory; default: found from the working directory as the CLI does). Errors are the CLI's
`tg.errors` exceptions, each with its one-line message. pandas is imported by these functions only, so
`import tg.api` costs nothing at start-up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from tg.config.loader import LoadedConfig

__all__ = ["Forecast", "Report", "bars", "evaluate", "predict"]


def _loaded(overrides: Sequence[str] | None, project: str | Path | None) -> LoadedConfig:
    from tg.config.loader import load_config

    return load_config(list(overrides or []), cwd=Path(project) if project is not None else None)


def _day(value: str | date | None) -> str | None:
    return value.isoformat() if isinstance(value, date) else value


def bars(
    symbol: str,
    start: str | date | None = None,
    end: str | date | None = None,
    overrides: Sequence[str] | None = None,
    project: str | Path | None = None,
) -> pd.DataFrame:
    """Validated daily bars through the configured source chain and cache (`tg data fetch`), one row a day:
    open, high, low, close, volume, amount (and factor when the source gives one); `attrs` says the symbol,
    source, adjustment and whether the answer is stale."""
    import pandas as pd

    from tg.commands.data import run_fetch

    result = run_fetch(_loaded(overrides, project), symbol, _day(start), _day(end))
    b = result.bars
    columns = {"open": b.open, "high": b.high, "low": b.low, "close": b.close, "volume": b.volume, "amount": b.amount}
    if b.factor is not None:
        columns["factor"] = b.factor
    frame = pd.DataFrame(columns, index=pd.DatetimeIndex(b.dates.astype("datetime64[ns]"), name="date"))
    frame.attrs.update(symbol=b.symbol.canonical, source=b.source, adjustment=b.adjustment, store=result.answer.store)
    return frame


@dataclass(frozen=True)
class Forecast:
    """`tg predict --json` as a typed result; `data` holds the whole answer."""

    symbol: str
    as_of: str
    signal: str
    confidence: float
    probabilities: dict[str, float]
    expected_return: float
    horizon: int
    last_close: float
    model_version: str
    stale: bool
    warnings: list[str]
    data: dict[str, Any] = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The forecast band: one row per trading day ahead (q10, q50, q90 prices), indexed by date."""
        import pandas as pd

        frame = pd.DataFrame(self.data["forecast"])
        frame["date"] = pd.to_datetime(frame["date"])
        return frame.set_index("date")


def predict(
    symbol: str,
    as_of: str | date | None = None,
    overrides: Sequence[str] | None = None,
    project: str | Path | None = None,
) -> Forecast:
    """The current model's forecast for `symbol` as of a date (default: its last bar), as `tg predict`."""
    from tg.commands.predict import run_predict

    d = run_predict(_loaded(overrides, project), symbol, _day(as_of)).data
    return Forecast(
        symbol=d["symbol"],
        as_of=d["as_of"],
        signal=d["signal"],
        confidence=float(d["confidence"]),
        probabilities=dict(d["probabilities"]),
        expected_return=float(d["expected_return"]),
        horizon=int(d["horizon"]),
        last_close=float(d["last_close"]),
        model_version=d["model"]["version"],
        stale=bool(d["data"]["stale"]),
        warnings=list(d.get("warnings", [])),
        data=d,
    )


@dataclass(frozen=True)
class Report:
    """`tg evaluate`'s report (`data`, as report.json) and where its files went."""

    data: dict[str, Any]
    directory: Path

    @property
    def table(self) -> pd.DataFrame:
        """One row per scorer (the ensemble, its members, the baselines): RankIC, IC, accuracy, ECE, backtest."""
        import pandas as pd

        return pd.DataFrame(self.data["table"]).set_index("name")

    @property
    def backtest(self) -> pd.DataFrame:
        """The TopkDropout backtest summary of each scorer, one row each."""
        import pandas as pd

        return pd.DataFrame(self.data["backtest"]).T

    @property
    def predictions(self) -> pd.DataFrame:
        """predictions.csv: one row per stock and day (suspension days marked `tradable` 0, without figures)."""
        import pandas as pd

        return pd.read_csv(self.directory / "predictions.csv", dtype={"symbol": str}, parse_dates=["date"])


def evaluate(
    overrides: Sequence[str] | None = None, project: str | Path | None = None, model_dir: str | Path | None = None
) -> Report:
    """Evaluate the current model (or `model_dir`) on `eval.start`..`eval.end`, as `tg evaluate`."""
    from tg.commands.evaluate import run_evaluate

    result = run_evaluate(_loaded(overrides, project), str(model_dir) if model_dir is not None else None)
    return Report(result.report, result.directory)
