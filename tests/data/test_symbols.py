import pytest

from tg.data.symbols import Symbol, parse_symbol
from tg.errors import UsageError


@pytest.mark.parametrize("text", ["600519", "sh600519", "SH600519", "600519.SH", "600519.sh", "1.600519", " 600519 "])
def test_every_spelling_of_moutai(text: str) -> None:
    assert parse_symbol(text) == Symbol("600519", "SH")


@pytest.mark.parametrize(
    ("text", "canonical", "index"),
    [
        ("000001", "000001.SZ", False),
        ("300750", "300750.SZ", False),
        ("430047", "430047.BJ", False),
        ("0.000001", "000001.SZ", False),
        ("SH000300", "000300.SH", True),
        ("000300.SH", "000300.SH", True),
        ("1.000300", "000300.SH", True),
        ("CSI300", "000300.SH", True),
        ("sz399001", "399001.SZ", True),
        ("000300", "000300.SZ", False),
    ],
)
def test_exchange_and_index_rules(text: str, canonical: str, index: bool) -> None:
    symbol = parse_symbol(text)
    assert (symbol.canonical, symbol.is_index) == (canonical, index)


def test_source_spellings() -> None:
    s = parse_symbol("000858")
    assert (s.qlib, s.prefixed, s.secid) == ("SZ000858", "sz000858", "0.000858")


@pytest.mark.parametrize("text", ["", "60051", "6005199", "AAPL", "hk00700", "2.600519", "600519.HK", "700519"])
def test_anything_else_is_a_clear_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="symbol"):
        parse_symbol(text)
