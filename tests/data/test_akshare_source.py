"""`AkshareSource` over akshare's real code, with the recorded Eastmoney body served at requests' transport
(`responses`): the same bars as our own parser, faults as one-line errors, failover, the CLI, the missing extra."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
import requests
import responses
from prometheus_client import CollectorRegistry

from tests.conftest import invoke
from tests.data.samples import sample_lines
from tg.config.loader import load_config
from tg.data.akshare_source import EXTRA_MISSING, AkshareSource
from tg.data.bars import FIELDS
from tg.data.chain import SourceChain
from tg.data.eastmoney import parse_kline
from tg.data.factory import build_sources
from tg.data.local import LocalSource
from tg.data.symbols import parse_symbol
from tg.data.validation import validate_bars
from tg.errors import ConfigError, NoData, SourceError
from tg.ops.metrics import TgMetrics


@pytest.fixture
def akshare_installed() -> None:
    """These tests run akshare for real: a missing extra is a failure, never a silent skip."""
    if importlib.util.find_spec("akshare") is None:
        pytest.fail("the akshare extra is required: pip install -e '.[dev,akshare]' (scripts/test does)")


needs_akshare = pytest.mark.usefixtures("akshare_installed")
# where akshare 1.19's stock_zh_a_hist sends its GET (the endpoint of the recorded body)
KLINE_URL = "https://push2his.eastmoney.com/api/qt/stock/kline/get"
CMES = parse_symbol("601872")  # 招商轮船: the recorded body, qfq, 2024-12-18 .. 2024-12-31
MOUTAI = parse_symbol("600519")  # in the embedded local data
DEC = (date(2024, 12, 1), date(2024, 12, 31))


@pytest.fixture
def served() -> Iterator[responses.RequestsMock]:
    """requests' transport answers from registered bodies; an unregistered URL is a connection error."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def kline_body() -> bytes:
    return sample_lines("eastmoney-kline.txt")[0]


def query(mock: responses.RequestsMock, n: int = 0) -> dict[str, str]:
    return {
        k: v[0] for k, v in parse_qs(urlsplit(str(mock.calls[n].request.url)).query, keep_blank_values=True).items()
    }


@needs_akshare
def test_bars_equal_our_eastmoney_parser_to_the_cent_and_the_share(served: responses.RequestsMock) -> None:
    served.add(responses.GET, KLINE_URL, body=kline_body(), content_type="application/json")
    bars = AkshareSource(timeout_s=2.5).daily_bars(CMES, *DEC, "qfq")
    ours = parse_kline(kline_body(), CMES, "qfq")
    assert (bars.source, bars.adjustment, len(bars)) == ("akshare", "qfq", 10)
    assert list(bars.dates) == list(ours.dates)
    for field in FIELDS:
        assert np.array_equal(getattr(bars, field), getattr(ours, field), equal_nan=True), field
    assert (bars.close[0], bars.volume[0], bars.amount[0]) == (6.18, 84_274_300, 542_829_495.0)  # 842743 lots
    clean, quarantined = validate_bars(bars)
    assert quarantined == [] and len(clean) == 10
    assert query(served) | {"ut": "<akshare's token>"} == {
        "secid": "1.601872",
        "klt": "101",
        "fqt": "1",
        "beg": "20241201",
        "end": "20241231",
        "fields1": "f1,f2,f3,f4,f5,f6",
        "fields2": "f51,f52,f53,f54,f55,f56,f57,f58,f59,f60,f61,f116",
        "ut": "<akshare's token>",
    }
    assert served.calls[0].request.req_kwargs["timeout"] == 2.5  # type: ignore[attr-defined]  # responses records it


@needs_akshare
@pytest.mark.parametrize(("adjustment", "fqt"), [("none", "0"), ("qfq", "1"), ("hfq", "2")])
def test_adjustment_reaches_fqt(served: responses.RequestsMock, adjustment: str, fqt: str) -> None:
    served.add(responses.GET, KLINE_URL, body=kline_body())
    bars = AkshareSource().daily_bars(CMES, None, None, adjustment)
    assert bars.adjustment == adjustment and len(bars) == 10
    assert (query(served)["fqt"], query(served)["beg"], query(served)["end"]) == (fqt, "19700101", "20500101")


def test_unknown_adjustment_and_sh_index_ask_nothing(served: responses.RequestsMock) -> None:
    with pytest.raises(SourceError, match="unknown adjustment 'split'"):
        AkshareSource().daily_bars(CMES, None, None, "split")
    # akshare would read SH000300's code as the SZ stock 000300: not asked, NoData
    with pytest.raises(NoData, match="cannot address 000300.SH"):
        AkshareSource().daily_bars(parse_symbol("SH000300"), None, None, "qfq")
    assert len(served.calls) == 0


