"""The composed-config cache: used when nothing changed, bypassed when anything did."""

from __future__ import annotations

from pathlib import Path

from tg.config.loader import cache_dir, load_config


def test_second_load_hits_the_cache_with_the_same_config(project: Path) -> None:
    first = load_config(["serve.port=9009"])
    second = load_config(["serve.port=9009"])
    assert (first.cache_hit, second.cache_hit) == (False, True)
    assert first.cfg == second.cfg


def test_changed_override_environment_or_file_misses(project: Path, conf_copy: Path) -> None:
    load_config([])
    assert load_config([]).cache_hit
    assert not load_config(["serve.port=9010"]).cache_hit
    assert not load_config([], environ={"TRADING_LOG_LEVEL": "DEBUG"}).cache_hit
    (project / ".env").write_text("TRADING_MODE=live\n")
    assert load_config([]).cfg.mode.value == "live"
    (conf_copy / "config.yaml").write_text((conf_copy / "config.yaml").read_text().replace("port: 8000", "port: 8123"))
    loaded = load_config([])
    assert not loaded.cache_hit and loaded.cfg.serve.port == 8123


def test_a_corrupt_cache_entry_is_ignored(project: Path) -> None:
    import os

    load_config([])
    for entry in cache_dir(dict(os.environ)).glob("config-*.json"):
        entry.write_text("{not json")
    loaded = load_config([])
    assert not loaded.cache_hit and loaded.cfg.serve.port == 8000


def test_cache_files_are_owner_only(project: Path) -> None:
    import os

    load_config([], environ={"TRADING_METRICS_API_KEY": "secret-value", "TG_CACHE_DIR": os.environ["TG_CACHE_DIR"]})
    for entry in cache_dir(dict(os.environ)).glob("config-*.json"):
        assert entry.stat().st_mode & 0o077 == 0
