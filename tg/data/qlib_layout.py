"""The Qlib data layout, read in one place (the local source, the model panel, the universe, the bar
store's extension and the freshness checks all read through here):

    calendars/day.txt              one ISO date per line, ascending: the sessions
    instruments/<name>.txt         SH600519<TAB>first<TAB>last (only the first column is read)
    features/<sym>/<field>.day.bin little-endian float32: [calendar index of the first value, values…]

numpy is imported only by the readers that return arrays: `tg health` (no numpy) uses the paths.
Feature directories are found in either case: Qlib's own dumps write `sh600519/`, several widely
used data sets (fr220574's among them) ship `SH600519/`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from tg.errors import DataError, UnknownSymbol

if TYPE_CHECKING:
    import numpy as np

CALENDAR = Path("calendars") / "day.txt"
PENDING_CALENDAR = Path("calendars") / ".day.next.txt"  # the bar store's calendar about to replace day.txt
INSTRUMENTS = "instruments"
FEATURES = "features"


def is_qlib_dir(root: Path) -> bool:
    return (Path(root) / CALENDAR).is_file()


def read_calendar(root: Path, what: str = "data") -> np.ndarray:
    """The sessions of `root` as datetime64[D], checked to be ascending; DataError names the problem."""
    import numpy as np

    path = Path(root) / CALENDAR
    try:
        days = np.array(path.read_text(encoding="utf-8").split(), dtype="datetime64[D]")
    except FileNotFoundError as exc:
        raise DataError(f"{what}: {root} is not a Qlib data directory (no {CALENDAR})") from exc
    except OSError as exc:
        raise DataError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise DataError(f"{what}: {path} is not a Qlib calendar ({exc})") from exc
    if len(days) > 1 and not bool(np.all(days[1:] > days[:-1])):
        raise DataError(f"{what}: {path} is not in ascending order")
    return days


def instruments_path(root: Path, name: str = "all") -> Path:
    return Path(root) / INSTRUMENTS / f"{name}.txt"


def read_instruments(root: Path, name: str = "all", what: str = "data") -> list[str]:
    """The Qlib names (`SH600519`) listed in `instruments/<name>.txt`, upper-cased, in file order, once each."""
    path = instruments_path(root, name)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise DataError(f"{what}: no instrument list {path}") from exc
    names: dict[str, None] = {}
    for line in lines:
        symbol = line.split("\t", 1)[0].strip().upper()
        if symbol:
            names[symbol] = None
    return list(names)


def field_path(directory: Path, field: str) -> Path:
    return directory / f"{field}.day.bin"


def feature_dir(root: Path, qlib_name: str) -> Path | None:
    """The directory of a symbol's fields, lower- or upper-case (None when neither exists)."""
    features = Path(root) / FEATURES
    for candidate in (qlib_name.lower(), qlib_name.upper()):
        if (features / candidate).is_dir():
            return features / candidate
    cased = _case_insensitive_names(features).get(qlib_name.lower())
    return features / cased if cased else None


@cache
def _case_insensitive_names(features: Path) -> dict[str, str]:
    """For mixed-case directory names (`Sh600519`): one listing per features directory and process."""
    try:
        return {entry.name.lower(): entry.name for entry in features.iterdir() if entry.is_dir()}
    except OSError:
        return {}


def read_field(directory: Path, field: str, what: str = "data", label: str = "") -> tuple[int, np.ndarray]:
    """(calendar index of the first value, the values as float64) of `<directory>/<field>.day.bin`."""
    import numpy as np

    path = field_path(directory, field)
    shown = f"{label or directory.name}/{path.name}"
    try:
        raw = np.fromfile(path, dtype="<f4")
    except OSError as exc:
        raise DataError(f"{what}: cannot read {shown}: {exc.strerror or exc}") from exc
    if raw.size < 1 or not np.isfinite(raw[0]) or raw[0] < 0:
        raise DataError(f"{what}: {shown} is empty or has no start index")
    return int(raw[0]), raw[1:].astype(np.float64)


def read_fields(
    root: Path, qlib_name: str, fields: tuple[str, ...], calendar_length: int, what: str = "data"
) -> dict[str, tuple[int, np.ndarray]]:
    """Every field of a symbol, each checked to lie within the calendar; UnknownSymbol when it has no data."""
    directory = feature_dir(root, qlib_name)
    if directory is None:
        raise UnknownSymbol(qlib_name, f"{what}: no data for {qlib_name} in {root} (no features/{qlib_name.lower()}/)")
    out = {}
    for field in fields:
        first, values = read_field(directory, field, what, label=qlib_name)
        if first + values.size > calendar_length:
            raise DataError(
                f"{what}: {qlib_name}/{field}.day.bin runs past the calendar "
                f"({first}+{values.size} > {calendar_length})"
            )
        out[field] = (first, values)
    return out
