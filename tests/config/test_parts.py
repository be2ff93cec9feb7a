"""Parts built from config (tg.config.parts): members and sources are `_target_` nodes, one builder, tg. only."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import TINY, invoke
from tg.commands.train import run_train
from tg.config.compose import config_dir
from tg.config.loader import load_config
from tg.config.parts import build_part
from tg.data.factory import build_sources
from tg.errors import ArtifactError, ConfigError
from tg.models.artifacts import load_model
from tg.models.members.gbm import GbmMember
from tg.models.members.linear import LinearMember

ROOT = Path(__file__).resolve().parents[2]


def test_a_member_is_its_node_built_with_the_node_keys() -> None:
    cfg = load_config(["model.members.gbm.leaves=32", "train.seed=7"], environ={}, use_cache=False).cfg
    gbm = build_part(cfg.model.members["gbm"], "model.members.gbm")
    assert isinstance(gbm, GbmMember) and gbm.params["num_leaves"] == 32 and gbm.seed == 7
    assert list(cfg.model.members) == ["gbm", "linear", "gru"]
    fast = load_config(["model=fast"], environ={}, use_cache=False).cfg
    assert list(fast.model.members) == ["gbm", "linear"]


def test_a_class_outside_tg_is_refused_before_it_is_imported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "thirdparty_member.py").write_text(
        f"open({str(marker)!r}, 'w').close()\nclass Member:\n    pass\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ConfigError, match="not allowed"):
        build_part({"_target_": "thirdparty_member.Member"}, "model.members.x")
    out = invoke("train", "model.members.gbm._target_=thirdparty_member.Member")
    assert out.code == 2 and "only classes under 'tg.'" in out.stderr
    assert not marker.exists() and "thirdparty_member" not in sys.modules


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("model.members.gbm.rounds=many", "model.members.gbm.rounds: 'many' is not a int"),
        ("model.members.gbm.leaves=1", "model.members.gbm: rounds >= 1, leaves >= 2"),
        ("+model.members.linear.alpha=1", "model.members.linear.alpha: not an argument of LinearMember"),
        ("model.members.gbm._target_=tg.models.members.gbm.NoSuchMember", "has no class NoSuchMember"),
        ("model.members.gbm._target_=tg.models.nope.Member", "cannot import it"),
        ("model/members=[gbm,xgboost]", "no config 'model/members/xgboost' (available: gbm, gru, linear)"),
        ("model.members=[gbm,linear]", "members are chosen as a group: model/members=[gbm,linear]"),
    ],
)
def test_a_bad_member_node_is_one_config_line(project: Path, override: str, message: str) -> None:
    out = invoke("train", override)
    assert out.code == 2, out.stderr
    assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def with_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, node: str) -> None:
    """A copy of the shipped conf tree, used by tg, with one more member file `model/members/ridge.yaml`."""
    conf = tmp_path / "conf"
    shutil.copytree(config_dir(), conf)
    (conf / "model" / "members" / "ridge.yaml").write_text(node, encoding="utf-8")
    monkeypatch.setenv("TG_CONFIG_DIR", str(conf))


def test_a_member_added_through_yaml_trains_saves_and_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's worked example: a member is a node of conf/model/members/; its name is the file's key."""
    with_member(tmp_path, monkeypatch, "ridge:\n  _target_: tg.models.members.linear.LinearMember\n  ridge: 1.0\n")
    project = tmp_path / "project"
    project.mkdir()
    loaded = load_config([*TINY, "model/members=[gbm,ridge]"], cwd=project, environ={}, use_cache=False)
    result = run_train(loaded, show_progress=False)
    manifest = json.loads((result.saved_in / "manifest.json").read_text())
    assert manifest["members"] == ["gbm", "ridge"]
    assert manifest["member_targets"]["ridge"] == "tg.models.members.linear.LinearMember"
    assert manifest["member_files"]["ridge"] == ["linear.json"]
    ensemble, _, _ = load_model(project / "models_saved")
    assert isinstance(ensemble.members["ridge"], LinearMember) and ensemble.members["ridge"].name == "ridge"


