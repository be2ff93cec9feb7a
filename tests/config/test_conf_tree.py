"""The conf tree says each thing once: option files carry only what differs from the schema's defaults."""

from __future__ import annotations

from pathlib import Path

import yaml

from tg.config.compose import NAMED_BY_CHOICE, compose_container
from tg.config.schema import AppConfig
from tg.config.typed import to_plain

CONF = Path(__file__).resolve().parents[2] / "conf"
SELECTORS = {("network", "mode"), ("cache", "backend"), ("deploy", "_target_")}  # what the option is, said once


def test_option_files_repeat_no_schema_default_and_no_name() -> None:
    """Before: model/fast.yaml repeated 9 of ensemble.yaml's 11 lines, network options repeated the timeouts,
    and `name:` repeated each option's file name."""
    defaults = to_plain(AppConfig())
    repeated = []
    for path in sorted(CONF.glob("*/*.yaml")):
        group = path.parent.name
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key, value in data.items():
            if (group, key) in SELECTORS:
                continue
            if key == "name" or defaults.get(group, {}).get(key) == value:
                repeated.append(f"{path.relative_to(CONF)}: {key}")
    assert repeated == []


def test_a_group_is_named_by_the_option_chosen() -> None:
    for group, option in (("model", "fast"), ("profile", "strict"), ("source", "remote")):
        assert group in NAMED_BY_CHOICE
        assert compose_container([f"{group}={option}"], CONF)[group]["name"] == option
    assert compose_container([], CONF)["model"]["name"] == "ensemble"
    assert compose_container(["deploy=systemd"], CONF)["deploy"]["target"] == "systemd"