@needs_akshare
@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (dict(status=500, body=b"oops"), SourceError, "not JSON"),
        (dict(body=b"\x00\xffgarbage"), SourceError, "not JSON"),
        (dict(body=b"{}"), SourceError, "unexpected answer \\(KeyError"),
        (dict(body=b'{"rc":0,"data":{"code":"601872","klines":["2024-12-18,6.11"]}}'), SourceError, "unexpected"),
        (dict(body=requests.ConnectionError("Connection refused")), SourceError, "push2his.eastmoney.com failed"),
        (dict(body=requests.ReadTimeout("read timed out")), SourceError, "timed out after 5s"),
        (dict(body=b'{"rc":0,"data":{"code":"601872","klines":[]}}'), NoData, "no daily bars for 601872.SH"),
        (dict(body=b'{"rc":102,"rt":17,"data":null}'), NoData, "no daily bars for 601872.SH"),
    ],
    ids=["http500", "garbage", "no-data-key", "short-row", "connection", "timeout", "empty-klines", "rc102"],
)
def test_faults_are_one_line_errors_naming_akshare(
    served: responses.RequestsMock, answer: dict, error: type[SourceError], message: str
) -> None:
    served.add(responses.GET, KLINE_URL, **answer)
    with pytest.raises(error, match=message) as info:
        AkshareSource().daily_bars(CMES, *DEC, "qfq")
    assert type(info.value) is error
    assert str(info.value).startswith("akshare: ") and "\n" not in str(info.value)


@needs_akshare
def test_bars_outside_the_range_are_no_data(served: responses.RequestsMock) -> None:
    served.add(responses.GET, KLINE_URL, body=kline_body())
    with pytest.raises(NoData, match="between 2025-01-01 and 2025-01-31"):
        AkshareSource().daily_bars(CMES, date(2025, 1, 1), date(2025, 1, 31), "qfq")


def chain(**kwargs: Any) -> SourceChain:
    return SourceChain(
        [AkshareSource(), LocalSource()], sleep=lambda s: None, metrics=TgMetrics(CollectorRegistry()), **kwargs
    )


@needs_akshare
def test_chain_fails_over_from_akshare_to_local(served: responses.RequestsMock) -> None:
    served.add(responses.GET, KLINE_URL, status=500, body=b"<html>oops</html>")
    failover = chain(retries=1)
    bars = failover.daily_bars(MOUTAI, date(2025, 10, 1), date(2025, 10, 31), "qfq")
    assert bars.source == "local" and len(bars) > 0
    assert failover.errors() == {"akshare": 2, "local": 0}  # first try + one retry
    assert len(served.calls) == 2


def test_quotes_go_to_the_next_source_without_tripping_the_breaker(served: responses.RequestsMock) -> None:
    with pytest.raises(NoData, match="quotes are not offered by this source; use tencent, sina or eastmoney"):
        AkshareSource().quote(MOUTAI)
    failover = chain(breaker_failures=1)
    for _ in range(3):
        assert failover.quote(MOUTAI).source == "local"
    assert failover.breakers["akshare"].state == "closed" and failover.errors()["akshare"] == 0
    assert len(served.calls) == 0


@needs_akshare
def test_cli_fetch_through_akshare(project: Path, served: responses.RequestsMock) -> None:
    served.add(responses.GET, KLINE_URL, body=kline_body(), content_type="application/json")
    out = invoke(
        "data", "fetch", "601872", "source=akshare", "source.adjustment=qfq",
        "--start", "2024-12-01", "--end", "2024-12-31", "--json",
    )  # fmt: skip
    assert out.code == 0, out.stderr
    data = out.json()
    assert (data["source"], data["adjustment"], data["rows"], data["quarantined"]) == ("akshare", "qfq", 10, [])
    assert (data["first_date"], data["last_date"], data["source_order"]) == (
        "2024-12-18",
        "2024-12-31",
        ["akshare", "local"],
    )
    assert data["last_bars"][-1]["volume"] == 48_379_400  # shares, not lots
    assert len(served.calls) == 1  # network=auto: no probe, only akshare's request


def test_missing_extra_is_a_one_line_config_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "akshare", None)  # what `import akshare` sees when it is not installed
    with pytest.raises(ConfigError) as info:
        build_sources(load_config(["source=akshare"], use_cache=False))
    assert str(info.value) == EXTRA_MISSING == "source akshare needs the akshare extra: pip install 'tg[akshare]'"
    out = invoke("data", "fetch", "601872", "source=akshare")
    assert out.code == 2 and EXTRA_MISSING in out.stderr and len(out.stderr.strip().splitlines()) == 1


@needs_akshare
def test_vpn_is_a_config_error_since_akshare_ignores_the_proxy(project: Path) -> None:
    overrides = ["source=akshare", "network=vpn", "network.proxy_url=http://127.0.0.1:7890"]
    with pytest.raises(ConfigError, match="cannot use network.proxy_url"):
        build_sources(load_config(overrides, use_cache=False))
    out = invoke("data", "fetch", "601872", *overrides)
    assert out.code == 2 and "cannot use network.proxy_url" in out.stderr


def test_an_akshare_that_fails_to_import_is_a_source_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "akshare", None)
    with pytest.raises(SourceError, match="cannot import akshare .*pip install 'tg\\[akshare\\]'"):
        AkshareSource().daily_bars(CMES, *DEC, "qfq")


def test_tg_help_and_health_do_not_import_akshare(project: Path) -> None:
    script = (
        "import sys; from typer.testing import CliRunner; from tg.cli import app; "
        "codes = [CliRunner().invoke(app, args).exit_code for args in (['--help'], ['health', 'source=akshare'])]; "
        "print(codes[0], 'akshare' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", script], cwd=project, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["0", "False", "False"]
