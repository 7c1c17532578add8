"""`rbac.RULES` holds exactly what the platform calls: an exercise of every kind of action on
the mock API server records each request, maps it to (API group, resource, verb), and the set
must equal the one RULES grants. A new call without a rule, or a rule without a call, fails.

What this does not cover: no real API server's RBAC evaluation (the mapping of method and path
to verb is the mock's, as the API server documents it: GET of a collection is `list`, of one
object `get`, POST `create`, PATCH `patch`, DELETE `delete`). Discovery (`GET /apis`) is not a
resource and needs no Role rule. Not an end-to-end test.
"""

from __future__ import annotations

from pathlib import Path

from controlplane.platform.kubernetes.rbac import RULES
from tests.platform.kubernetes.conftest import Kube, start
from tests.platform.kubernetes.mockapi import Recorded
from tests.platform.kubernetes.mockroutes import parse, verb_of

BURN = ["python", "-m", "controlplane.chaos.helpers.burn", "--cores", "1", "--duration", "9"]


def granted() -> set[tuple[str, str, str]]:
    return {(g, r, v) for rule in RULES for g in rule["apiGroups"]
            for r in rule["resources"] for v in rule["verbs"]}


def used(requests: list[Recorded]) -> set[tuple[str, str, str]]:
    found = set()
    for r in requests:
        parsed = parse(r.path)
        if parsed is not None:
            found.add((parsed.group, parsed.full, verb_of(r.method, parsed)))
        else:
            assert (r.method, r.path.rstrip("/")) == ("GET", "/apis"), r      # discovery
    return found


def exercise_with_chaos_mesh(kube: Kube) -> None:
    p = kube.platform
    p.info()
    p.kill("gateway-0")
    p.fence("ledger-0")
    p.stop("ledger-1")
    p.start("ledger-1")
    p.scale("marketdata")
    p.scale_in("marketdata")
    p.network().block("fault-1", ["gateway-0"], ["matcher-0"])
    p.network().active("fault-1")
    p.network().unblock("fault-1")
    p.links().set_fault("gateway-0->matcher-0", {"latency_ms": 5, "ttl_s": 5})
    p.links().clear("gateway-0->matcher-0")
    p.resources().spawn_helper("fault-2", "matcher-0", BURN)
    p.resources().stop_helpers("fault-2")
    p.sweep(open_tags=set())
    p.down()


def exercise_without(kube: Kube) -> None:
    kube.platform.network().block("fault-3", ["ledger-0"], ["ledger-1"])
    kube.platform.network().unblock("fault-3")


def test_the_role_rules_are_exactly_what_the_platform_calls(tmp_path: Path) -> None:
    """Every request of the exercise is granted by RULES, and every grant is used."""
    calls: set[tuple[str, str, str]] = set()
    for sub, exercise, chaos in [("chaos", exercise_with_chaos_mesh, True),
                                 ("bare", exercise_without, False)]:
        (tmp_path / sub).mkdir()
        for kube in start(tmp_path / sub, chaos_mesh=chaos):
            exercise(kube)
            calls |= used(kube.mock.requests)
    assert calls - granted() == set(), "calls without a rule"
    assert granted() - calls == set(), "rules without a call"


def test_the_rules_are_namespaced_and_read_no_secrets() -> None:
    """A Role's rules: no wildcard, no secrets, nothing cluster-scoped (nodes, namespaces)."""
    flat = granted()
    assert not any("*" in part for rule in flat for part in rule)
    assert not {r for _, r, _ in flat} & {"secrets", "nodes", "namespaces",
                                          "clusterroles", "clusterrolebindings"}
    assert all(set(rule) == {"apiGroups", "resources", "verbs"} for rule in RULES)
