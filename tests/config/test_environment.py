"""The TRADING_* table, the .env parser and the precedence defaults < .env < env < command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tg.config.environment import ENV_TABLE, overrides_from, parse_dotenv
from tg.config.loader import load_config
from tg.errors import ConfigError


def test_dotenv_parses_comments_export_and_quotes() -> None:
    text = '# comment\n\nexport TRADING_LOG_LEVEL=DEBUG\nTRADING_METRICS_HOST="0.0.0.0"\nTRADING_MODE=live # note\n'
    assert parse_dotenv(text) == {
        "TRADING_LOG_LEVEL": "DEBUG",
        "TRADING_METRICS_HOST": "0.0.0.0",
        "TRADING_MODE": "live",
    }


@pytest.mark.parametrize("line", ["TRADING_LOG_LEVEL", "=DEBUG", "1ABC=2", "TRADING MODE=live", "K='open"])
def test_malformed_dotenv_line_names_the_line_and_hides_its_content(line: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv(f"TRADING_MODE=live\n{line}\n", source=".env")
    assert ".env line 2" in str(info.value)


def test_malformed_line_with_a_secret_does_not_echo_it() -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv("TRADING_METRICS_API_KEY hunter2secret\n")
    assert "hunter2secret" not in str(info.value)


def test_unknown_trading_variable_in_dotenv_is_an_error_but_ignored_in_environment() -> None:
    with pytest.raises(ConfigError, match="TRADING_LOGLEVEL"):
        overrides_from({"TRADING_LOGLEVEL": "DEBUG"}, ".env", strict=True)
    assert overrides_from({"TRADING_LOGLEVEL": "DEBUG", "HOME": "/root"}, "environment", strict=False) == []


def test_every_table_entry_maps_to_a_real_key(project: Path) -> None:
    values = {
        "TRADING_MODE": "live",
        "TRADING_MODEL_DIR": "/tmp/models",
        "TRADING_LOG_LEVEL": "ERROR",
        "TRADING_METRICS_ENABLED": "1",
        "TRADING_METRICS_PORT": "9200",
        "TRADING_METRICS_HOST": "127.0.0.2",
        "TRADING_METRICS_API_KEY": "k3y",
        "TRADING_PROXY_URL": "http://127.0.0.1:7890",
        "TRADING_CONNECTION_TIMEOUT": "12",
        "TRADING_PRIMARY_SOURCE": "eastmoney",
        "TRADING_MAX_MEMORY_CACHE_MB": "64",
    }
    assert set(values) == {v.name for v in ENV_TABLE if v.group_choice is None}
    cfg = load_config([], environ=values, use_cache=False).cfg
    assert (cfg.mode.value, cfg.paths.models, cfg.logging.level.value) == ("live", "/tmp/models", "ERROR")
    assert (cfg.serve.metrics_enabled, cfg.serve.port, cfg.serve.host) == (True, 9200, "127.0.0.2")
    assert cfg.serve.api_key == "k3y"
    assert (cfg.network.proxy_url, cfg.network.timeout_s) == ("http://127.0.0.1:7890", 12.0)
    assert (cfg.source.primary, cfg.cache.memory_max_mb) == ("eastmoney", 64)


def test_group_switches_select_the_network_mode(project: Path) -> None:
    assert load_config([], environ={}, use_cache=False).cfg.network.mode == "auto"
    direct = load_config([], environ={"TRADING_CHINA_DIRECT": "1"}, use_cache=False).cfg.network
    assert direct.mode == "china_direct"
    vpn = {"TRADING_VPN": "true", "TRADING_PROXY_URL": "http://u:p@127.0.0.1:7890"}
    net = load_config([], environ=vpn, use_cache=False).cfg.network
    assert (net.mode, net.timeout_s) == ("vpn", 15.0)
    assert load_config([], environ={"TRADING_VPN": "0"}, use_cache=False).cfg.network.mode == "auto"
    assert load_config(["network=china_direct"], environ=vpn, use_cache=False).cfg.network.mode == "china_direct"


def test_vpn_without_proxy_is_a_configuration_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="TRADING_PROXY_URL"):
        load_config([], environ={"TRADING_VPN": "1"}, use_cache=False)
    with pytest.raises(ConfigError, match="0/1"):
        load_config([], environ={"TRADING_VPN": "maybe"}, use_cache=False)


def test_precedence_defaults_dotenv_environment_command_line(project: Path) -> None:
    assert load_config([], environ={}, use_cache=False).cfg.logging.level.value == "INFO"
    (project / ".env").write_text("TRADING_LOG_LEVEL=WARNING\nTRADING_METRICS_PORT=9001\n")
    assert load_config([], environ={}, use_cache=False).cfg.logging.level.value == "WARNING"
    env = {"TRADING_LOG_LEVEL": "DEBUG"}
    cfg = load_config([], environ=env, use_cache=False).cfg
    assert (cfg.logging.level.value, cfg.serve.port) == ("DEBUG", 9001)
    cfg = load_config(["logging.level=ERROR"], environ=env, use_cache=False).cfg
    assert cfg.logging.level.value == "ERROR"


def test_bad_environment_value_is_a_clear_error(project: Path) -> None:
    with pytest.raises(ConfigError, match="serve.port"):
        load_config([], environ={"TRADING_METRICS_PORT": "eighty"}, use_cache=False)


@pytest.mark.parametrize("value", ["a'b:c=d\\e", "trailing\\", "q\\'x", "${oops}", "p@ss w0rd,[]{}", "http://u:p@h:1/"])
def test_raw_values_survive_the_override_grammar(project: Path, value: str) -> None:
    cfg = load_config([], environ={"TRADING_METRICS_API_KEY": value}, use_cache=False).cfg
    assert cfg.serve.api_key == value
