"""The topology file: the default one loads, and every kind of mistake names file, field, value."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from controlplane.errors import InvalidTopology
from controlplane.topology import (
    DEFAULT_TOPOLOGY,
    load_topology,
    resolve_ports,
    start_order,
    with_alertmanager,
)


def test_default_topology_loads_with_dependency_order() -> None:
    topo = load_topology()
    order = start_order(topo)
    assert order.index("etcd") < order.index("ledger") < order.index("ledger-proxy")
    assert order.index("matcher") < order.index("gateway")
    assert topo.services["ledger"].instances == 2
    assert topo.targets_for("ledger").rpo_orders == 0


def test_auto_ports_are_distinct_and_fixed_ports_kept() -> None:
    topo = load_topology()
    plan = resolve_ports(topo).ports
    assert plan["gateway-0"]["http"] == 18080
    assert plan["ledger-proxy-0"]["primary"] == 15432
    every = [p for ports in plan.values() for p in ports.values()]
    assert len(every) == len(set(every))
    auto = resolve_ports(topo, all_auto=True).ports
    assert auto["gateway-0"]["http"] != 18080


def test_with_alertmanager_puts_it_between_prometheus_and_the_control_plane() -> None:
    topo = with_alertmanager(load_topology())
    order = start_order(topo)
    assert order.index("controlplane") < order.index("alertmanager") < order.index("prometheus")
    assert topo.services["alertmanager"].kind == "alertmanager"
    assert with_alertmanager(topo) == topo                    # once only
    assert not load_topology().has_kind("alertmanager")       # optional: off by default


def _write(tmp_path: Path, mutate) -> Path:
    data = yaml.safe_load(DEFAULT_TOPOLOGY.read_text())
    mutate(data)
    path = tmp_path / "topology.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


CASES = [
    ("unknown kind", lambda d: d["services"]["gateway"].update(kind="gatewy"),
     ["services.gateway.kind", "gatewy", "available kinds", "matcher"]),
    ("negative instances", lambda d: d["services"]["matcher"].update(instances=-1),
     ["services.matcher.instances", "-1"]),
    ("typo in a field", lambda d: d["services"]["matcher"].update(instanecs=3),
     ["services.matcher.instanecs", "Extra inputs are not permitted"]),
    ("unknown dependency", lambda d: d["services"]["gateway"].update(depends_on=["matchr"]),
     ["services.gateway.depends_on", "matchr", "Use one of"]),
    ("single ledger node", lambda d: d["services"]["ledger"].update(instances=1),
     ["services.ledger.instances", "synchronous standby", "1"]),
    ("Patroni timing", lambda d: d["services"]["ledger"]["settings"].update(
        ttl=4, patroni="debian"), ["services.ledger.settings", "retry_timeout", "ttl"]),
    ("a lease Patroni 4 would raise", lambda d: d["services"]["ledger"]["settings"].update(
        ttl=10), ["services.ledger.settings", "ttl 10", "raises to 20"]),
    ("unknown Patroni", lambda d: d["services"]["ledger"]["settings"].update(patroni="4.1"),
     ["services.ledger.settings.patroni", "pinned", "debian"]),
    ("quorum commit on Debian's Patroni", lambda d: d["services"]["ledger"]["settings"].update(
        synchronous_mode="quorum", patroni="debian", ttl=10),
     ["services.ledger.settings", "quorum needs Patroni 4"]),
    ("more sync standbys than standbys", lambda d: d["services"]["ledger"]["settings"].update(
        synchronous_node_count=2),
     ["services.ledger.settings.synchronous_node_count", "ledger's 1 standbys", "2"]),
    ("bad port name", lambda d: d["services"]["gateway"].update(ports={"grpc": 9000}),
     ["services.gateway.ports.grpc", "Use: http"]),
    ("port out of range", lambda d: d["services"]["gateway"].update(ports={"http": 80}),
     ["services.gateway.ports.http", "80", "between 1024 and 65535"]),
    ("cycle", lambda d: d["services"]["etcd"].update(depends_on=["gateway"]),
     ["cycle", "etcd"]),
    ("duplicate kind", lambda d: d["services"].update(gw2={"kind": "gateway"}),
     ["services.gw2.kind", "already used by service 'gateway'"]),
    ("forward URL", lambda d: d["services"]["controlplane"]["settings"].update(
        forward_otlp_endpoint="ftp://collector"),
     ["services.controlplane.settings.forward_otlp_endpoint", "ftp://collector"]),
    ("port collision", lambda d: d["services"]["matcher"].update(ports={"http": 18080}),
     ["port 18080 is also used"]),
    ("not a receiver integration", lambda d: d["services"].update(alertmanager={
        "kind": "alertmanager", "settings": {"people": {"webhook": [{"url": "http://x"}]}}}),
     ["services.alertmanager.settings.people", "'webhook' is not an Alertmanager receiver"]),
]


@pytest.mark.parametrize(("case", "mutate", "expected"), CASES, ids=[c[0] for c in CASES])
def test_invalid_topology_names_file_field_and_value(tmp_path: Path, case, mutate,
                                                     expected: list[str]) -> None:
    path = _write(tmp_path, mutate)
    with pytest.raises(InvalidTopology) as info:
        load_topology(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nservices:\n  gateway: {kind: gateway\n")
    with pytest.raises(InvalidTopology, match=r"broken.yaml: line \d+, column \d+: not valid"):
        load_topology(path)


def test_missing_file_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(InvalidTopology, match="file not found.*--topology"):
        load_topology(tmp_path / "nope.yaml")


def test_the_three_node_variant_has_a_quorum_ledger_and_three_etcd_members() -> None:
    topo = load_topology(DEFAULT_TOPOLOGY.with_name("topology.three-node.yaml"))
    ledger = topo.services["ledger"]
    assert ledger.instances == 3 and topo.services["etcd"].instances == 3
    settings = ledger.typed_settings()
    assert settings.synchronous_mode == "quorum" and settings.synchronous_node_count == 1
    two = load_topology()
    assert set(topo.services) == set(two.services)      # only the ledger and etcd differ
