"""The shard map (epochs, moves, the gateway's URL list), the gateway's retry of a
misdirected order, and the matcher's single-threaded engine model: no processes."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, Counter
from pydantic import ValidationError

from testbed.gateway.upstream import GatewayShardMap, Matchers
from testbed.matcher.capacity import EngineMetrics, EngineModel
from testbed.service.client import Reply
from testbed.sharding import ShardMap, symbols_of_shard

SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOG", "TSLA", "JPM", "XOM"]


def test_every_symbol_has_exactly_one_owner_under_any_map() -> None:
    for shards in (1, 2, 3, 4):
        layout = ShardMap(epoch=1, shards=shards)
        owned = [layout.symbols_of(i, SYMBOLS) for i in range(shards)]
        assert sorted(s for part in owned for s in part) == sorted(SYMBOLS)


def test_moves_name_each_symbol_that_changes_owner() -> None:
    one, two = ShardMap(epoch=1, shards=1), ShardMap(epoch=2, shards=2)
    moves = one.moves(two, SYMBOLS)
    assert moves and all(old == 0 and new == 1 for old, new in moves.values())
    assert sorted(moves) == symbols_of_shard(SYMBOLS, 1, 2)
    assert two.moves(two, SYMBOLS) == {}


def test_a_shard_beyond_the_map_owns_nothing() -> None:
    assert ShardMap(epoch=3, shards=1).symbols_of(1, SYMBOLS) == []


@pytest.mark.parametrize(("body", "field"), [
    ({"epoch": 0, "shards": 1}, "epoch"),
    ({"epoch": 1, "shards": 0}, "shards"),
    ({"epoch": "2", "shards": 1}, "epoch"),
    ({"epoch": 1, "shards": 1, "shard": 0}, "shard"),
])
def test_a_bad_shard_map_names_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as err:
        ShardMap.model_validate(body)
    assert err.value.errors()[0]["loc"][0] == field


def test_the_gateway_map_needs_one_url_per_shard() -> None:
    with pytest.raises(ValidationError, match="one URL per shard"):
        GatewayShardMap(epoch=2, shards=2, matchers=["http://127.0.0.1:1"])
    with pytest.raises(ValidationError, match="http://"):
        GatewayShardMap(epoch=2, shards=1, matchers=["127.0.0.1:1"])


class FakeMatchers:
    """Two matcher URLs: the old one answers 421 (not owned) until the map switches."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.on_call: Any = None

    async def request(self, method: str, url: str, **_: Any) -> Reply:
        self.calls.append(url)
        if self.on_call is not None:
            self.on_call(len(self.calls))
        if url.startswith("http://old"):
            return Reply(421, {"error": {"message": "not owned"}, "retryable": True})
        return Reply(201, {"order_id": "x"})


def _order() -> Any:
    class Order:
        account, client_order_id, symbol, side, type = "a", None, "AAPL", "buy", "limit"
        quantity, price_ticks = 1, 100
    return Order()


def test_a_misdirected_order_is_sent_again_to_the_owner_of_the_new_map() -> None:
    client = FakeMatchers()
    redirects = Counter("redirects", "r", registry=CollectorRegistry())
    matchers = Matchers(client, ["http://old"], timeout=1, redirects=redirects,  # type: ignore[arg-type]
                        redirect_pause_s=0)
    new = GatewayShardMap(epoch=2, shards=1, matchers=["http://new"])
    client.on_call = lambda n: matchers.switch(new) if n == 3 else None
    reply = asyncio.run(matchers.place("id-1", _order()))
    assert reply.status == 201
    assert client.calls == ["http://old/v1/orders"] * 3 + ["http://new/v1/orders"]
    assert redirects._value.get() == 3


def test_a_resharding_that_never_settles_ends_in_the_misdirected_reply() -> None:
    client = FakeMatchers()
    matchers = Matchers(client, ["http://old"], timeout=1, redirect_window_s=0.05,  # type: ignore[arg-type]
                        redirect_pause_s=0.01)
    reply = asyncio.run(matchers.place("id-1", _order()))
    assert reply.status == 421 and 2 <= len(client.calls) <= 10


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds            # every order's wait ends exactly at its slot's end


def test_the_engine_serves_one_order_at_a_time_at_its_cost() -> None:
    fake, registry = FakeTime(), CollectorRegistry()
    engine = EngineModel(0.02, EngineMetrics(registry, 0.02), sleep=fake.sleep,
                         clock=fake.clock)
    ends: list[float] = []

    async def order() -> None:
        await engine.process()
        ends.append(round(fake.now - 100.0, 6))

    async def main() -> None:
        await asyncio.gather(order(), order(), order())
    asyncio.run(main())
    assert engine.capacity_per_s == pytest.approx(50.0)
    assert registry.get_sample_value("matcher_engine_busy_seconds_total") == pytest.approx(0.06)
    assert registry.get_sample_value("matcher_engine_orders_total") == 3
    assert registry.get_sample_value("matcher_engine_queue_depth") == 0
    assert registry.get_sample_value("matcher_engine_cost_seconds") == pytest.approx(0.02)
    assert max(ends) == pytest.approx(0.06)      # three orders back to back: 3 x 20 ms


def test_overshooting_timers_do_not_lower_the_modelled_capacity() -> None:
    """The schedule runs from reservations: a late wake-up does not delay the next slot."""
    fake = FakeTime()

    async def late_sleep(seconds: float) -> None:
        await asyncio.sleep(0)                # the other nine arrive while the first waits
        fake.now = max(fake.now, 100.0 + seconds) + 0.005   # and every wake-up is 5 ms late

    engine = EngineModel(0.02, sleep=late_sleep, clock=fake.clock)

    async def main() -> None:
        await asyncio.gather(*(engine.process() for _ in range(10)))
    asyncio.run(main())
    assert engine.backlog_s() == 0.0
    assert engine._free_at - 100.0 == pytest.approx(0.2)   # 10 slots of 20 ms, not 25 ms


def test_no_cost_means_no_engine_stage() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    asyncio.run(EngineModel(0.0, sleep=sleep).process())
    assert slept == [] and EngineModel(0.0).capacity_per_s is None
    with pytest.raises(ValueError, match="engine cost"):
        EngineModel(-1.0)
