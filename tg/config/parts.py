"""Build the parts a user plugs in (model members, data sources) from their config nodes.

A part's node names its class in `_target_` and gives the class's arguments:

    gbm:
      _target_: tg.models.members.gbm.GbmMember
      leaves: 64

Only classes under `tg.` are built, and the check comes before the import, so a config file cannot make
tg import (and run) a module of its choosing. The node's keys must be arguments of the class, with the
annotated scalar types; a wrong one is a one-line `ConfigError`.

Why not `hydra.utils.instantiate`: importing it costs ~0.2 s, which `tg predict` and `tg data quote` would
pay on every call (their composed config comes from the cache without importing Hydra), and it imports
the target before anyone could refuse it. This is the one place parts are built.
"""

from __future__ import annotations

import importlib
import inspect
import typing
from collections.abc import Mapping
from typing import Any

from tg.errors import ConfigError

TARGET = "_target_"
TARGET_PREFIX = "tg."
_SCALARS: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,)}


def part_class(target: Any, where: str) -> type:
    """The class `target` names, refused unless it lives under `tg.` (checked before importing it)."""
    if not isinstance(target, str) or not target.startswith(TARGET_PREFIX) or target.count(".") < 2:
        raise ConfigError(f"configuration error: {where}._target_ {target!r} is not allowed (only classes under 'tg.')")
    module_name, _, class_name = target.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"configuration error: {where}._target_ {target!r}: cannot import it: {exc}") from exc
    found = getattr(module, class_name, None)
    if not inspect.isclass(found):
        raise ConfigError(f"configuration error: {where}._target_ {target!r}: {module_name} has no class {class_name}")
    return found


def build_part(node: Mapping[str, Any], where: str, factory: str | None = None, **given: Any) -> Any:
    """An instance of the node's `_target_` built with the node's other keys (and `given`, runtime objects such as
    a source's context) as arguments: by the class itself, or by its classmethod `factory`; `where` is the node's
    config path, for the error line."""
    cls = part_class(node.get(TARGET), where)
    make = getattr(cls, factory, None) if factory else cls
    if make is None:
        raise ConfigError(f"configuration error: {where}._target_ {node.get(TARGET)!r} has no {factory}()")
    arguments = {str(key): value for key, value in node.items() if key != TARGET}
    check_arguments(make, arguments, where, cls.__name__)
    try:
        return make(**arguments, **given)
    except ValueError as exc:  # the class refuses a value: its message says which rule
        raise ConfigError(f"configuration error: {where}: {exc}") from exc


def check_arguments(make: Any, arguments: Mapping[str, Any], where: str, name: str) -> None:
    """ConfigError for a key that is not an argument of `make` (class `name`), or a scalar of the wrong type."""
    parameters = inspect.signature(make).parameters
    try:
        hints = typing.get_type_hints(make.__init__ if inspect.isclass(make) else make)
    except (NameError, TypeError):
        hints = {}
    for key, value in arguments.items():
        if key not in parameters or parameters[key].kind in (inspect.Parameter.VAR_POSITIONAL,):
            known = ", ".join(p for p in parameters if p != "self")
            raise ConfigError(f"configuration error: {where}.{key}: not an argument of {name} (known: {known})")
        expected = _SCALARS.get(getattr(hints.get(key), "__name__", ""))
        if expected and (not isinstance(value, expected) or (bool not in expected and isinstance(value, bool))):
            raise ConfigError(f"configuration error: {where}.{key}: {value!r} is not a {hints[key].__name__} ({name})")
