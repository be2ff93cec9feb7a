"""Build the typed `AppConfig` from a plain, already-validated container (dict/list/scalars).

Both the Hydra path and the composed-config cache produce such a container, so this is the one
way a command receives its config.
"""

from __future__ import annotations

import dataclasses
import enum
import typing
from typing import Any, TypeVar

T = TypeVar("T")


def build(cls: type[T], data: Any) -> T:
    """Recursively construct dataclass `cls` from `data`; unknown keys are an error."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a mapping for {cls.__name__}, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = set(data) - names
    if unknown:
        raise KeyError(f"unknown keys for {cls.__name__}: {sorted(unknown)}")
    kwargs = {name: _convert(hints[name], data[name]) for name in names if name in data}
    return cls(**kwargs)


def _convert(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return build(tp, value)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_convert(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {k: _convert(item, v) for k, v in value.items()}
    return value


def to_plain(obj: Any) -> Any:
    """The inverse of `build`: dataclasses and enums back to JSON-friendly containers."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    return obj
