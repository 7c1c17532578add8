"""The proxy's pure parts on fake clocks: specs, shaping arithmetic, fault expiry, config."""

from __future__ import annotations

import random
from typing import Any

import pytest

from controlplane.errors import InvalidInput
from controlplane.platform.local.faultproxy.config import parse_config, split_address
from controlplane.platform.local.faultproxy.shaping import (
    DelayLine,
    TokenBucket,
    delay_of,
    slice_size,
)
from controlplane.platform.local.faultproxy.spec import FaultSpec, parse_spec
from controlplane.platform.local.faultproxy.state import FaultState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_spec_names_its_kinds_and_shares() -> None:
    spec = parse_spec({"latency_ms": 100, "jitter_ms": 10, "bandwidth_kbps": 80,
                       "reset_probability": 0.1, "ttl_s": 5})
    assert spec.kinds() == ["latency", "jitter", "bandwidth", "reset_probability"]
    assert spec.share("upstream") == spec.share("downstream") == 0.5
    assert spec.rate_bytes("downstream") == 10_000
    one_way = parse_spec({"latency_ms": 100, "bandwidth_kbps": 8, "direction": "upstream",
                          "ttl_s": 5})
    assert (one_way.share("upstream"), one_way.share("downstream")) == (1.0, 0.0)
    assert one_way.rate_bytes("downstream") is None and one_way.shapes("downstream") is False
    assert parse_spec({"ttl_s": 1}).kinds() == []


@pytest.mark.parametrize("data, field", [
    ({"ttl_s": float("nan")}, "ttl_s"),
    ({"ttl_s": True}, "ttl_s"),
    ({"ttl_s": 5, "jitter_ms": 60_001}, "jitter_ms"),
    ({"ttl_s": 5, "extra": 1}, "extra"),
    ("latency", "(body)"),
])
def test_bad_specs_name_the_field(data: Any, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_spec(data)
    assert caught.value.field == field and str(caught.value).startswith("fault spec: ")


def test_unknown_fields_list_the_valid_ones() -> None:
    with pytest.raises(InvalidInput, match="unknown field; valid fields: ttl_s, latency_ms"):
        parse_spec({"ttl_s": 5, "latncy_ms": 5})


def test_delays_split_by_direction_and_never_go_negative() -> None:
    rng = random.Random(7)
    spec = FaultSpec(latency_ms=200, ttl_s=5)
    assert delay_of(spec, "upstream", rng) == delay_of(spec, "downstream", rng) == 0.1
    assert delay_of(None, "upstream", rng) == 0.0
    jittery = FaultSpec(latency_ms=10, jitter_ms=100, direction="downstream", ttl_s=5)
    delays = [delay_of(jittery, "downstream", rng) for _ in range(2000)]
    assert min(delays) == 0.0 and 0.1 < max(delays) <= 0.11
    assert delay_of(jittery, "upstream", rng) == 0.0


def test_the_delay_line_never_reorders() -> None:
    line = DelayLine()
    assert line.due(0.0, 0.5) == 0.5
    assert line.due(0.1, 0.0) == 0.5   # would overtake: waits for the chunk ahead
    assert line.due(1.0, 0.1) == 1.1


def test_the_token_bucket_paces_to_its_rate() -> None:
    bucket = TokenBucket(rate=1000, burst=100, now=0.0)
    assert bucket.reserve(100, 0.0) == 0.0          # the burst
    assert bucket.reserve(100, 0.0) == pytest.approx(0.1)
    assert bucket.reserve(100, 0.1) == pytest.approx(0.1)
    assert bucket.reserve(50, 10.0) == 0.0          # refilled, capped at the burst
    assert bucket.reserve(100, 10.0) == pytest.approx(0.05)
    assert slice_size(12_500) == 625 and slice_size(10) == 256 and slice_size(1e9) == 16384


def test_a_fault_expires_on_the_clock_and_tells_listeners() -> None:
    clock, heard = Clock(), []
    state = FaultState(clock, heard.append)
    spec = FaultSpec(latency_ms=5, ttl_s=2)
    state.set(spec)
    assert state.current() == spec and state.remaining() == 2
    clock.now += 1.5
    assert state.remaining() == pytest.approx(0.5)
    clock.now += 0.5
    assert state.current() is None and state.remaining() is None
    assert heard == [spec, None]
    assert state.clear() is False and heard == [spec, None]


def test_a_new_fault_replaces_the_old_one() -> None:
    clock = Clock()
    state = FaultState(clock)
    state.set(FaultSpec(latency_ms=5, ttl_s=10))
    state.set(FaultSpec(blackhole=True, ttl_s=1))
    clock.now += 1
    assert state.current() is None
    state.set(FaultSpec(latency_ms=5, ttl_s=10))
    assert state.clear() is True and state.current() is None


def test_config_errors_name_the_field() -> None:
    good = {"admin": {"port": 9000},
            "links": [{"name": "gateway->matcher-0", "listen": "127.0.0.1:0",
                       "upstream": "127.0.0.1:18081"}]}
    config = parse_config(good, "proxy.json")
    assert config.links[0].upstream_at == ("127.0.0.1", 18081)
    assert config.admin.host == "127.0.0.1"
    bad = {**good, "links": [good["links"][0] | {"name": "gateway matcher"}]}
    with pytest.raises(InvalidInput, match=r"^proxy.json: links.0.name: must look like"):
        parse_config(bad, "proxy.json")
    with pytest.raises(ValueError, match="host:port"):
        split_address(":80")
