"""Which data the models read: the Qlib directory (`data.root`, default the embedded subset) and
the universe (`data.universe`: all, an instruments file name, or a list of symbols), or one shard of
it (`data.shard` of `data.n_shards`: what `tg sweep` fans out over).

In a YAML file, write codes as strings (`["000858", "600519"]`): YAML reads an unquoted 000010 as
the octal number 8. On the command line Hydra keeps `[000858,600519]` as written."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tg.data.local import embedded_root
from tg.data.qlib_layout import CALENDAR, instruments_path, is_qlib_dir, read_instruments
from tg.data.symbols import parse_symbol
from tg.errors import ConfigError, DataError

if TYPE_CHECKING:
    from tg.config.schema import DataConfig

MIN_UNIVERSE = 5  # cross-sectional ranks and daily IC need a cross-section


def data_root(root_setting: str, base: Path) -> Path:
    """`data.root` resolved against the project root; the embedded subset when empty."""
    if not root_setting:
        return embedded_root()
    path = Path(root_setting)
    path = path if path.is_absolute() else base / path
    if not is_qlib_dir(path):
        raise DataError(f"data.root {path} is not a Qlib-layout directory (no {CALENDAR})")
    return path


def configured_data_dir(root_setting: str, base: Path) -> Path | None:
    """`data.root` when it is set; None means: read the data the model was trained on."""
    return data_root(root_setting, base) if root_setting else None


def trained_data_dir(meta: dict[str, Any]) -> Path:
    """The data directory a model was trained on, from its meta (`embedded` or an absolute path)."""
    root = str(meta["data"]["root"])
    return data_root("" if root == "embedded" else root, Path("/"))


def resolve_universe(root: Path, spec: Any) -> list[str] | None:
    """Symbols of the universe as Qlib names; None = every stock in `instruments/all.txt`."""
    if isinstance(spec, list):
        symbols = [parse_symbol(str(item).zfill(6) if isinstance(item, int) else str(item)) for item in spec]
        indices = [str(s) for s in symbols if s.is_index]
        if indices:
            raise ConfigError(
                f"data.universe: {', '.join(indices)} is an index, not a stock (the benchmark is SH000300)"
            )
        if len(set(symbols)) < MIN_UNIVERSE:
            raise ConfigError(
                f"data.universe: {len(set(symbols))} stocks; features are ranked across the universe, "
                f"so it needs at least {MIN_UNIVERSE}"
            )
        return [s.qlib for s in symbols]
    name = str(spec)
    if name == "all":
        return None
    path = instruments_path(root, name)
    if not path.is_file():
        raise DataError(f"data.universe={name}: no instruments file {path} (use all, a file name, or [600519, ...])")
    return [symbol for symbol in read_instruments(root, name, "data.universe") if not parse_symbol(symbol).is_index]


def data_universe(root: Path, data: DataConfig) -> list[str] | None:
    """The symbols train and evaluate read: `data.universe`, or with `data.n_shards` > 1 shard `data.shard` of
    it — every n-th stock of the sorted universe, so shards are disjoint, cover it, and differ in size by at most
    one. ConfigError when the shard would hold fewer than MIN_UNIVERSE stocks."""
    symbols = resolve_universe(root, data.universe)
    if data.n_shards == 1:
        return symbols
    names = sorted(symbols if symbols is not None else _all_stocks(root))
    shard = names[data.shard :: data.n_shards]
    if len(shard) < MIN_UNIVERSE:
        most = len(names) // MIN_UNIVERSE
        hint = f"use at most {most} shards" if most > 1 else "this universe is too small to shard"
        raise ConfigError(
            f"data.shard={data.shard} of data.n_shards={data.n_shards}: {len(shard)} of the {len(names)} stocks of "
            f"data.universe; features are ranked across the stocks, so a shard needs at least {MIN_UNIVERSE} ({hint})"
        )
    return shard


def _all_stocks(root: Path) -> list[str]:
    """Every stock (not index) of `instruments/all.txt`: the universe `all`."""
    return [name for name in read_instruments(root, "all", "data.universe") if not parse_symbol(name).is_index]


def parse_day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None
