"""The universe the models read, and its shards (`data.shard` of `data.n_shards`, what `tg sweep` fans out)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tg.config.schema import DataConfig
from tg.data.local import embedded_root
from tg.errors import ConfigError
from tg.models.panel import load_panel
from tg.models.universe import MIN_UNIVERSE, data_universe, resolve_universe

ROOT = embedded_root()
TEN = ["600519", "000858", "601318", "600036", "000001", "600276", "600887", "000333", "601166", "600030"]


def test_one_shard_is_the_universe_as_before() -> None:
    for universe in ("all", TEN):
        data = replace(DataConfig(), universe=universe)
        assert data_universe(ROOT, data) == resolve_universe(ROOT, universe)


@pytest.mark.parametrize("universe", ["all", TEN])
def test_shards_take_every_nth_sorted_stock_and_cover_the_universe_once(universe) -> None:
    whole = resolve_universe(ROOT, universe) or load_panel(ROOT).symbols
    n = 2
    shards = [data_universe(ROOT, replace(DataConfig(), universe=universe, shard=i, n_shards=n)) for i in range(n)]
    assert all(shard is not None and len(shard) >= MIN_UNIVERSE for shard in shards)
    assert sorted(s for shard in shards for s in shard or []) == sorted(whole)
    assert shards[1] == sorted(whole)[1::n]


def test_a_shard_under_the_minimum_is_refused_naming_the_fix() -> None:
    data = replace(DataConfig(), universe=TEN, shard=2, n_shards=3)
    with pytest.raises(
        ConfigError, match=r"data.shard=2 of data.n_shards=3: 3 of the 10 stocks .*\(use at most 2 shards\)"
    ):
        data_universe(ROOT, data)
    with pytest.raises(ConfigError, match="too small to shard"):
        data_universe(ROOT, replace(data, universe=TEN[:5], shard=0, n_shards=2))