def test_two_members_of_one_class_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with_member(tmp_path, monkeypatch, "ridge:\n  _target_: tg.models.members.linear.LinearMember\n")
    from tg.models.training import build_members

    cfg = load_config(["model/members=[linear,ridge]"], cwd=tmp_path, environ={}, use_cache=False).cfg
    with pytest.raises(ConfigError, match="model.members.ridge: LinearMember is already member 'linear'"):
        build_members(cfg.model)


def test_models_saved_before_member_targets_still_load(trained_project: Path) -> None:
    """Manifests written before `member_targets`/`member_files` name the three original members only."""
    models = trained_project / "models_saved"
    manifest_path = next(models.glob("*/manifest.json"))
    raw = json.loads(manifest_path.read_text())
    legacy = {k: v for k, v in raw.items() if k not in ("member_targets", "member_files")}
    manifest_path.write_text(json.dumps(legacy))
    ensemble, _, _ = load_model(models)
    assert list(ensemble.members) == raw["members"]


def test_a_manifest_naming_a_class_outside_tg_is_refused(trained_project: Path) -> None:
    models = trained_project / "models_saved"
    manifest_path = next(models.glob("*/manifest.json"))
    raw = json.loads(manifest_path.read_text())
    raw["member_targets"]["linear"] = "os.system"
    manifest_path.write_text(json.dumps(raw))
    with pytest.raises(ArtifactError, match="member linear._target_ 'os.system' is not allowed"):
        load_model(models)


def test_sources_are_built_from_their_nodes_in_order(project: Path) -> None:
    loaded = load_config(
        ["source.order=[local,tencent]", "source.endpoints.tencent_quote='http://127.0.0.1:9/q='"],
        cwd=project,
        environ={},
        use_cache=False,
    )
    local, tencent = build_sources(loaded, client=object())
    assert local.name == "local" and tencent.name == "tencent"
    assert tencent._endpoints.quote == "http://127.0.0.1:9/q="  # the node reads the one endpoint setting
    out = invoke("data", "quote", "600519", "source.parts.local._target_=subprocess.Popen")
    assert out.code == 2 and "only classes under 'tg.'" in out.stderr


def test_the_deploy_target_is_built_from_its_node(project: Path) -> None:
    from tg.ops.service import LocalService
    from tg.ops.systemd_service import SystemdService

    for option, cls in (("local", LocalService), ("systemd", SystemdService)):
        loaded = load_config([f"deploy={option}"], cwd=project, environ={}, use_cache=False)
        assert loaded.cfg.deploy.target == option
        built = build_part({"_target_": loaded.cfg.deploy._target_}, "deploy", factory="configured", loaded=loaded)
        assert isinstance(built, cls)
    out = invoke("deploy", "status", "deploy._target_=subprocess.Popen")
    assert out.code == 2 and "only classes under 'tg.'" in out.stderr
    out = invoke("deploy", "status", "deploy._target_=tg.models.members.gbm.GbmMember")
    assert out.code == 2 and "has no configured()" in out.stderr


def test_no_name_chain_chooses_a_member_a_source_or_a_deploy_target() -> None:
    """The builders name no member, source or deploy target: the YAML nodes do."""
    names = r"(gbm|linear|gru|local|tencent|sina|eastmoney|akshare|systemd)"
    builders = ("tg/models/training.py", "tg/models/artifacts.py", "tg/data/factory.py", "tg/commands/deploy.py")
    for path in (*builders, "tg/config/validate.py"):
        text = (ROOT / path).read_text(encoding="utf-8")
        assert not re.search(rf"==\s*\"{names}\"", text), path
        assert not re.search(rf"\"{names}\"\s*:", text), path
