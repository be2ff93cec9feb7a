"""The cache byte format: exact round trips, and a clear DataError for anything damaged."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from tg.data.bars import FIELDS, BarSet
from tg.data.codec import decode_barset, encode_barset
from tg.data.symbols import Symbol
from tg.errors import DataError


def _bars(factor: bool = False) -> BarSet:
    dates = np.array(["2024-01-02", "2024-01-03", "2024-01-05"], dtype="datetime64[D]")
    return BarSet(
        symbol=Symbol("600519", "SH"),
        source="tencent",
        adjustment="qfq",
        dates=dates,
        open=np.array([1700.5, 1710.25, 1690.0]),
        high=np.array([1720.0, 1715.0, 1701.0]),
        low=np.array([1690.0, 1700.0, 1680.125]),
        close=np.array([1710.0, 1705.0, 1699.99]),
        volume=np.array([2_500_000.0, 3_100_000.0, 2_900_001.0]),
        amount=np.array([4.2e9, np.nan, 4.9e9]),
        fetched_at=datetime(2024, 1, 5, 7, 30, 1, 123456, tzinfo=UTC),
        factor=np.array([1.0, 1.0, 1.0421]) if factor else None,
    )


def _assert_same(a: BarSet, b: BarSet) -> None:
    assert (a.symbol, a.source, a.adjustment, a.fetched_at) == (b.symbol, b.source, b.adjustment, b.fetched_at)
    assert np.array_equal(a.dates, b.dates) and b.dates.dtype == np.dtype("datetime64[D]")
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))  # NaN == NaN here
    if a.factor is None:
        assert b.factor is None
    else:
        np.testing.assert_array_equal(a.factor, b.factor)


@pytest.mark.parametrize("factor", [False, True])
def test_round_trip_keeps_every_value_nan_and_factor(factor: bool) -> None:
    bars = _bars(factor)
    decoded = decode_barset(encode_barset(bars))
    _assert_same(bars, decoded)
    assert np.isnan(decoded.amount[1])
    decoded.close[0] = 1.0  # decoded arrays are writable copies, not views of the payload


def test_empty_bar_set_round_trips() -> None:
    empty = _bars().select(np.zeros(3, dtype=bool))
    decoded = decode_barset(encode_barset(empty))
    assert len(decoded) == 0 and decoded.symbol == Symbol("600519", "SH")


def test_format_is_a_json_header_and_raw_numbers_no_pickle() -> None:
    data = encode_barset(_bars(factor=True))
    header, _, body = data.partition(b"\n")
    assert header.startswith(b'{"format":"tg-barset","version":1')
    assert len(body) == 3 * 8 + 3 * 8 * 7
    assert b"pickle" not in data and not data.startswith(b"\x80")


@pytest.mark.parametrize("cut", [1, 10, 60, -1, -8, -30])
def test_truncated_bytes_raise_data_error(cut: int) -> None:
    data = encode_barset(_bars(factor=True))
    with pytest.raises(DataError) as info:
        decode_barset(data[:cut])
    assert "\n" not in str(info.value)


def test_flipped_body_byte_is_caught_by_the_checksum() -> None:
    data = bytearray(encode_barset(_bars()))
    data[-5] ^= 0xFF
    with pytest.raises(DataError, match="corrupt"):
        decode_barset(bytes(data))


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"\x00\x01\x02" * 1000,
        b"not json\n" + b"\x00" * 64,
        b'{"format":"other"}\n',
        b'{"format":"tg-barset","version":99}\n',
        b'{"format":"tg-barset","version":1,"length":"3"}\n',
        b"\x80\x04\x95pickle-ish\n",
    ],
)
def test_garbage_raises_data_error(garbage: bytes) -> None:
    with pytest.raises(DataError):
        decode_barset(garbage)


def test_invalid_adjustment_in_header_is_data_error() -> None:
    data = encode_barset(_bars()).replace(b'"adjustment":"qfq"', b'"adjustment":"xxx"')
    with pytest.raises(DataError, match="invalid"):
        decode_barset(data)
