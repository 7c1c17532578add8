"""The service config and trading.yaml: typed, and errors that name the file and field."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from testbed.config import load_service_config
from testbed.errors import InvalidConfig
from testbed.sharding import shard_of, symbols_of_shard
from testbed.trading import Trading, load_trading

MATCHER = {"service": "matcher", "instance": "matcher-1", "host": "127.0.0.1", "port": 18081,
           "trading": "/abs/trading.yaml", "otlp_endpoint": None,
           "ledger_dsn": "postgresql://trader:pw@127.0.0.1:15432/ledger",
           "marketdata": "http://127.0.0.1:18090", "shard": 1, "shards": 2}


def write(tmp_path: Path, body: Any, name: str = "svc.json") -> Path:
    path = tmp_path / name
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return path


def test_a_matcher_config(tmp_path: Path) -> None:
    config = load_service_config(write(tmp_path, MATCHER))
    assert (config.service, config.shard, config.shards, config.port) == ("matcher", 1, 2, 18081)
    assert config.trading == Path("/abs/trading.yaml") and config.ledger_deadline_seconds == 3.0


@pytest.mark.parametrize("changes, field", [
    ({"port": "http"}, "port"),
    ({"port": 70000}, "port"),
    ({"service": "router"}, "service"),
    ({"shard": 2}, "shard"),
    ({"ledger_dsn": None}, "ledger_dsn"),
    ({"marketdata": None}, "marketdata"),
    ({"colour": "blue"}, "colour"),
    ({"service": "gateway", "matchers": []}, "matchers"),
])
def test_errors_name_the_file_and_field(tmp_path: Path, changes: dict[str, Any],
                                        field: str) -> None:
    path = write(tmp_path, MATCHER | changes)
    with pytest.raises(InvalidConfig) as caught:
        load_service_config(path)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{path}: {field}: ")


def test_missing_fields_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(InvalidConfig, match="instance: Field required"):
        load_service_config(write(tmp_path, {k: v for k, v in MATCHER.items()
                                             if k != "instance"}))
    with pytest.raises(InvalidConfig, match="not valid JSON"):
        load_service_config(write(tmp_path, "{nope"))
    with pytest.raises(InvalidConfig, match="cannot read the file"):
        load_service_config(tmp_path / "absent.json")


def test_the_reference_trading_file(trading: Trading) -> None:
    aapl = trading.symbols["AAPL"]
    assert aapl.reference_price == Decimal("190.00") and aapl.reference_ticks == 19000
    assert aapl.render(19005) == "190.05" and aapl.to_ticks(Decimal("190.05")) == 19005
    assert trading.risk.max_order_quantity == 100000
    assert trading.risk.max_order_notional == Decimal(10000000)
    assert trading.marketdata.stale_after_seconds == 5


def test_trading_errors_name_the_field(tmp_path: Path) -> None:
    path = tmp_path / "trading.yaml"
    path.write_text("symbols:\n  AAPL: {reference_price: '190.005', tick: '0.01'}\n"
                    "risk: {price_band_pct: 10, max_order_quantity: 1, max_order_notional: '1',"
                    " account_pattern: '.*'}\nmarketdata: {stale_after_seconds: 5}\n")
    with pytest.raises(InvalidConfig, match=r"symbols\.AAPL: .*not a multiple of the tick"):
        load_trading(path)
    path.write_text(path.read_text().replace("'190.005'", "'190.00'").replace("'.*'", "'('"))
    with pytest.raises(InvalidConfig, match=r"risk\.account_pattern: .*regular expression"):
        load_trading(path)


def test_shard_of_is_crc32_modulo_shards() -> None:
    assert [shard_of(s, 2) for s in ("AAPL", "MSFT", "NVDA", "AMZN")] == [0, 1, 1, 0]
    assert all(shard_of(s, 1) == 0 for s in ("AAPL", "XOM"))
    with pytest.raises(ValueError):
        shard_of("AAPL", 0)


def test_every_symbol_has_exactly_one_shard(trading: Trading) -> None:
    shards = [symbols_of_shard(trading.symbols, i, 2) for i in range(2)]
    assert sorted(shards[0] + shards[1]) == sorted(trading.symbols)
    assert shards[0] and shards[1]
