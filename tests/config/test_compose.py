"""Every config and group combination composes; bad input is one clear ConfigError."""

from __future__ import annotations

from pathlib import Path

import pytest

from tg.config.loader import load_config
from tg.config.schema import AppConfig, LogLevel
from tg.config.validate import check_targets
from tg.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
PROFILES = sorted(p.stem for p in (REPO / "conf" / "profile").glob("*.yaml"))


def test_the_documented_profiles_exist() -> None:
    assert PROFILES == ["default", "quick", "strict"]


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("mode", ["simulation", "live"])
def test_every_profile_and_mode_composes(project: Path, profile: str, mode: str) -> None:
    loaded = load_config([f"profile={profile}", f"mode={mode}"], use_cache=False)
    assert isinstance(loaded.cfg, AppConfig)
    assert loaded.cfg.profile.name == profile
    assert loaded.cfg.mode.value == mode


@pytest.mark.parametrize("network", ["auto", "china_direct", "vpn"])
@pytest.mark.parametrize("source", sorted(p.stem for p in (REPO / "conf" / "source").glob("*.yaml")))
@pytest.mark.parametrize("cache", ["memory", "redis"])
def test_every_network_source_and_cache_combination_composes(
    project: Path, network: str, source: str, cache: str
) -> None:
    cfg = load_config(
        [f"network={network}", f"source={source}", f"cache={cache}", "network.proxy_url=http://127.0.0.1:7890"],
        use_cache=False,
    ).cfg
    assert (cfg.network.mode, cfg.source.name, cfg.cache.backend) == (network, source, cache)


def group_options(group: str) -> list[str]:
    return sorted(p.stem for p in (REPO / "conf" / group).glob("*.yaml"))


@pytest.mark.parametrize("data", group_options("data"))
@pytest.mark.parametrize("model", group_options("model"))
@pytest.mark.parametrize("train", group_options("train"))
@pytest.mark.parametrize("evaluation", group_options("eval"))
def test_every_model_group_combination_composes(
    project: Path, data: str, model: str, train: str, evaluation: str
) -> None:
    cfg = load_config([f"data={data}", f"model={model}", f"train={train}", f"eval={evaluation}"], use_cache=False).cfg
    assert cfg.model.name == model and cfg.model.members and cfg.train.train_end < cfg.train.calib_end


def test_universe_accepts_a_name_or_a_list_of_codes(project: Path) -> None:
    assert load_config(["data.universe=csi300"], use_cache=False).cfg.data.universe == "csi300"
    codes = load_config(["data.universe=[600519,000858]"], use_cache=False).cfg.data.universe
    assert [str(c) for c in codes] == ["600519", "000858"]  # 000858 keeps its leading zeros


def test_strict_profile_gates_more_than_default(project: Path) -> None:
    default = load_config([], use_cache=False).cfg.profile
    strict = load_config(["profile=strict"], use_cache=False).cfg.profile
    assert set(default.doctor_required) < set(strict.doctor_required)
    assert strict.fail_on_degraded and not default.fail_on_degraded
    assert "recent_snapshot" in strict.readiness_required


@pytest.mark.parametrize(
    ("override", "names"),
    [
        ("foo.bar=1", "foo"),
        ("profile=nope", "available: default, quick, strict"),
        ("serve.port=abc", "serve.port"),
        ("serve.port=70000", "serve.port"),
        ("logging.level=LOUD", "logging.level"),
        ("logging.max_bytes=-1", "logging.max_bytes"),
        ("profile.doctor_required=[dependencies,bogus]", "bogus"),
        ("profile.readiness_required=[nope]", "nope"),
        ("paths.data=''", "paths.data"),
        ("serve", "serve"),
        ("source.order=[local,yahoo]", "yahoo"),
        ("network.mode=satellite", "network.mode"),
        ("network.timeout_s=0", "network.timeout_s"),
        ("model.members=[gbm,xgboost]", "xgboost"),
        ("model.horizon=0", "model.horizon"),
        ("model.target_lag=9", "model.target_lag"),
        ("model.target_norm=minmax", "model.target_norm"),
        ("train.valid_end=2020-01-01", "train.valid_end"),
        ("eval.start=yesterday", "eval.start"),
        ("eval.top_k=0", "eval.top_k"),
        ("eval.risk_degree=1.5", "eval.risk_degree"),
        ("data.end=soon", "data.end"),
        ("data=nope", "available: cn_daily, default"),
    ],
)
def test_bad_override_is_one_line_naming_the_key(project: Path, override: str, names: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config([override], use_cache=False)
    message = str(info.value)
    assert names in message
    assert "\n" not in message
    assert info.value.from_command_line


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://proxy:21", "got ftp://"),
        ("proxy:8080", "no scheme"),
        ("socks5://u:hunter2@proxy:1080", "pip install 'httpx[socks]'"),
        ("http://u:hunter2@[::1:8080", "bad IPv6 host"),
        ("http://u:hunter2@proxy:99999", "bad port"),
        ("http://:8080", "names no host"),
    ],
)
def test_a_proxy_url_httpx_cannot_use_is_a_config_error_that_hides_the_password(
    project: Path, url: str, says: str
) -> None:
    """Before: these passed validation, then crashed as an internal error (exit 1) on first use."""
    with pytest.raises(ConfigError) as info:
        load_config(["network=vpn", f"network.proxy_url='{url}'"], use_cache=False)
    message = str(info.value)
    assert "network.proxy_url" in message and says in message and "hunter2" not in message
    assert info.value.exit_code == 2


