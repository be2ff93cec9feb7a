"""The composed-config cache: used when nothing changed, bypassed when anything did."""

from __future__ import annotations

from pathlib import Path

import pytest

from tg.config.loader import cache_dir, load_config
from tg.errors import ConfigError


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


def _entries() -> list[Path]:
    import os

    return sorted(cache_dir(dict(os.environ)).glob("config-*.json"))


def test_an_oc_env_interpolation_is_part_of_the_key(
    project: Path, conf_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before: `${oc.env:TG_BIND,...}` in a config file kept its first value across runs with another TG_BIND."""
    config = conf_copy / "config.yaml"
    config.write_text(config.read_text().replace("host: 127.0.0.1", "host: ${oc.env:TG_BIND,127.0.0.1}"))
    monkeypatch.delenv("TG_BIND", raising=False)
    assert load_config([]).cfg.serve.host == "127.0.0.1"
    assert load_config([]).cache_hit
    monkeypatch.setenv("TG_BIND", "0.0.0.0")
    other = load_config([])
    assert other.cfg.serve.host == "0.0.0.0" and not other.cache_hit
    assert load_config([]).cache_hit
    monkeypatch.delenv("TG_BIND")
    assert load_config([]).cfg.serve.host == "127.0.0.1"


def test_a_config_tree_with_another_resolver_is_never_cached(project: Path, conf_copy: Path) -> None:
    config = conf_copy / "config.yaml"
    config.write_text(config.read_text().replace("port: 8000", "port: ${oc.decode:'8000'}"))
    assert load_config([]).cfg.serve.port == 8000
    assert not load_config([]).cache_hit


def test_cache_entries_hold_no_secret_and_a_hit_rereads_it(project: Path) -> None:
    """Before: ~/.cache/tg/config-*.json held the API key and the proxy password in plain text."""
    import os

    env = {
        "TG_CACHE_DIR": os.environ["TG_CACHE_DIR"],
        "TRADING_METRICS_API_KEY": "key-abc123",
        "TRADING_PROXY_URL": "http://bob:pw-xyz@proxy:8080",
    }
    first = load_config(["network=vpn"], environ=env)
    hit = load_config(["network=vpn"], environ=env)
    assert hit.cache_hit and hit.cfg == first.cfg
    assert hit.cfg.serve.api_key == "key-abc123" and hit.cfg.network.proxy_url == env["TRADING_PROXY_URL"]
    for entry in _entries():
        text = entry.read_text()
        assert "key-abc123" not in text and "pw-xyz" not in text
    (project / ".env").write_text("TRADING_METRICS_API_KEY=from-dotenv\n")  # a changed key: a new entry
    assert load_config([], environ={"TG_CACHE_DIR": env["TG_CACHE_DIR"]}).cfg.serve.api_key == "from-dotenv"
    assert load_config([], environ={"TG_CACHE_DIR": env["TG_CACHE_DIR"]}).cache_hit
    # a secret given on the command line cannot be re-read from the environment: not cached
    assert not load_config(["serve.api_key=cli-secret"]).cache_hit
    assert not load_config(["serve.api_key=cli-secret"]).cache_hit
    assert all("cli-secret" not in entry.read_text() for entry in _entries())


def test_an_entry_another_user_could_have_written_is_ignored(project: Path) -> None:
    import os

    load_config(["serve.port=9011"])
    (entry,) = [e for e in _entries() if '"port": 9011' in e.read_text()]
    os.chmod(entry, 0o666)
    assert not load_config(["serve.port=9011"]).cache_hit  # group/world-writable
    os.chmod(entry, 0o600)
    assert load_config(["serve.port=9011"]).cache_hit
    os.chown(entry, 4242, -1)  # another user's file (the tests run as root)
    assert not load_config(["serve.port=9011"]).cache_hit


def test_the_project_is_found_from_a_subdirectory_or_tg_home(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: every path was relative to the working directory, so a command run in a subdirectory of the
    project did not see its model and `tg train` there trained a second one."""
    (project / ".env").write_text("TRADING_MODE=live\n")
    deep = project / "notebooks" / "2026"
    deep.mkdir(parents=True)
    loaded = load_config([], cwd=deep, use_cache=False)
    assert loaded.root == project.resolve() and loaded.cfg.mode.value == "live"
    assert loaded.path("models") == project.resolve() / "models_saved"
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.setenv("TG_HOME", str(project))
    assert load_config([], cwd=elsewhere, use_cache=False).root == project.resolve()
    monkeypatch.setenv("TG_HOME", str(project / "missing"))
    with pytest.raises(ConfigError, match="TG_HOME=.*missing: not a directory"):
        load_config([], cwd=elsewhere, use_cache=False)
