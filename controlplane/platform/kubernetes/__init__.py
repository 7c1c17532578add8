"""The Kubernetes platform: the platform contract over the official `kubernetes` client.

Where: the topology's `kubernetes:` block (`controlplane.topology.KubernetesSettings`) names
the kubeconfig and context (or `in_cluster: true`), the namespace, the Helm release, and per
component its workload and pod selector, which default to what the project's charts set (see
`workloads`). `cluster up` does not install anything: the charts must be installed; `up`
scales each workload to the topology's instances and waits until they are ready, `down`
deletes what the platform made and scales every workload to 0.

What each action means here:
- info and health: the pods' phase, readiness and restart counts; the ledger's role from
  Patroni's `role` pod label, its synchronous standby from Patroni's `<scope>-sync` ConfigMap.
  `restarts` adds the pods the platform replaced (a new pod's restart count starts at 0).
- kill: delete the pod with grace period 0 (`graceful`: its own grace period).
- stop / start: the workload's scale subresource. Only a StatefulSet's highest ordinal (or a
  Deployment's only pod) can be stopped: the StatefulSet is scaled to that ordinal; `start`
  scales it back. Any other stop is `Refused`, saying why.
- scale / scale_in: the scale subresource, for the gateway and market data.
- confirm_dead: the pod is gone or its containers terminated, as the API server sees it. It
  cannot see a partitioned node: a pod on a node the API server lost keeps showing Running
  (until the node controller evicts it), so such a pod is never confirmed dead, and a runbook
  waiting on it waits.
- fence: delete the pod with grace period 0 and wait until the API server forgot it; on a lost
  node the container may still run, so this is no fence there.
- faults: see `controls` (Chaos Mesh NetworkChaos/StressChaos when its CRDs are served, a
  NetworkPolicy for a full partition of StatefulSet pods, the services' own /admin/faults).
  Every object made carries the fault id, run id and an expiry (`objects`); `sweep` deletes
  expired and orphaned ones, also after the runner was SIGKILLed.
- freeze / thaw, CPU caps, disk fills, process freezes, ledger DSNs, scaling the matcher or the
  ledger: `Unsupported`, each saying why.

Errors: a missing kubeconfig or a context it lacks is `InvalidInput`; a server that does not
answer `Unreachable`; a workload missing in the namespace `InvalidInput` naming the namespace;
a 403 `api.Forbidden` (a `Refused`) naming the verb, the resource and the Role that grants it;
a missing Chaos Mesh `Unsupported` naming the fault and what to install.
"""

from controlplane.platform.kubernetes.platform import KubernetesPlatform

__all__ = ["KubernetesPlatform"]