def test_a_usable_proxy_url_passes(project: Path) -> None:
    for url in ("http://u:pw@proxy:8080", "https://proxy", "http://[::1]:3128"):
        assert load_config(["network=vpn", f"network.proxy_url='{url}'"], use_cache=False).cfg.network.proxy_url == url


def test_values_are_typed(project: Path) -> None:
    cfg = load_config(["serve.port=9100", "logging.level=DEBUG", "serve.metrics_enabled=true"], use_cache=False).cfg
    assert cfg.serve.port == 9100
    assert cfg.logging.level is LogLevel.DEBUG
    assert cfg.serve.metrics_enabled is True


def test_targets_outside_tg_are_refused() -> None:
    check_targets({"model": {"_target_": "tg.models.Something"}})
    with pytest.raises(ConfigError, match="os.system"):
        check_targets({"model": {"members": [{"_target_": "os.system"}]}})


def test_target_in_config_file_is_refused(project: Path, conf_copy: Path) -> None:
    text = (conf_copy / "config.yaml").read_text().replace("serve:\n", "serve:\n  _target_: subprocess.call\n")
    (conf_copy / "config.yaml").write_text(text)
    with pytest.raises(ConfigError):
        load_config([], use_cache=False)


@pytest.mark.parametrize(
    "damage",
    [b"name: [unclosed\n", b"name: default\nname: twice\n", b"\xff\xfe\x00garbage", b"- a list\n- not a mapping\n"],
)
def test_corrupt_config_file_is_a_config_error_not_from_command_line(
    project: Path, conf_copy: Path, damage: bytes
) -> None:
    (conf_copy / "profile" / "default.yaml").write_bytes(damage)
    with pytest.raises(ConfigError) as info:
        load_config(["logging.level=INFO"], use_cache=False)
    assert not info.value.from_command_line
    assert "\n" not in str(info.value)


def test_config_file_replaced_by_a_directory_is_a_config_error(project: Path, conf_copy: Path) -> None:
    (conf_copy / "profile" / "default.yaml").unlink()
    (conf_copy / "profile" / "default.yaml").mkdir()
    with pytest.raises(ConfigError):
        load_config([], use_cache=False)


def test_config_tree_ships_inside_the_wheel() -> None:
    text = (REPO / "pyproject.toml").read_text()
    assert '"conf" = "tg/conf"' in text


def test_a_yaml_syntax_error_names_the_file_and_line(project: Path, conf_copy: Path) -> None:
    (conf_copy / "network" / "vpn.yaml").write_text("mode: vpn\ntimeout_s: 15\nretries: [1,\n")
    with pytest.raises(ConfigError) as info:
        load_config(["network=vpn"], use_cache=False, environ={"TRADING_PROXY_URL": "http://p:1"})
    assert str(info.value).startswith(f"configuration error: {conf_copy / 'network' / 'vpn.yaml'}:4: YAML syntax error")


def test_an_unknown_key_in_a_config_file_names_the_file(project: Path, conf_copy: Path) -> None:
    (conf_copy / "network" / "china_direct.yaml").write_text("mode: china_direct\ntimout_s: 5\n")
    with pytest.raises(ConfigError) as info:
        load_config(["network=china_direct"], use_cache=False)
    assert str(info.value) == (
        "configuration error: network.timout_s: Key 'timout_s' not in 'NetworkConfig' "
        f"(set in {conf_copy / 'network' / 'china_direct.yaml'})"
    )


def test_a_bad_value_on_the_command_line_names_the_key_not_a_file(project: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(["serve.port=abc"], use_cache=False)
    assert str(info.value) == (
        "configuration error: serve.port: Value 'abc' of type 'str' could not be converted to Integer"
    )
