"""What a sweep's overrides ask for, read with Hydra's own override parser: the keys that take several values,
the overrides every job shares, and how many jobs Hydra's basic sweeper makes of them."""

from __future__ import annotations

from dataclasses import dataclass

from tg.config.compose import describe
from tg.errors import ConfigError


@dataclass(frozen=True)
class SweepPlan:
    shared: list[str]  # overrides every job gets as they are (no sweep, nothing of Hydra's own)
    varying: list[str]  # keys (or groups) that take several values: `train.seed`, `model`
    jobs: int | None  # jobs of the basic sweeper (the product of the sweeps); None under another sweeper


def plan_sweep(overrides: list[str]) -> SweepPlan:
    """Parse `overrides` (ConfigError naming the one that does not parse)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as exc:
        raise ConfigError(describe(exc, overrides=overrides)) from exc
    shared, varying = [], []
    sizes: dict[str, int | None] = {}  # a later override of a key replaces an earlier one, as in Hydra
    for override in parsed:
        own = override.key_or_group.startswith(("hydra.", "hydra/")) or override.key_or_group == "hydra"
        if override.is_sweep_override():
            varying.append(override.key_or_group)
            discrete = override.is_discrete_sweep()  # interval() and the like: only a search sweeper samples them
            sizes[override.get_key_element()] = len(list(override.sweep_string_iterator())) if discrete else None
        elif not own and override.input_line is not None:
            shared.append(override.input_line)
    jobs: int | None = 1
    for size in sizes.values():
        jobs = None if jobs is None or size is None else jobs * size
    if any(o.key_or_group == "hydra/sweeper" for o in parsed):
        jobs = None
    return SweepPlan(shared, list(dict.fromkeys(varying)), jobs)
