"""The Kubernetes permissions the platform's code uses, as Role rules.

`RULES` lists exactly the API groups, resources and verbs that `controlplane.platform.kubernetes`
calls, in the shape of a Kubernetes `Role`'s `rules` (namespaced, so nothing cluster-wide; no
`secrets`). The controlplane chart renders its Role from this list, and a test records every
request the platform sends to the mock API server and asserts that the set of (group,
resource, verb) it used equals what `RULES` grants: a call without a rule, or a rule without a
call, fails it.

Not listed, because a Role cannot hold them and every authenticated user has them through the
default `system:discovery` ClusterRole: the API discovery paths (`GET /apis/<group>/<version>`),
which the platform reads to learn whether Chaos Mesh's CRDs are served.

`grant_hint(group, resource, verb)` says, in an error, which rule grants a refused call.
"""

from __future__ import annotations

from typing import TypedDict

__all__ = ["RULES", "Rule", "grant_hint"]


class Rule(TypedDict):
    apiGroups: list[str]
    resources: list[str]
    verbs: list[str]


RULES: list[Rule] = [
    # pods: info and health (list), kill and fence (delete), fence waits until gone (get)
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete", "get", "list"]},
    # the ledger's synchronous standby, from Patroni's `<scope>-sync` ConfigMap
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    # the workload of each component: its replicas and selector
    {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get"]},
    # stop/start of the highest StatefulSet ordinal, scale and scale-in
    {"apiGroups": ["apps"], "resources": ["deployments/scale", "statefulsets/scale"],
     "verbs": ["patch"]},
    # a full partition without Chaos Mesh
    {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
     "verbs": ["create", "delete", "list"]},
    # packet loss, partitions, link latency/jitter/bandwidth (NetworkChaos), CPU and memory
    # stress (StressChaos), when Chaos Mesh is installed
    {"apiGroups": ["chaos-mesh.org"], "resources": ["networkchaos", "stresschaos"],
     "verbs": ["create", "delete", "list"]},
]


def grant_hint(group: str, resource: str, verb: str) -> str:
    """Which rule of the controlplane chart's Role grants `verb` on `group`/`resource`."""
    shown = f"{group}/{resource}" if group else resource
    return (f"the Role of the controlplane chart grants it (rbac.create: true renders "
            f"controlplane.platform.kubernetes.rbac.RULES); check that the release's "
            f"ServiceAccount is bound to that Role and that it allows {verb} on {shown}")
