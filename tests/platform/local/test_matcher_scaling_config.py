"""What the local platform writes for a scalable matcher: the shard-map epoch (only ever
growing, across restarts), the engine cost from the topology (bad values refused naming the
field), and mesh links added at run time in the fault proxy's configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidTopology
from controlplane.platform.local.daemon import build_context
from controlplane.platform.local.kinds import KINDS
from controlplane.platform.local.shardmap import bump_epoch, read_epoch
from controlplane.platform.local.state import ClusterRecord, StateDir
from controlplane.topology import DEFAULT_TOPOLOGY, parse_topology, resolve_ports

pytestmark = pytest.mark.cluster


def _topology(settings: dict | None = None):
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    if settings is not None:
        data["services"]["matcher"]["settings"] = settings
    return parse_topology(data, "t.yaml")


@pytest.fixture()
def ctx(tmp_path: Path):
    topo = _topology({"engine_cost_ms": 12.5})
    state = StateDir(tmp_path / "state")
    state.make()
    state.write_cluster(ClusterRecord(topo.name, topo.model_dump(mode="json"),
                                      resolve_ports(topo, all_auto=True).ports, []))
    context = build_context(state)
    yield context
    if context.pg_root != state.root / "data":
        shutil.rmtree(context.pg_root, ignore_errors=True)


def _config(ctx, service: str, index: int) -> dict:
    svc = ctx.topology.services[service]
    spec = KINDS[svc.kind].build(ctx, service, svc, index)
    return json.loads((spec.cwd / "config.json").read_text())


def test_the_epoch_only_grows_and_starts_at_one(tmp_path: Path) -> None:
    assert read_epoch(tmp_path) == 1
    assert [bump_epoch(tmp_path) for _ in range(3)] == [1, 2, 3]
    assert read_epoch(tmp_path) == 3
    (tmp_path / "shardmap.json").write_text("not json")
    assert read_epoch(tmp_path) == 1


def test_matchers_and_gateways_get_the_epoch_and_the_engine_cost(ctx) -> None:
    bump_epoch(ctx.state.root)
    bump_epoch(ctx.state.root)
    matcher = _config(ctx, "matcher", 1)
    assert (matcher["shard"], matcher["shards"], matcher["shard_epoch"]) == (1, 2, 2)
    assert matcher["engine_cost_ms"] == 12.5
    gateway = _config(ctx, "gateway", 0)
    assert gateway["shard_epoch"] == 2 and len(gateway["matchers"]) == 2


def test_a_link_added_at_run_time_is_in_the_proxys_config(ctx) -> None:
    ctx.ports["matcher-2"] = {"http": 1}
    ctx.ports["mesh-0"]["gateway-0->matcher-2"] = 2
    svc = ctx.topology.services["mesh"]
    spec = KINDS["faultproxy"].build(ctx, "mesh", svc, 0)
    links = {link["name"]: link for link in
             json.loads((spec.cwd / "faultproxy.json").read_text())["links"]}
    assert links["gateway-0->matcher-2"] == {"name": "gateway-0->matcher-2",
                                              "listen": "127.0.0.1:2",
                                              "upstream": "127.0.0.1:1"}
    assert "gateway-0->matcher-0" in links and "matcher-1->ledger-proxy-0" in links
    assert _config(ctx, "gateway", 0)["matchers"][2] == "http://127.0.0.1:2"


@pytest.mark.parametrize(("settings", "field"), [
    ({"engine_cost_ms": -1}, "services.matcher.settings.engine_cost_ms"),
    ({"engine_cost_ms": "fast"}, "services.matcher.settings.engine_cost_ms"),
    ({"engine_cost": 5}, "services.matcher.settings.engine_cost"),
])
def test_a_bad_engine_cost_is_refused_naming_the_field(settings: dict, field: str) -> None:
    with pytest.raises(InvalidTopology) as err:
        _topology(settings)
    assert "t.yaml" in str(err.value) and field in str(err.value)
