"""deploy/systemd/trading-graph.service: a unit template whose rendering is a complete, hardened unit.

`systemd-analyze verify` is not available where the tests run: the rendered unit is parsed with
configparser, which reads systemd's INI dialect well enough for the keys checked here.
"""

from __future__ import annotations

import configparser
import re

import pytest

from tests.deploy import DEPLOY

UNIT = DEPLOY / "systemd" / "trading-graph.service"
PLACEHOLDERS = {
    "description": "tg — Trading Graph (analysis only)",
    "user": "tg",
    "workdir": "/srv/trading-graph",
    "tg": "/srv/trading-graph/.venv/bin/tg",
    "env_file": "/etc/trading-graph/env",
}


def _render(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


def _parse(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, comment_prefixes=("#", ";"))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys are case-sensitive
    parser.read_string(text)
    return parser


@pytest.fixture(scope="module")
def template() -> str:
    return UNIT.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def unit(template: str) -> configparser.ConfigParser:
    return _parse(_render(template, PLACEHOLDERS))


def test_placeholders_are_the_five_names(template: str) -> None:
    found = set(re.findall(r"\{\{(.*?)\}\}", template))
    assert found == set(PLACEHOLDERS), f"unexpected placeholders: {sorted(found ^ set(PLACEHOLDERS))}"
    # `{{ name }}` with spaces, or a lone brace pair, would survive a plain str.replace rendering
    assert all(re.fullmatch(r"[a-z_]+", name) for name in found)


def test_rendering_leaves_no_braces(template: str) -> None:
    rendered = _render(template, PLACEHOLDERS)
    assert "{{" not in rendered and "}}" not in rendered


def test_sections(unit: configparser.ConfigParser) -> None:
    assert unit.sections() == ["Unit", "Service", "Install"]


def test_unit_section(unit: configparser.ConfigParser) -> None:
    assert unit["Unit"]["Description"] == PLACEHOLDERS["description"]


def test_service_section(unit: configparser.ConfigParser) -> None:
    service = unit["Service"]
    expected = {
        "Type": "exec",
        "User": "tg",
        "WorkingDirectory": "/srv/trading-graph",
        "EnvironmentFile": "-/etc/trading-graph/env",
        "ExecStart": "/srv/trading-graph/.venv/bin/tg serve",
        "Restart": "on-failure",
        "RestartSec": "5",
        "KillSignal": "SIGTERM",
        "TimeoutStopSec": "20",
        "NoNewPrivileges": "yes",
        "PrivateTmp": "yes",
        "ProtectSystem": "full",
        "ProtectHome": "read-only",
        "ReadWritePaths": "/srv/trading-graph",
    }
    assert {key: service.get(key) for key in expected} == expected


def test_metrics_enabled_in_environment(template: str) -> None:
    """Environment= may repeat (configparser keeps only the last): read every line of [Service]."""
    service = template.split("[Service]", 1)[1].split("[Install]", 1)[0]
    environment = re.findall(r"^Environment=(.*)$", service, flags=re.MULTILINE)
    assert "TRADING_METRICS_ENABLED=1" in environment
    # every variable the unit sets is a plain NAME=value pair (no quoting systemd would keep)
    assert all(re.fullmatch(r"[A-Z_]+=\S+", value) for value in environment), environment


def test_install_section(unit: configparser.ConfigParser) -> None:
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_tg_path_must_be_absolute(template: str) -> None:
    """ExecStart takes the console script as rendered: the placeholder is the whole first word."""
    exec_start = re.search(r"^ExecStart=(.*)$", template, flags=re.MULTILINE)
    assert exec_start is not None
    assert exec_start.group(1) == "{{tg}} serve"
    assert PLACEHOLDERS["tg"].startswith("/")
